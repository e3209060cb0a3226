"""Durable-run SLIs judged on the interrupted runs, and the report's list of unfinished runs.

Synthetic ``requests.csv`` rows (the names and columns loadtests/async_user.py writes); the
asynchronous user producing such rows against a real agent is tested in
tests/target_agent/jobs/test_async_user.py, a real failed job in the report in
tests/reports/test_report_failed_runs.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.errors import ReportsError
from reports.load import load
from reports.runs import UNFINISHED_LISTED, interrupted_costs, run_slis, unfinished_runs
from reports.slis import summarize
from reports.slo import load_slo
from tests.reports.rundir import T0, Exp, journal, req, write_run
from tests.target_agent.jobs.test_async_user import Scope


def _runs(rows: list[tuple[str, str, str, float | None]]) -> pd.DataFrame:
    """(flags, outcome, case_id, cost) -> run rows."""
    return pd.DataFrame(
        {
            "name": [f"investigation [async{', ' + f if f else ''}]" for f, *_ in rows],
            "outcome": [o for _, o, _, _ in rows],
            "case_id": [c for _, _, c, _ in rows],
            "cost_usd": [v for *_, v in rows],
            "latency_ms": [100.0] * len(rows),
        }
    )


def _ratio(rows: pd.DataFrame) -> tuple[float | None, str]:
    """``(interrupted_run_cost_amplification, why null)`` of the rows, via ``run_slis``."""
    scope = Scope()
    run_slis(scope, rows)
    value = scope.values["interrupted_run_cost_amplification"]
    assert value is None or isinstance(value, float)
    return value, scope.reasons.get("interrupted_run_cost_amplification", "")


def test_an_interrupted_run_is_compared_with_its_own_case_uninterrupted() -> None:
    # Cases cost 1.0 (A) and 3.0 (B) uninterrupted. The interrupted A pays its first node again
    # (1.3), the interrupted B costs what B costs: (1.3 + 3.0) / (1.0 + 3.0).
    rows = _runs(
        [
            ("", "correct", "A", 1.0),
            ("", "correct", "A", 1.0),
            ("", "correct", "B", 3.0),
            ("retried", "correct", "A", 1.3),
            ("resumed, retried", "degraded", "B", 3.0),
        ]
    )
    value, why = _ratio(rows)
    assert value == pytest.approx(4.3 / 4.0) and why == ""
    scope = Scope()
    run_slis(scope, rows)
    assert scope.values["rebilled_runs"] == 1  # the A that paid its first node again


def test_a_resumed_run_that_bills_once_is_exactly_one_whatever_the_case_mix() -> None:
    rows = _runs(
        [("", "correct", c, cost) for c, cost in (("A", 1.0), ("B", 5.0), ("C", 0.5))]
        + [("resumed, retried", "correct", "B", 5.0), ("retried", "correct", "C", 0.5)]
    )
    assert _ratio(rows) == (1.0, "")


def test_without_a_comparable_interrupted_run_the_ratio_is_null_and_says_why() -> None:
    lost_only = _runs([("", "correct", "A", 1.0), ("lost", "error", "A", None)])
    assert _ratio(lost_only) == (None, "no answered interrupted run with a cost in scope")
    unseen = _runs([("", "correct", "A", 1.0), ("retried", "correct", "Z", 1.0)])
    assert _ratio(unseen)[0] is None and "also answered uninterrupted" in _ratio(unseen)[1]
    no_case = lost_only.drop(columns=["case_id"])
    assert interrupted_costs(no_case, np.ones(len(no_case), dtype=bool))[2] == (
        "requests.csv has no case_id column"
    )
    scope = Scope()
    run_slis(scope, unseen)
    assert scope.values["rebilled_runs"] is None and scope.reasons["rebilled_runs"]


def test_a_rebilled_run_is_one_costing_more_than_five_percent_over_its_case() -> None:
    rows = _runs(
        [("", "correct", "A", 1.0), ("", "correct", "A", 1.02)]  # median 1.01
        + [("retried", "correct", "A", c) for c in (1.0, 1.06, 1.07, 1.29)]
    )
    scope = Scope()
    run_slis(scope, rows)
    assert scope.values["rebilled_runs"] == 2  # 1.07 and 1.29 > 1.05 x 1.01 = 1.0605


def test_interrupted_runs_count_retried_and_lost_and_feed_the_sli() -> None:
    rows = _runs(
        [
            ("", "correct", "A", 1.0),
            ("retried", "correct", "A", 2.0),
            ("lost", "error", "A", None),
            ("failed", "error", "A", None),
        ]
    )
    scope = Scope()
    run_slis(scope, rows)
    assert scope.values["interrupted_runs"] == 2  # failed alone is not an interruption
    assert scope.values["interrupted_run_cost_amplification"] == pytest.approx(2.0)


def _unfinished_rows(n_lost: int) -> pd.DataFrame:
    names = ["investigation [async]", "investigation [async, retried, failed]"]
    names += ["investigation [async, lost]"] * n_lost + ["POST /investigations [submit]"]
    n = len(names)
    return pd.DataFrame(
        {
            "ts": [100.0 + i for i in range(n)],
            "name": pd.Categorical(names),
            "experiment": ["worker-kill-mid-run"] * (n - 1) + ["other"],
            "case_id": ["INC-1"] * n,
            "error": ["", "failed: gave up after 3 attempts (limit 3): KeyError: 'service'"]
            + ["lost: no answer 18 s after it was accepted"] * n_lost
            + [""],
        }
    )


def test_the_report_lists_failed_runs_with_the_agents_reason_and_lost_ones() -> None:
    listed, more = unfinished_runs(_unfinished_rows(2), "worker-kill-mid-run", 90.0)
    assert more == 0
    assert [(u["kind"], u["at_s"]) for u in listed] == [
        ("failed", 11.0),
        ("lost", 12.0),
        ("lost", 13.0),
    ]
    assert "KeyError: 'service'" in listed[0]["reason"]
    assert unfinished_runs(_unfinished_rows(2), "other", 90.0) == ([], 0)


def test_the_list_is_capped_and_counts_the_rest() -> None:
    listed, more = unfinished_runs(
        _unfinished_rows(UNFINISHED_LISTED + 5), "worker-kill-mid-run", 0
    )
    assert len(listed) == UNFINISHED_LISTED and more == 6


def test_the_rebilled_factor_comes_from_the_slo_files_params(tmp_path: Path) -> None:
    """``params.rebilled_factor`` reaches the SLI through ``load_slo`` and ``summarize``."""
    rows = []
    for i, (flag, cost) in enumerate((("", 1.0), ("", 1.0), ("retried", 1.2), ("retried", 1.6))):
        row = req(T0 + 1 + i, cost_usd=cost)
        row["name"] = f"investigation [async{', ' + flag if flag else ''}]"
        row.update(case_id="INC-1", trial=0, attempt=1, repeat=1, answer_key="")
        rows.append(row)
    exp = Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, []))
    frames = load(write_run(tmp_path / "run", [exp], rows))
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        "params: {rebilled_factor: 1.5}\nobjectives: [{sli: requests, op: '>', threshold: 0}]\n"
    )
    loose = load_slo(slo).params
    assert loose.rebilled_factor == 1.5
    assert summarize(frames).run.values["rebilled_runs"] == 2  # default 1.05: 1.2 and 1.6
    assert summarize(frames, loose).run.values["rebilled_runs"] == 1  # only 1.6 > 1.5
    slo.write_text(
        "params: {rebilled_factor: 0.9}\nobjectives: [{sli: requests, op: '>', threshold: 0}]\n"
    )
    with pytest.raises(ReportsError, match=r"params\.rebilled_factor: expected a factor >= 1"):
        load_slo(slo)
