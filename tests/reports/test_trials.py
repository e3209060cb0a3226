"""pass^k SLIs (pass_hat_k, pass_at_k, consistency, trials) on a table worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reports.errors import ReportsError
from reports.evaluate import FAIL, PASS, evaluate
from reports.load import load
from reports.render import build_report
from reports.slis import Summary, summarize
from reports.slo import parse_slo
from tests.reports.rundir import T0, Exp, journal, req, write_run

K1, K2 = "aaaaaaaaaaaa", "bbbbbbbbbbbb"  # two answer keys


def ask(
    at: float, trial: str, attempt: int, outcome: str, key: str, *, k: int = 3, exp: str = "exp"
) -> dict[str, Any]:
    """One requests.csv row of trial group ``trial`` (case ``c-<trial>``), ``at`` s after T0."""
    row = req(T0 + at, outcome, experiment=exp)
    return row | {"case_id": f"c-{trial}", "trial": trial, "attempt": attempt, "repeat": k,
                  "answer_key": key}  # fmt: skip


def group(trial: str, times: list[float], outcomes: str, keys: list[str], **kw: Any) -> list:
    """Attempts 1..n at ``times``; ``outcomes`` one letter each: c(orrect) w(rong) s(hed)."""
    word = {"c": "correct", "w": "wrong", "s": "shed"}
    return [
        ask(t, trial, i + 1, word[o], key, **kw)
        for i, (t, o, key) in enumerate(zip(times, outcomes, keys, strict=True))
    ]


TABLE = [
    *group("A", [1, 2, 3], "ccc", [K1, K1, K1]),
    *group("B", [4, 5, 6], "cwc", [K1, K2, K1]),
    *group("C", [7, 8, 9], "www", [K2, K2, K2]),
    *group("D", [9.5, 10.5, 11], "ccc", [K1, K1, K1]),
    *group("E", [12, 13, 14], "csc", [K1, "", K1]),
    req(T0 + 15, "correct"),  # a look-up: no trial group
    *group("G", [22], "c", [K1], k=1),
    *group("F", [28, 29], "cc", [K1, K1]),
    *group("A", [41, 42, 43], "ccc", [K2, K2, K2], exp="other"),
]


@pytest.fixture
def summary(tmp_path: Path) -> Summary:
    """The table below in a run of two experiments.

    ``exp`` spans T0..T0+30 with its fault in [10, 20); ``other`` spans T0+40..T0+50 without a
    journal (one phase ``all``). Groups (K = 3 unless said; c correct, w wrong, s shed;
    keys K1/K2, - empty)::

        group  exp    at (s)        outcomes keys      phase         complete all-c any-c agree
        A      exp    1, 2, 3       c c c    K1 K1 K1  baseline      yes      yes   yes   yes
        B      exp    4, 5, 6       c w c    K1 K2 K1  baseline      yes      no    yes   no
        C      exp    7, 8, 9       w w w    K2 K2 K2  baseline      yes      no    no    yes
        D      exp    9.5, 10.5, 11 c c c    K1 K1 K1  base + fault  all only yes   yes   yes
        E      exp    12, 13, 14    c s c    K1 - K1   fault         yes      no    yes   no
        G (K=1) exp   22            c        K1        recovery      yes      yes   yes   n/a
        F      exp    28, 29        c c      K1 K1     recovery      no (2/3) -     -     -
        A      other  41, 42, 43    c c c    K2 K2 K2  all           yes      yes   yes   yes

    Expected (trials, pass_hat_k, pass_at_k, consistency; consistency counts only the groups with
    K >= 2, a case asked once has nothing to agree with)::

        exp/baseline   A B C          3  1/3  2/3  2/3
        exp/fault      E              1  0    1    0
        exp/recovery   G              1  1    1    None (G is K = 1)
        exp/all        A B C D E G    6  3/6  5/6  3/5  (A C D of A B C D E)
        other/all      A              1  1    1    1
        run            all 7 groups   7  4/7  6/7  4/6  (A of exp and A of other are two groups)
    """
    exps = [
        Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, [("inject", T0 + 10, T0 + 20)])),
        Exp("other", T0 + 40, T0 + 50),
    ]
    return summarize(load(write_run(tmp_path / "run", exps, TABLE)))


EXPECTED = {
    ("exp", "baseline"): (3, 1 / 3, 2 / 3, 2 / 3),
    ("exp", "fault"): (1, 0.0, 1.0, 0.0),
    ("exp", "recovery"): (1, 1.0, 1.0, None),
    ("exp", "all"): (6, 3 / 6, 5 / 6, 3 / 5),
    ("other", "all"): (1, 1.0, 1.0, 1.0),
    (None, None): (7, 4 / 7, 6 / 7, 4 / 6),
}


@pytest.mark.parametrize("where", list(EXPECTED), ids=lambda w: "/".join(map(str, w)))
def test_pass_k_slis_match_the_hand_checked_table(
    summary: Summary, where: tuple[str | None, str | None]
) -> None:
    scope = summary.scope(*where)
    assert scope is not None
    names = ("trials", "pass_hat_k", "pass_at_k", "consistency")
    got = tuple(scope.values[n] for n in names)
    assert got == pytest.approx(EXPECTED[where]), dict(zip(names, got, strict=True))


def test_incomplete_groups_are_counted_and_k_values_listed(summary: Summary) -> None:
    recovery = summary.scope("exp", "recovery")
    assert recovery is not None and recovery.trials is not None
    assert (recovery.trials.repeats, recovery.trials.incomplete) == ((1,), 1)  # G used, F not
    baseline = summary.scope("exp", "baseline")
    assert baseline is not None and baseline.trials is not None
    assert baseline.trials.incomplete == 1  # D's first attempt


def test_no_complete_group_is_null_with_a_reason_never_zero(tmp_path: Path) -> None:
    """Only a cut group: trials 0 and null ratios saying why; an old run says it has none."""
    exps = [Exp("exp", T0, T0 + 30)]
    cut = summarize(load(write_run(tmp_path / "cut", exps, group("F", [1, 2], "cc", [K1, K1]))))
    assert cut.run.values["trials"] == 0
    assert cut.run.values["pass_hat_k"] is None
    assert cut.run.reasons["pass_hat_k"].startswith("no complete trial group in scope: 1 group")
    old = summarize(load(write_run(tmp_path / "old", exps, [req(T0 + 1)])))
    assert "trial" in load(tmp_path / "old").requests.columns  # read as empty
    assert (old.run.values["trials"], old.run.values["consistency"]) == (0, None)
    assert old.run.reasons["consistency"].startswith("no trial group in scope")


def test_objectives_on_pass_k_are_judged(summary: Summary) -> None:
    slo = parse_slo(
        "objectives:\n"
        "  - {sli: pass_hat_k, op: '>=', threshold: 0.5}\n"
        "  - {sli: consistency, op: '>=', threshold: 0.9, scope: {experiment: exp, phase: '*'}}\n"
    )
    cases = [(c.scope_label, c.verdict) for c in evaluate(summary, slo)]
    assert cases == [
        ("run", PASS),  # 4/7 >= 0.5
        ("exp/baseline", FAIL),  # 2/3
        ("exp/fault", FAIL),  # 0
        ("exp/recovery", FAIL),  # null (only a K = 1 group): missing fails by default
    ]


def test_the_report_has_a_pass_k_table(tmp_path: Path, summary: Summary) -> None:
    exps = [
        Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, [("inject", T0 + 10, T0 + 20)])),
        Exp("other", T0 + 40, T0 + 50),
    ]
    frames = load(write_run(tmp_path / "again", exps, TABLE))
    html = build_report(frames, summary)
    assert html.count("pass^k (trial groups)") == 3  # run, exp, other
    assert '<td>run</td><td class="num">1, 3</td><td class="num">7</td>' in html
    assert "57.14%" in html  # run pass_hat_k 4/7


def test_a_bad_attempt_number_names_the_line(tmp_path: Path) -> None:
    rows = [ask(1, "A", 1, "correct", K1), ask(2, "A", 4, "correct", K1)]
    with pytest.raises(ReportsError, match=r"requests\.csv:3: attempt: attempt 4 of repeat 3"):
        load(write_run(tmp_path / "bad", [Exp("exp", T0, T0 + 30)], rows))


def test_consistency_is_null_when_no_attempt_has_an_answer_key(tmp_path: Path) -> None:
    """A profile that records no keys: pass^k is measured, consistency is null (not 0)."""
    rows = group("A", [1, 2, 3], "ccc", ["", "", ""])
    summary = summarize(load(write_run(tmp_path / "nokeys", [Exp("exp", T0, T0 + 30)], rows)))
    assert (summary.run.values["trials"], summary.run.values["pass_hat_k"]) == (1, 1.0)
    assert summary.run.values["consistency"] is None
    assert (
        "no attempt of a complete trial group has an answer_key"
        in (summary.run.reasons["consistency"])
    )
