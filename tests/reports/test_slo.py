"""SLO file parsing: the documented format, and one-line errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.catalogue import SLIS
from reports.errors import ReportsError
from reports.slo import Scope, load_slo, parse_slo
from stampede.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def test_default_slo_file_parses_and_covers_the_brief() -> None:
    slo = load_slo(REPO / "slo.yaml")
    by_sli = {o.sli for o in slo.objectives}
    assert {
        "wrong_ratio",
        "error_ratio",
        "latency_p95_ms",
        "recovery_time_s",
        "retries_per_request",
        "cost_amplification",
        "lost_investigations",
    } <= by_sli
    wrong = next(o for o in slo.objectives if o.sli == "wrong_ratio")
    assert (wrong.op, wrong.threshold, wrong.scope) == ("==", 0.0, Scope(("*",), "*"))
    kill = next(o for o in slo.objectives if o.name == "replica-kill-recovery")
    assert kill.scope.experiments == ("replica-kill", "rolling-restart")
    assert slo.params.recovery_sustain_s == 5


def test_defaults_scope_and_names() -> None:
    text = """
objectives:
  - {sli: wrong_ratio, op: "==", threshold: 0}
  - {sli: error_ratio, op: "<", threshold: 0.05, scope: {phase: fault}}
  - {sli: recovered, op: "==", threshold: true, scope: {experiment: replica-kill}}
"""
    slo = parse_slo(text)
    run, fault, rec = slo.objectives
    assert run.scope.is_run and run.name == "wrong_ratio == 0" and run.missing == "fail"
    assert fault.scope == Scope(("*",), "fault") and fault.name == "error_ratio < 0.05"
    assert rec.threshold is True and rec.scope == Scope(("replica-kill",), "all")
    assert (run.line, fault.line, rec.line) == (3, 4, 5)


SLO_HEAD = "version: 1\nobjectives:\n"


def _error(text: str) -> str:
    with pytest.raises(ReportsError) as info:
        parse_slo(text, "slo.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, InputError)
    return message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - sli: wrong_ratio\n    op: '=='\n    threshold: 0\n"
            "  - sli: error_ratio\n    op: '<'\n    threshold: 0\n"
            "  - sli: success_ratio\n    op: '=<'\n    threshold: 1\n",
            "slo.yaml:10: objectives[2].op: '=<' is not one of <, <=, >, >=, ==, !=",
        ),
        (
            "  - {sli: p95, op: '<', threshold: 1}\n",
            f"slo.yaml:3: objectives[0].sli: unknown SLI 'p95' (known: {', '.join(SLIS)})",
        ),
        (
            "  - {sli: wrong_ratio, op: '<', threshold: low}\n",
            "slo.yaml:3: objectives[0].threshold: expected a number or a percentage of the "
            "baseline ('+10%'), got 'low'",
        ),
        (
            "  - sli: wrong_ratio\n    op: '<'\n    treshold: 1\n",
            "slo.yaml:5: objectives[0].treshold: unknown key (known: name, sli, op, threshold, "
            "scope, missing, description)",
        ),
        (
            "  - sli: wrong_ratio\n    op: '<'\n",
            "slo.yaml:3: objectives[0]: missing required key 'threshold'",
        ),
        (
            "  - sli: wrong_ratio\n    op: '<'\n    threshold: 1\n"
            "    scope:\n      phase: during\n",
            "slo.yaml:7: objectives[0].scope.phase: 'during' is not one of baseline, fault, "
            "recovery, all, *",
        ),
        (
            "  - sli: wrong_ratio\n    op: '<'\n    threshold: 1\n    missing: ignore\n",
            "slo.yaml:6: objectives[0].missing: 'ignore' is not one of fail, skip",
        ),
        (
            "  - sli: recovery_time_s\n    op: '<'\n    threshold: 1\n"
            "    scope: {experiment: x, phase: fault}\n",
            "slo.yaml:6: objectives[0].scope.phase: recovery_time_s is not defined for phase "
            "fault (only: all, recovery)",
        ),
        (
            "  - {sli: recovered, op: '<', threshold: true, scope: {experiment: x}}\n",
            "slo.yaml:3: objectives[0].op: recovered is true/false: use == or !=, not <",
        ),
        (
            "  - sli: wrong_ratio\n    op: '<'\n    op: '>'\n    threshold: 1\n",
            "slo.yaml:5: objectives[0].op: duplicate key 'op'",
        ),
        (
            "  - {name: a, sli: wrong_ratio, op: '<', threshold: 1}\n"
            "  - {name: a, sli: error_ratio, op: '<', threshold: 1}\n",
            "slo.yaml:4: objectives[1].name: duplicate name 'a' (also objectives[0])",
        ),
        (
            "  - {sli: wrong_ratio, op: '<', threshold: 1, scope: {experiment: [a, '*']}}\n",
            "slo.yaml:3: objectives[0].scope.experiment: '*' cannot be combined with names",
        ),
    ],
    ids=[
        "bad-op",
        "unknown-sli",
        "threshold-not-number",
        "unknown-key",
        "missing-key",
        "bad-phase",
        "bad-missing",
        "sli-undefined-in-phase",
        "bool-sli-order-op",
        "duplicate-key",
        "duplicate-name",
        "star-with-names",
    ],
)
def test_semantic_errors_name_line_and_field(body: str, expected: str) -> None:
    assert _error(SLO_HEAD + body) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "objectives:\n  - sli: wrong_ratio\n   op: '<'\n",
            "slo.yaml:3: invalid YAML: expected <block end>, but found '<block mapping start>' "
            "(while parsing a block collection)",
        ),
        (
            "objectives: [\n",
            "slo.yaml:2: invalid YAML: expected the node content, but found "
            "'<stream end>' (while parsing a flow node)",
        ),
        ("", "slo.yaml: empty file (expected a mapping with 'objectives')"),
        ("- a\n- b\n", "slo.yaml:1: expected a mapping with 'objectives', got list"),
        ("objectives: []\n", "slo.yaml:1: objectives: expected a non-empty list of objectives"),
        (
            "objective: []\n",
            "slo.yaml:1: objective: unknown key (known: version, params, objectives, builtin)",
        ),
        (
            "version: 2\nobjectives: []\n",
            "slo.yaml:1: version: unsupported version 2 (supported: 1)",
        ),
        (
            "params: {recovery_sustain_s: 2.5}\n"
            "objectives: [{sli: requests, op: '>', threshold: 0}]\n",
            "slo.yaml:1: params.recovery_sustain_s: expected whole seconds, got 2.5",
        ),
        (
            "params: {goodput_ms: 2}\nobjectives: [{sli: requests, op: '>', threshold: 0}]\n",
            "slo.yaml:1: params.goodput_ms: unknown parameter (known: goodput_latency_ms, "
            "recovery_success_ratio, recovery_sustain_s, replicas_label, rebilled_factor)",
        ),
    ],
    ids=[
        "indentation",
        "unclosed-flow",
        "empty",
        "not-a-mapping",
        "no-objectives",
        "top-typo",
        "version",
        "sustain-fraction",
        "unknown-param",
    ],
)
def test_file_level_errors(text: str, expected: str) -> None:
    assert _error(text) == expected


def test_missing_slo_file(tmp_path: Path) -> None:
    with pytest.raises(ReportsError, match=r"nope\.yaml: SLO file not found$"):
        load_slo(tmp_path / "nope.yaml")
