"""SLIs on synthetic run directories whose answers are worked out by hand here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from reports.catalogue import SliParams
from reports.load import load
from reports.slis import Summary, percentile, summarize
from tests.reports.rundir import T0, Exp, journal, req, write_run


def _summary(tmp_path: Path, exps: list[Exp], rows: list[dict], samples=None, **kw) -> Summary:
    params = kw.pop("params", None)
    return summarize(load(write_run(tmp_path / "run", exps, rows, samples, **kw)), params)


def _exp(name: str = "exp", fault: tuple[float, float] = (10.0, 20.0), end: float = 30.0) -> Exp:
    """Experiment over [T0, T0+end]; method inject at fault[0], clear ending at fault[1]."""
    method = [
        ("inject", T0 + fault[0], T0 + fault[0] + 0.5),
        ("clear", T0 + fault[1] - 0.5, T0 + fault[1]),
    ]
    return Exp(name, T0, T0 + end, journal(T0, T0 + end, method))


def test_percentiles_are_nearest_rank_over_raw_rows(tmp_path: Path) -> None:
    """Latencies 1..100 ms in any order: p50 = 50, p95 = 95, p99 = 99 (observed values)."""
    latencies = list(range(1, 101))
    random.Random(3).shuffle(latencies)
    rows = [req(T0 + 1 + i * 0.05, latency_ms=v) for i, v in enumerate(latencies)]
    run = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes["baseline"].values
    assert (run["latency_p50_ms"], run["latency_p95_ms"], run["latency_p99_ms"]) == (50, 95, 99)


def test_percentile_helper_small_samples() -> None:
    """Nearest rank on 20 values: p95 is the 19th smallest; one value is every percentile."""
    assert percentile(range(1, 21), 95) == 19
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_percentiles_are_not_averaged_across_seconds(tmp_path: Path) -> None:
    """99 fast requests in one second, one slow in the next: p99 over rows is 10 ms,
    not a mean of per-second percentiles."""
    rows = [req(T0 + 1 + i / 100, latency_ms=10) for i in range(99)]
    rows.append(req(T0 + 2.5, latency_ms=5000))
    values = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes["baseline"].values
    assert values["latency_p99_ms"] == 10
    assert values["latency_p50_ms"] == 10


def test_a_request_in_flight_when_the_fault_starts_belongs_to_the_fault(tmp_path: Path) -> None:
    """Fault = [T0+10, T0+20): a request started at T0+9.95 and answered 100 ms later was cut
    by the fault (e.g. its worker was killed), so it counts in `fault`, not in `baseline`; one
    answered before T0+10 stays in `baseline`; one started in the fault and ending after it
    stays in `fault`."""
    rows = [
        req(T0 + 9.95, outcome="error", latency_ms=100.0),
        req(T0 + 9.80, latency_ms=100.0),
        req(T0 + 19.9, latency_ms=500.0),
    ]
    scopes = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes
    assert scopes["baseline"].values["requests"] == 1
    assert scopes["baseline"].values["error_ratio"] == 0
    assert scopes["fault"].values["requests"] == 2
    assert scopes["fault"].values["error_ratio"] == 0.5


def test_requests_fall_into_phases_by_ts_with_half_open_boundaries(tmp_path: Path) -> None:
    """Fault = [T0+10, T0+20): a request at exactly T0+10 is fault, at exactly T0+20 recovery,
    at exactly ended_at (T0+30) recovery; before started_at or after ended_at: no phase."""
    stamps = {
        "baseline": [0.0, 9.999],
        "fault": [10.0, 19.999],
        "recovery": [20.0, 30.0],
        "outside": [-0.001, 30.001],
    }
    rows = [req(T0 + t, latency_ms=0.0) for ts in stamps.values() for t in ts]
    summary = _summary(tmp_path, [_exp()], rows)
    scopes = summary.experiments["exp"].scopes
    assert {p: scopes[p].values["requests"] for p in ("baseline", "fault", "recovery", "all")} == {
        "baseline": 2,
        "fault": 2,
        "recovery": 2,
        "all": 6,
    }
    assert summary.run.values["requests"] == 8
    assert scopes["fault"].start == T0 + 10 and scopes["fault"].end == T0 + 20


def test_aware_journal_timestamps_cut_the_same_phases(tmp_path: Path) -> None:
    """chaostoolkit-lib 1.44 writes '+00:00' timestamps; they mean the same instants."""
    method = [("inject", T0 + 10, T0 + 10.5), ("clear", T0 + 19.5, T0 + 20)]
    exp = Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, method, aware=True))
    scopes = _summary(tmp_path, [exp], [req(T0 + 10.0), req(T0 + 20.0)]).experiments["exp"].scopes
    assert (scopes["fault"].start, scopes["fault"].end) == (T0 + 10, T0 + 20)
    assert scopes["fault"].values["requests"] == 1


def test_ratios_throughput_and_goodput(tmp_path: Path) -> None:
    """Fault phase of 10 s with 10 requests: 4 correct (latencies 50, 2000, 2000.1, 3000),
    2 degraded, 1 wrong, 1 shed, 2 error."""
    rows = [
        req(T0 + 11, "correct", 50),
        req(T0 + 12, "correct", 2000),
        req(T0 + 13, "correct", 2000.1),
        req(T0 + 14, "correct", 3000),
        req(T0 + 15, "degraded", 10),
        req(T0 + 15.5, "degraded", 10),
        req(T0 + 16, "wrong", 10),
        req(T0 + 17, "shed", 1),
        req(T0 + 18, "error", 30000),
        req(T0 + 19, "error", 10),
    ]
    fault = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes["fault"].values
    assert fault["requests"] == 10
    assert fault["success_ratio"] == pytest.approx(0.6)
    assert fault["correct_ratio"] == pytest.approx(0.4)
    assert fault["degraded_ratio"] == pytest.approx(0.2)
    assert fault["wrong_ratio"] == pytest.approx(0.1)
    assert fault["shed_ratio"] == pytest.approx(0.1)
    assert fault["error_ratio"] == pytest.approx(0.2)
    assert fault["throughput_rps"] == pytest.approx(1.0)
    # correct and <= 2000 ms: the 50 ms and the 2000 ms answers -> 2 / 10 s
    assert fault["goodput_rps"] == pytest.approx(0.2)


def test_unjudged_answers_count_on_their_own_and_never_as_success(tmp_path: Path) -> None:
    """4 requests: 1 correct, 2 unjudged (the judge failed), 1 wrong."""
    rows = [
        req(T0 + 11, "correct", 10),
        req(T0 + 12, "unjudged", 10),
        req(T0 + 13, "unjudged", 10),
        req(T0 + 14, "wrong", 10),
    ]
    fault = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes["fault"].values
    assert fault["unjudged_ratio"] == pytest.approx(0.5)
    assert fault["correct_ratio"] == pytest.approx(0.25)
    assert fault["success_ratio"] == pytest.approx(0.25)
    assert fault["error_ratio"] == 0.0


def test_goodput_objective_is_a_parameter(tmp_path: Path) -> None:
    rows = [req(T0 + 11, "correct", 2500), req(T0 + 12, "correct", 3500)]
    params = SliParams(goodput_latency_ms=3000)
    fault = _summary(tmp_path, [_exp()], rows, params=params).experiments["exp"].scopes["fault"]
    assert fault.values["goodput_rps"] == pytest.approx(0.1)


def test_cost_tokens_and_amplification(tmp_path: Path) -> None:
    """Baseline: 10 correct at $0.001 / 100 tokens -> $0.001 per success. Fault: 5 correct + 5
    error at $0.002 / 200 tokens -> $0.02 / 5 = $0.004 per success: amplification 4.0.
    Experiment 'baseline' (no journal): 4 correct at $0.002 -> vs-baseline-experiment = 2.0."""
    rows = [req(T0 + 1 + i * 0.5, cost_usd=0.001, tokens=100) for i in range(10)]
    rows += [
        req(T0 + 11 + i * 0.5, "correct" if i % 2 else "error", cost_usd=0.002, tokens=200)
        for i in range(10)
    ]
    rows += [req(T0 + 21 + i, cost_usd=0.001, tokens=100) for i in range(4)]
    base_exp = Exp("baseline", T0 + 100, T0 + 110)
    rows += [req(T0 + 101 + i, experiment="baseline", cost_usd=0.002) for i in range(4)]
    summary = _summary(tmp_path, [_exp(), base_exp], rows)
    scopes = summary.experiments["exp"].scopes
    assert scopes["baseline"].values["cost_per_success_usd"] == pytest.approx(0.001)
    assert scopes["fault"].values["cost_per_success_usd"] == pytest.approx(0.004)
    assert scopes["fault"].values["tokens_per_success"] == pytest.approx(400)
    assert scopes["baseline"].values["cost_amplification"] == pytest.approx(1.0)
    assert scopes["fault"].values["cost_amplification"] == pytest.approx(4.0)
    assert scopes["recovery"].values["cost_amplification"] == pytest.approx(1.0)
    assert scopes["all"].values["cost_amplification"] == pytest.approx(4.0)
    vs = "cost_amplification_vs_baseline_experiment"
    assert scopes["fault"].values[vs] == pytest.approx(2.0)
    assert scopes["all"].values[vs] == pytest.approx(2.0)
    assert summary.run.values["cost_amplification"] == pytest.approx(4.0)
    # the 'baseline' experiment has no journal: no phases, so no own amplification
    assert summary.experiments["baseline"].scopes["all"].values["cost_amplification"] is None


def test_zero_successes_make_cost_per_success_null_not_a_crash(tmp_path: Path) -> None:
    rows = [req(T0 + 1), req(T0 + 11, "error"), req(T0 + 12, "shed")]
    scopes = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes
    fault = scopes["fault"]
    assert fault.values["cost_per_success_usd"] is None
    assert fault.values["tokens_per_success"] is None
    assert fault.reasons["cost_per_success_usd"] == "no successful request"
    assert fault.values["cost_amplification"] is None
    assert fault.values["success_ratio"] == 0


def test_empty_phases_are_null_not_a_crash(tmp_path: Path) -> None:
    """Method starts at started_at: zero-length baseline; no request in fault either."""
    method = [("inject", T0, T0 + 0.5), ("clear", T0 + 9.5, T0 + 10)]
    exp = Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, method))
    scopes = _summary(tmp_path, [exp], [req(T0 + 25)]).experiments["exp"].scopes
    baseline, fault = scopes["baseline"], scopes["fault"]
    assert baseline.values["requests"] == 0 and baseline.values["duration_s"] == 0
    assert baseline.values["throughput_rps"] is None
    assert baseline.reasons["throughput_rps"] == "empty phase (zero duration)"
    assert fault.values["requests"] == 0 and fault.values["throughput_rps"] == 0
    assert fault.values["success_ratio"] is None
    assert fault.reasons["latency_p95_ms"] == "no request with a latency"
    assert fault.values["cost_amplification"] is None


def _recovery_rows(bad_seconds: dict[int, int], per_second: int = 4) -> list[dict]:
    """Fault [10, 20); in recovery second s (from T0+20), ``bad_seconds[s]`` of 4 are errors."""
    rows = []
    for s in range(0, 30):
        for i in range(per_second):
            bad = s >= 20 and i < bad_seconds.get(s - 20, 0)
            rows.append(req(T0 + s + i / per_second, "error" if bad else "correct"))
    return rows


@pytest.mark.parametrize(
    ("bad", "sustain", "expected"),
    [
        ({0: 2, 1: 2, 2: 2, 4: 1}, 5, 5.0),  # good from second 5 on (second 4 is 75 %)
        ({0: 2, 1: 2, 2: 2, 4: 1}, 1, 3.0),  # second 3 alone is enough with a 1 s window
        ({}, 5, 0.0),  # back as the fault ended
    ],
    ids=["sustained-5s", "sustained-1s", "immediate"],
)
def test_recovery_time(tmp_path: Path, bad: dict[int, int], sustain: int, expected: float) -> None:
    params = SliParams(recovery_sustain_s=sustain)
    scopes = _summary(tmp_path, [_exp()], _recovery_rows(bad), params=params).experiments["exp"]
    assert scopes.scopes["all"].values["recovery_time_s"] == expected
    assert scopes.scopes["recovery"].values["recovery_time_s"] == expected
    assert scopes.scopes["all"].values["recovered"] is True


def test_recovery_at_exactly_the_objective_counts_as_good(tmp_path: Path) -> None:
    """19 of 20 = 0.95 >= 0.95."""
    rows = [
        req(T0 + 20 + s + i / 20, "error" if i == 0 else "correct")
        for s in range(10)
        for i in range(20)
    ]
    values = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes["all"].values
    assert values["recovery_time_s"] == 0.0


def test_a_second_without_requests_breaks_the_streak(tmp_path: Path) -> None:
    """All good except recovery second 2 has no request: the 5 s streak starts at second 3."""
    rows = [r for r in _recovery_rows({}) if not (T0 + 22 <= r["ts"] < T0 + 23)]
    values = _summary(tmp_path, [_exp()], rows).experiments["exp"].scopes["all"].values
    assert values["recovery_time_s"] == 3.0


def test_never_recovered_reports_the_remaining_duration(tmp_path: Path) -> None:
    rows = _recovery_rows({s: 2 for s in range(10)})
    summary = _summary(tmp_path, [_exp()], rows)
    scope = summary.experiments["exp"].scopes["all"]
    assert scope.values["recovery_time_s"] is None  # null, not a lower bound that could pass
    assert scope.values["recovered"] is False
    assert scope.reasons["recovery_time_s"] == (
        "not recovered: no 5 consecutive seconds at success ratio >= 0.95 in the 10.0 s "
        "after the fault"
    )
    assert summary.run.values["recovered"] is False
    assert summary.run.values["recovery_time_s"] is None
    assert summary.run.reasons["recovery_time_s"] == "not recovered: exp"


def test_a_recovery_phase_shorter_than_the_sustain_window_is_not_recovered(
    tmp_path: Path,
) -> None:
    """Fault ends 3 s before ended_at: 5 good seconds cannot be observed."""
    exp = _exp(fault=(10.0, 27.0))
    values = _summary(tmp_path, [exp], _recovery_rows({})).experiments["exp"].scopes["all"].values
    assert (values["recovery_time_s"], values["recovered"]) == (None, False)


def test_retries_requests_and_sampled_counter_with_reset(tmp_path: Path) -> None:
    """retries_total llm 5, 8, 2 (reset), 4 in fault: increases 0, 3, 2, 2 = 7 over 2 requests."""
    rows = [req(T0 + 11, retries=3), req(T0 + 12, "error", retries=0)]
    samples = [
        {
            "ts": T0 + 11 + i,
            "experiment": "exp",
            "metric": "retries_total",
            "label": "llm",
            "value": v,
        }
        for i, v in enumerate([5, 8, 2, 4])
    ]
    fault = _summary(tmp_path, [_exp()], rows, samples).experiments["exp"].scopes["fault"].values
    assert fault["retries_per_request"] == pytest.approx(1.5)
    assert fault["sampled_retries_per_request"] == pytest.approx(3.5)


def test_breakers_replicas_and_scale_out(tmp_path: Path) -> None:
    """Replicas 2 until T0+12, 3 from T0+15: scale-out 5 s after the fault start (T0+10)."""
    samples = [
        {"ts": T0 + t, "experiment": "exp", "metric": "replicas", "label": "", "value": v}
        for t, v in [(0, 2), (5, 2), (10, 2), (12, 2), (15, 3), (25, 4)]
    ]
    samples += [
        {"ts": T0 + t, "experiment": "exp", "metric": "breaker_state", "label": dep, "value": v}
        for t, dep, v in [(5, "llm", 0), (12, "llm", 2), (13, "redis", 1), (22, "llm", 0)]
    ]
    summary = _summary(tmp_path, [_exp()], [req(T0 + 1)], samples)
    scopes = summary.experiments["exp"].scopes
    assert scopes["all"].values["scale_out_time_s"] == 5.0
    assert scopes["all"].values["scaled_out"] is True
    assert scopes["all"].values["max_replicas"] == 4
    assert scopes["fault"].values["max_replicas"] == 3
    assert scopes["fault"].values["max_breaker_state"] == 2
    assert scopes["fault"].breakers == {"llm": 2.0, "redis": 1.0}
    assert scopes["recovery"].values["max_breaker_state"] == 0
    assert summary.run.values["scale_out_time_s"] == 5.0


def test_replicas_of_the_agent_deployment_are_picked_among_several(tmp_path: Path) -> None:
    """kind's sampler labels replicas per Deployment and HPA: params.replicas_label picks one."""
    samples = [
        {"ts": T0 + t, "experiment": "exp", "metric": "replicas", "label": label, "value": v}
        for t in (0, 12, 14)
        for label, v in (("agent", 2 if t < 14 else 3), ("redis", 1), ("hpa/agent", 5))
    ]
    values = _summary(tmp_path / "a", [_exp()], [req(T0 + 1)], samples)
    scope = values.experiments["exp"].scopes["all"].values
    assert (scope["max_replicas"], scope["scale_out_time_s"]) == (3, 4.0)
    other = (
        _summary(
            tmp_path / "b", [_exp()], [req(T0 + 1)], samples, params=SliParams(replicas_label="web")
        )
        .experiments["exp"]
        .scopes["all"]
    )
    assert other.values["max_replicas"] is None
    assert other.reasons["max_replicas"] == (
        "replicas samples are labelled 'agent', 'hpa/agent', 'redis'; none is 'web'"
    )


