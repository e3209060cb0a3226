"""Gate semantics: operators, scope expansion, missing values, not-applicable scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.evaluate import FAIL, NA, PASS, SKIP, compare, evaluate, exit_code
from reports.load import load
from reports.slis import Summary, summarize
from reports.slo import parse_slo
from tests.reports.rundir import T0, Exp, journal, req, write_run


@pytest.mark.parametrize(
    ("op", "results"),
    [
        ("<", (False, False, True)),
        ("<=", (False, True, True)),
        (">", (True, False, False)),
        (">=", (True, True, False)),
        ("==", (False, True, False)),
        ("!=", (True, False, True)),
    ],
    ids=["lt", "le", "gt", "ge", "eq", "ne"],
)
def test_every_operator_against_below_equal_above(op: str, results: tuple[bool, ...]) -> None:
    """Value 0.5 against thresholds 0.4, 0.5 and 0.6."""
    assert tuple(compare(0.5, op, t) for t in (0.4, 0.5, 0.6)) == results


def test_equality_tolerates_float_sums() -> None:
    assert compare(0.1 + 0.2, "==", 0.3)
    assert compare(0.1 + 0.2, "<=", 0.3)
    assert not compare(0.1 + 0.2, ">", 0.3)
    assert compare(True, "==", True) and compare(False, "!=", True)


@pytest.fixture
def summary(tmp_path: Path) -> Summary:
    """Two experiments: 'a' with phases (1 error in fault), 'b' without a journal (all correct)."""
    method = [("inject", T0 + 10, T0 + 10.5), ("clear", T0 + 19.5, T0 + 20)]
    a = Exp("a", T0, T0 + 30, journal(T0, T0 + 30, method))
    b = Exp("b", T0 + 40, T0 + 70, None)
    rows = [req(T0 + s, experiment="a") for s in range(30) if s != 15]
    rows.append(req(T0 + 15, "error", experiment="a"))
    rows += [req(T0 + 40 + s, experiment="b") for s in range(30)]
    return summarize(load(write_run(tmp_path / "run", [a, b], rows)))


def _cases(summary: Summary, objective: str) -> list[tuple[str, object, str]]:
    slo = parse_slo(f"objectives:\n  - {objective}\n")
    return [(c.scope_label, c.value, c.verdict) for c in evaluate(summary, slo)]


def test_run_scope_is_one_case(summary: Summary) -> None:
    assert _cases(summary, "{sli: requests, op: '==', threshold: 60}") == [("run", 60, PASS)]


def test_experiment_star_expands_per_experiment(summary: Summary) -> None:
    assert _cases(
        summary, "{sli: requests, op: '>=', threshold: 30, scope: {experiment: '*'}}"
    ) == [
        ("a/all", 30, PASS),
        ("b/all", 30, PASS),
    ]


def test_phase_star_expands_to_the_phases_each_experiment_has(summary: Summary) -> None:
    """'a' has baseline/fault/recovery; 'b' (no journal) only all."""
    got = _cases(summary, "{sli: error_ratio, op: '==', threshold: 0, scope: {phase: '*'}}")
    assert got == [
        ("a/baseline", 0.0, PASS),
        ("a/fault", 0.1, FAIL),
        ("a/recovery", 0.0, PASS),
        ("b/all", 0.0, PASS),
    ]


def test_named_phase_and_experiment(summary: Summary) -> None:
    got = _cases(
        summary,
        "{sli: success_ratio, op: '>=', threshold: 0.9, scope: {experiment: a, phase: fault}}",
    )
    assert got == [("a/fault", 0.9, PASS)]


def test_absent_experiment_is_not_applicable_not_a_failure(summary: Summary) -> None:
    slo = parse_slo(
        "objectives:\n  - {sli: recovery_time_s, op: '<', threshold: 10, "
        "scope: {experiment: [a, replica-kill]}}\n"
    )
    cases = evaluate(summary, slo)
    assert [(c.scope_label, c.verdict) for c in cases] == [
        ("a/all", PASS),
        ("replica-kill/all", NA),
    ]
    assert cases[1].message == "experiment 'replica-kill' is not in this run"
    assert exit_code(cases) == 0


def test_missing_value_fails_by_default_and_can_be_skipped(summary: Summary) -> None:
    """'b' has no journal, so no recovery time: FAIL by default, SKIP with missing: skip."""
    fail = _cases(summary, "{sli: recovery_time_s, op: '<', threshold: 10, scope: {experiment: b}}")
    skip = _cases(
        summary,
        "{sli: recovery_time_s, op: '<', threshold: 10, scope: {experiment: b}, missing: skip}",
    )
    assert fail == [("b/all", None, FAIL)]
    assert skip == [("b/all", None, SKIP)]
    slo = parse_slo(
        "objectives:\n  - {sli: recovery_time_s, op: '<', threshold: 10, scope: {experiment: b}}\n"
    )
    (case,) = evaluate(summary, slo)
    assert case.message == (
        "recovery_time_s missing in b/all: no fault phase (see the experiment's notes) "
        "(missing: fail)"
    )


def test_named_phase_of_an_experiment_without_phases_is_missing(summary: Summary) -> None:
    got = _cases(
        summary, "{sli: error_ratio, op: '<', threshold: 1, scope: {experiment: b, phase: fault}}"
    )
    assert got == [("b/fault", None, FAIL)]


def test_exit_code_is_one_only_when_something_failed(summary: Summary) -> None:
    slo = parse_slo(
        "objectives:\n"
        "  - {sli: wrong_ratio, op: '==', threshold: 0, scope: {phase: '*'}}\n"
        "  - {sli: lost_investigations, op: '==', threshold: 0, scope: {experiment: a},"
        " missing: skip}\n"
        "  - {sli: requests, op: '>', threshold: 0, scope: {experiment: zzz}}\n"
    )
    cases = evaluate(summary, slo)
    assert {c.verdict for c in cases} == {PASS, SKIP, NA}
    assert exit_code(cases) == 0
    failing = parse_slo("objectives:\n  - {sli: requests, op: '>', threshold: 1000}\n")
    assert exit_code(evaluate(summary, failing)) == 1


def test_fault_free_experiment_is_not_applicable_for_fault_objectives(tmp_path: Path) -> None:
    """A completed journal whose method ran nothing (experiment 'baseline') has no fault phase by
    design: fault objectives are N/A there. An aborted one (status 'failed') is missing: FAIL."""
    calm = journal(T0, T0 + 30, [])
    aborted = journal(T0 + 40, T0 + 70, [])
    aborted["status"] = "failed"
    exps = [Exp("baseline", T0, T0 + 30, calm), Exp("aborted", T0 + 40, T0 + 70, aborted)]
    rows = [req(T0 + 1, experiment="baseline"), req(T0 + 41, experiment="aborted")]
    summary = summarize(load(write_run(tmp_path / "run", exps, rows)))
    slo = parse_slo(
        "objectives:\n"
        "  - {sli: error_ratio, op: '<', threshold: 0.1, scope: {phase: fault}}\n"
        "  - {sli: recovery_time_s, op: '<', threshold: 10, scope: {experiment: '*'}}\n"
        "  - {sli: requests, op: '==', threshold: 1, scope: {experiment: '*'}}\n"
    )
    got = [(c.scope_label, c.verdict) for c in evaluate(summary, slo)]
    assert got == [
        ("baseline/fault", NA),
        ("aborted/fault", FAIL),
        ("baseline/all", NA),
        ("aborted/all", FAIL),
        ("baseline/all", PASS),
        ("aborted/all", PASS),
    ]
