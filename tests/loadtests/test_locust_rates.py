"""Real Locust against the rated fake agent, with only a declarative profile and a case file.

The fake (``tests/fakes/rated_agent.py``, a real uvicorn process) gives each answer with known
rates: for the rates test on its even schedule (every share within 3.2 / N of its rate, so the
±0.03 checks Stampede, not a seed's luck), for pass^k with iid draws. Locust (headless
subprocesses, the project's own locustfile, bounded ``-t``) is given nothing but
``--stampede-profile tests/fakes/rated_profile.yaml`` and ``--stampede-cases
tests/fakes/rated_cases.yaml``. What it records must measure those rates (issue 9, "Must show"),
and pass^k (``--stampede-repeat K``) must measure p^K. All the Locust processes start together
(their start-up overlaps); each test checks one of them.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from reports.load import read_requests
from reports.trials import trial_groups, trial_stats
from stampede import procs
from tests.examples.support import Service, start_app
from tests.loadtests.support import LocustRun, locust_cmd, started

pytestmark = pytest.mark.timeout(90)

FAKES = Path(__file__).resolve().parents[1] / "fakes"
PROFILE = str(FAKES / "rated_profile.yaml")
CASES = str(FAKES / "rated_cases.yaml")
RATES = {"wrong": 0.10, "partial": 0.15, "error": 0.05, "shed": 0.08}
JUDGED_AS = {"wrong": "wrong", "partial": "degraded", "error": "error", "shed": "shed"}
#: per-case success probability p (correct with p, else wrong) for the pass^k runs
SUCCESS = {
    "capital-fr": 0.95,
    "capital-jp": 0.8,
    "largest-planet": 0.6,
    "boiling-point": 0.9,
    "oncall": 0.5,
}
USERS = "60"  # the locustfile waits 0.5-1.5 s between tasks: ~60 requests/s


def _agent(base: Path, name: str, config: dict[str, object]) -> Service:
    path = base / f"{name}.json"
    path.write_text(json.dumps({"cases": CASES, **config}), encoding="utf-8")
    return start_app("tests.fakes.rated_agent:app", base / f"{name}.log",
                     {"RATED_AGENT_CONFIG": str(path)})  # fmt: skip


def _bad_inputs(base: Path) -> tuple[Path, Path]:
    """A profile whose answer path does not parse; a case without the prompt the body needs."""
    bad_profile = base / "bad_profile.yaml"
    text = Path(PROFILE).read_text(encoding="utf-8").replace("$.reply.text", "$..[")
    bad_profile.write_text(text, encoding="utf-8")
    bad_cases = base / "no_prompt.yaml"
    bad_cases.write_text(
        "cases:\n  - {id: q1, input: {question: 'Capital of France?'}, expect: {label: Paris}}\n",
        encoding="utf-8",
    )
    return bad_profile, bad_cases


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    """The rated fake on an even schedule (rates), and one with per-case success (pass^k)."""
    base = tmp_path_factory.mktemp("rated-agents")
    with ExitStack() as stack:
        rated = _agent(base, "rated", {"schedule": "even", "rates": RATES})
        stack.callback(procs.stop, rated.proc)
        success = _agent(base, "success", {"seed": 5, "case_success": SUCCESS})
        stack.callback(procs.stop, success.proc)
        yield {"rated": rated, "success": success}


@pytest.fixture(scope="module")
def runs(
    agents: dict[str, Service], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, LocustRun]:
    """Every Locust run of this module, started at once and finished (bounded).

    Only the rates run talks to the rated fake (its /v2/stats then counts that run alone); it
    stops gracefully (``--stop-timeout``), so no request the fake answered goes unrecorded.
    """
    base = tmp_path_factory.mktemp("rated-runs")
    rated, success = agents["rated"], agents["success"]
    bad_profile, bad_cases = _bad_inputs(base)
    ours = ("--stampede-profile", PROFILE, "--stampede-cases", CASES)
    load = ("-u", USERS, "-r", USERS)
    commands = {
        "rates": locust_cmd(base / "rates", rated.url, *ours, *load, "-t", "12s",
                            "--stop-timeout", "5"),
        "k1": locust_cmd(base / "k1", success.url, *ours, *load, "-t", "12s",
                         "--stampede-repeat", "1"),
        "k4": locust_cmd(base / "k4", success.url, *ours, *load, "-t", "20s",
                         "--stampede-repeat", "4"),
        "bad_profile": locust_cmd(base / "bad_profile", success.url, "--stampede-profile",
                                  str(bad_profile), "--stampede-cases", CASES, "-t", "5s"),
        "bad_case": locust_cmd(base / "bad_case", success.url, "--stampede-profile", PROFILE,
                               "--stampede-cases", str(bad_cases), "-t", "5s"),
    }  # fmt: skip
    logs = {name: base / name / "locust.log" for name in commands}
    with ExitStack() as stack:
        popens = {
            name: stack.enter_context(started(cmd, logs[name])) for name, cmd in commands.items()
        }
        deadline = time.monotonic() + 70
        codes = {
            name: popen.wait(max(0.1, deadline - time.monotonic()))
            for name, popen in popens.items()
        }
    return {
        name: LocustRun(base / name, codes[name], logs[name].read_text(errors="replace"))
        for name in commands
    }


def test_configured_rates_are_measured_within_003_through_locust(
    agents: dict[str, Service], runs: dict[str, LocustRun]
) -> None:
    """>= 400 requests through Locust: each outcome's count is what the fake gave, and its share
    is within ±0.03 of its rate.

    Rates: wrong 0.10, partial 0.15 (judged degraded), error 0.05, shed 0.08, correct the rest
    (0.62), on the fake's even schedule (every share within 3.2 / N of its rate, so a miss is
    Stampede's). The recorder's rows are Locust's own request count, and no answer is unjudged.
    """
    run = runs["rates"]
    run.check_clean()
    rows = run.rows()
    requests, failures = run.aggregated()
    assert len(rows) == requests >= 400, (len(rows), requests)
    outcomes = Counter(r["outcome"] for r in rows)
    assert outcomes["wrong"] + outcomes["error"] == failures
    given = httpx.get(agents["rated"].url + "/v2/stats", trust_env=False).json()["drawn"]
    judged = {**JUDGED_AS, "correct": "correct"}
    assert {judged[kind]: n for kind, n in given.items()} == dict(outcomes), (given, outcomes)
    expected = {JUDGED_AS[k]: rate for k, rate in RATES.items()}
    expected["correct"] = 1 - sum(RATES.values())
    measured = {o: outcomes[o] / len(rows) for o in expected}
    for outcome, rate in expected.items():
        assert abs(measured[outcome] - rate) <= 0.03, (outcome, measured, len(rows))
    assert outcomes["unjudged"] == 0 and set(outcomes) <= set(expected)
    assert {r["name"] for r in rows} == {"POST /v2/query"}


def _pass_hat_k(run: LocustRun, k: int) -> tuple[float, float, float, int]:
    """(measured, expected, tolerance, groups) of pass_hat_k over the run's complete groups.

    Expected: the mean over the complete groups of p_case^K (each attempt is an independent
    draw with the case's p). Tolerance: 3 standard errors of a binomial proportion over the
    groups, 3 * sqrt(E (1 - E) / n): the spread of a mean of independent Bernoulli(p_i^K) is at
    most that.
    """
    run.check_clean()
    frame = read_requests(run.requests_csv)
    groups = trial_groups(frame)
    done = groups[groups["complete"].astype(bool)]
    assert set(done["repeat"]) == {k}
    stats = trial_stats(frame)
    n = stats.trials
    assert n == len(done) > 0 and stats.pass_hat_k is not None
    expected = sum(SUCCESS[case] ** k for case in done["case_id"]) / n
    tolerance = 3 * math.sqrt(expected * (1 - expected) / n)
    return stats.pass_hat_k, expected, tolerance, n


@pytest.mark.parametrize("k", [1, 4])
def test_pass_hat_k_is_within_3_standard_errors_of_p_to_the_k(
    runs: dict[str, LocustRun], k: int
) -> None:
    """Per-case success p (0.95, 0.8, 0.6, 0.9, 0.5), ``--stampede-repeat K``: the measured
    pass_hat_k is within 3 binomial standard errors (over the complete trial groups) of the mean
    p^K of the cases drawn; every group's K attempts ask one case, numbered 1..K."""
    run = runs[f"k{k}"]
    measured, expected, tolerance, n = _pass_hat_k(run, k)
    assert n >= 100, n
    assert abs(measured - expected) <= tolerance, (measured, expected, tolerance, n)
    rows = [r for r in run.rows() if r["trial"]]
    by_trial: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_trial.setdefault(row["trial"], []).append(row)
    for trial_rows in by_trial.values():
        assert len({r["case_id"] for r in trial_rows}) == 1
        attempts = sorted(int(r["attempt"]) for r in trial_rows)
        assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) <= k


