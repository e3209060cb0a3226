"""`stampede compare`: SLIs of two runs within a stated tolerance (pure, on summary dicts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stampede import compare
from stampede.errors import InputError


def summary(**fault: Any) -> dict[str, Any]:
    slis = {"success_ratio": 1.0, "latency_p95_ms": 800.0, "recovery_time_s": 2, **fault}
    return {
        "scopes": {
            "run": {"slis": {"success_ratio": 1.0}},
            "experiments": {"tool-latency": {"scopes": {"fault": {"slis": slis}}}},
        }
    }


def test_identical_runs_are_within_tolerance() -> None:
    result = compare.compare(summary(), summary())
    assert result["within"] and result["outside"] == []
    assert result["max_abs_diff"]["latency_p95_ms"] == 0


def test_latency_is_compared_relatively_with_a_floor() -> None:
    """800 vs 1100 ms is within 50%; 800 vs 2000 ms is not."""
    assert compare.compare(summary(), summary(latency_p95_ms=1100.0))["within"]
    result = compare.compare(summary(), summary(latency_p95_ms=2000.0))
    assert [(r["scope"], r["sli"]) for r in result["outside"]] == [
        ("tool-latency/fault", "latency_p95_ms")
    ]


def test_one_null_is_a_difference() -> None:
    """One run recovered and the other never did: not reproducible."""
    result = compare.compare(summary(), summary(recovery_time_s=None))
    assert not result["within"]
    assert result["outside"][0]["sli"] == "recovery_time_s"


def test_tolerance_override_and_bad_spec() -> None:
    tols = compare.parse_tolerances(["latency_p95_ms=100:0.1"])
    assert not compare.compare(summary(), summary(latency_p95_ms=1100.0), tols)["within"]
    with pytest.raises(InputError, match="expected SLI=ABS"):
        compare.parse_tolerances(["p95=1"])


def test_load_summary_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"summary\.json: cannot read"):
        compare.load_summary(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps(summary()))
    assert compare.load_summary(tmp_path)["scopes"]
