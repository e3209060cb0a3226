"""Render ``stampede/cases/reference.jsonl`` from the toolbox's catalogue (the answer key).

Only tests and this generator read the catalogue; the harness reads the case file. Regenerate
after changing the catalogue: ``.venv/bin/python -m tests.cases.reference_file``.
"""

from __future__ import annotations

import json
from pathlib import Path

from target_agent.toolbox.catalogue import Incident, catalogue

PATH = Path(__file__).resolve().parents[2] / "stampede" / "cases" / "reference.jsonl"


def entry(incident: Incident) -> dict[str, object]:
    """The case of one incident: its alert as input, its true root cause as the label."""
    return {
        "id": incident.id,
        "input": incident.alert(),
        "expect": {"label": incident.root_cause},
        "tags": [incident.alert_type, incident.service],
    }


def render() -> str:
    """The whole file, one JSON object per line, in catalogue order."""
    return "".join(json.dumps(entry(i), separators=(", ", ": ")) + "\n" for i in catalogue())


if __name__ == "__main__":
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH} ({len(catalogue())} cases)")
