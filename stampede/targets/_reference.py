"""The probe requests of the reference agent (local and kind both run it)."""

from __future__ import annotations

from typing import Any

from stampede.cases import reference_cases


def reference_alerts() -> list[dict[str, Any]]:
    """The request bodies of the reference case set: one alert per incident."""
    return [dict(case.input) for case in reference_cases()]
