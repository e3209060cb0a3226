"""What a Chaos Toolkit journal says about one experiment: status, deviation, failed actions."""

from __future__ import annotations

from pathlib import Path

from stampede.errors import InputError
from stampede.yamlinput import MAX_JSON_CHARS, load_json, read_text


def read_journal_status(journal: Path) -> tuple[str | None, bool | None, list[str]]:
    """``(status, deviated, failed method actions)`` from a Chaos Toolkit journal.

    Missing or unreadable journal -> ``(None, None, [])``. A deviated run says
    ``"status": "completed", "deviated": true``: ``deviated`` is what tells.
    """
    try:
        data = load_json(read_text(journal, limit=MAX_JSON_CHARS), str(journal))
    except InputError:  # unreadable, not JSON, or past the bounds: as if there were none
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
