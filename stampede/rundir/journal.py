"""What a Chaos Toolkit journal says about one experiment: status, deviation, failed actions."""

from __future__ import annotations

import json
from pathlib import Path


def read_journal_status(journal: Path) -> tuple[str | None, bool | None, list[str]]:
    """``(status, deviated, failed method actions)`` from a Chaos Toolkit journal.

    Missing or unreadable journal -> ``(None, None, [])``. A deviated run says
    ``"status": "completed", "deviated": true``: ``deviated`` is what tells.
    """
    try:
        data = json.loads(journal.read_text())
    except (OSError, ValueError):
        return None, None, []
    if not isinstance(data, dict):
        return None, None, []
    failed = [
        str(run.get("activity", {}).get("name", "?"))
        for run in data.get("run") or []
        if isinstance(run, dict)
        and run.get("status") == "failed"
        and run.get("activity", {}).get("type") == "action"
    ]
    deviated = data.get("deviated")
    return (
        data.get("status"),
        bool(deviated) if deviated is not None else None,
        failed,
    )