def test_replicas_that_never_grow_are_not_a_scale_out(tmp_path: Path) -> None:
    samples = [
        {"ts": T0 + t, "experiment": "exp", "metric": "replicas", "label": "", "value": 2}
        for t in range(0, 30, 5)
    ]
    summary = _summary(tmp_path, [_exp()], [req(T0 + 1)], samples)
    scope = summary.experiments["exp"].scopes["all"]
    assert (scope.values["scale_out_time_s"], scope.values["scaled_out"]) == (None, False)
    assert (
        scope.reasons["scale_out_time_s"]
        == "replicas never grew in the 20.0 s from the fault start"
    )
    assert summary.run.values["scaled_out"] is False


def test_without_samples_sample_slis_are_null(tmp_path: Path) -> None:
    summary = _summary(tmp_path, [_exp()], [req(T0 + 1)])
    values = summary.experiments["exp"].scopes["all"].values
    for name in (
        "max_replicas",
        "scale_out_time_s",
        "max_breaker_state",
        "sampled_retries_per_request",
    ):
        assert values[name] is None, name
    assert any("samples.csv missing" in n for n in summary.notes)


def test_missing_journal_gives_one_phase_all_and_a_note(tmp_path: Path) -> None:
    exp = Exp("exp", T0, T0 + 30, None)
    summary = _summary(tmp_path, [exp], [req(T0 + 1), req(T0 + 15, "error")])
    exp_summary = summary.experiments["exp"]
    assert list(exp_summary.scopes) == ["all"]
    assert exp_summary.phases.phase_names == ()
    assert "missing" in exp_summary.phases.notes[0]
    values = exp_summary.scopes["all"].values
    assert values["success_ratio"] == pytest.approx(0.5)
    assert values["recovery_time_s"] is None
    assert summary.scope("exp", "fault") is None