@pytest.mark.parametrize("k", [1, 4])
def test_consistency_counts_the_groups_whose_answers_agree(
    runs: dict[str, LocustRun], k: int
) -> None:
    """The declarative profile records answer keys: the fake answers one text when right and
    another when wrong, so a complete group agrees exactly when its outcomes are all ``correct``
    or all ``wrong``. K = 1: a case asked once has nothing to agree with, so consistency is null
    with that reason (never a vacuous 1 or a false 0)."""
    frame = read_requests(runs[f"k{k}"].requests_csv)
    groups = trial_groups(frame)
    done = groups[groups["complete"].astype(bool)]
    trials = frame[frame["trial"].astype(str) != ""]
    outcomes = trials.groupby(["experiment", "trial"])["outcome"].agg(lambda s: set(s.astype(str)))
    agree = [outcomes[index] in ({"correct"}, {"wrong"}) for index in done.index]
    stats = trial_stats(frame)
    if k == 1:
        assert stats.consistency is None and "K = 1" in stats.why, stats
    else:
        assert stats.consistency == pytest.approx(sum(agree) / len(agree)), (stats, len(agree))
    answered = trials[trials["outcome"].astype(str).isin(["correct", "wrong"])]
    assert (answered["answer_key"].astype(str) != "").all()
    if k == 4:  # p^4 + (1 - p)^4 per case: some groups agree, some do not
        assert stats.consistency is not None and 0 < stats.consistency < 1


def test_a_bad_profile_exits_2_naming_the_file_and_field(runs: dict[str, LocustRun]) -> None:
    run = runs["bad_profile"]
    assert run.returncode == 2, run.log[-2000:]
    assert "bad_profile.yaml" in run.log and "response.answer" in run.log, run.log[-2000:]
    assert "Traceback" not in run.log


def test_a_case_the_profile_cannot_fill_exits_2(runs: dict[str, LocustRun]) -> None:
    run = runs["bad_case"]
    assert run.returncode == 2, run.log[-2000:]
    assert "input.prompt" in run.log and "case 'q1' (" in run.log, run.log[-2000:]
    assert "no_prompt.yaml" in run.log and "Traceback" not in run.log