def test_journal_without_method_activity_gives_one_phase(tmp_path: Path) -> None:
    exp = Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, []))
    phases = _summary(tmp_path, [exp], [req(T0 + 1)]).experiments["exp"].phases
    assert phases.phase_names == ()
    assert "no method activity" in phases.notes[0]


def test_lost_investigations_from_run_json_checks(tmp_path: Path) -> None:
    a = _exp("a")
    a.checks = {"lost_investigations": 2}
    b = Exp("b", T0 + 40, T0 + 50, None)
    summary = _summary(tmp_path, [a, b], [req(T0 + 1, experiment="a")])
    assert summary.experiments["a"].scopes["all"].values["lost_investigations"] == 2
    assert summary.experiments["b"].scopes["all"].values["lost_investigations"] is None
    assert summary.run.values["lost_investigations"] == 2
    # only defined for whole windows, not per phase
    assert summary.experiments["a"].scopes["fault"].values["lost_investigations"] is None
    assert "not defined" in summary.experiments["a"].scopes["fault"].reasons["lost_investigations"]


def test_rows_outside_the_experiment_column_count_only_in_run_scope(tmp_path: Path) -> None:
    rows = [req(T0 + 1), req(T0 + 2, experiment="other"), req(T0 + 3, experiment="")]
    summary = _summary(tmp_path, [_exp()], rows)
    assert summary.experiments["exp"].scopes["all"].values["requests"] == 1
    assert summary.run.values["requests"] == 3
    assert any("other" in n for n in summary.notes)


def test_an_experiment_that_never_ran_is_kept_with_an_empty_window(tmp_path: Path) -> None:
    """run.json of an interrupted suite: started_at null, no requests -> nulls and a note."""
    run = write_run(tmp_path / "run", [_exp(), Exp("later", T0 + 40, T0 + 50)], [req(T0 + 1)])
    data = json.loads((run / "run.json").read_text())
    data["experiments"][1].update(started_at=None, ended_at=None, status="not-run")
    (run / "run.json").write_text(json.dumps(data))
    summary = summarize(load(run))
    later = summary.experiments["later"]
    assert later.phases.notes[0] == "did not run (status not-run): empty window"
    assert later.scopes["all"].values["requests"] == 0
    assert later.scopes["all"].values["success_ratio"] is None


def test_the_async_apis_transport_rows_are_not_user_requests(tmp_path: Path) -> None:
    """Polls and accepted submits are set aside (their run has its own row); a refused submit
    counts as the failed request it was for its user."""
    rows = []
    for i in range(4):
        ts = T0 + 1 + i
        rows.append({**req(ts, latency_ms=5.0), "name": "POST /investigations [submit]"})
        for j in range(3):
            rows.append(
                {**req(ts + 0.1 * j, latency_ms=2.0), "name": "GET /investigations/{id} [poll]"}
            )
        rows.append({**req(ts + 0.5, latency_ms=3000.0), "name": "investigation [async]"})
    rows.append({**req(T0 + 8, "error"), "name": "POST /investigations [submit]"})
    summary = _summary(tmp_path, [_exp()], rows)
    values = summary.run.values
    assert values["requests"] == 5  # 4 runs + the refused submit
    assert values["error_ratio"] == pytest.approx(0.2)
    assert values["latency_p50_ms"] == 3000.0  # not a poll's 2 ms
    assert values["accepted_runs"] == 4 and values["lost_runs"] == 0
