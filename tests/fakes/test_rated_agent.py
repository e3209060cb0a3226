"""The rated fake agent, measured through a declarative profile and a case file only."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtests.declarative import load_declarative_profile
from loadtests.profile import Reply
from stampede import procs
from stampede.cases import load_cases
from stampede.contract import Outcome
from tests.examples.support import Service, start_app

pytestmark = pytest.mark.timeout(60)

HERE = Path(__file__).resolve().parent
RATES = {"wrong": 0.10, "partial": 0.15, "error": 0.05, "shed": 0.08}
#: what each drawn behaviour must be judged as
JUDGED_AS = {
    "correct": "correct",
    "wrong": "wrong",
    "partial": "degraded",
    "error": "error",
    "shed": "shed",
}


def _start(tmp_path: Path, config: dict[str, object]) -> Service:
    path = tmp_path / "rated.json"
    path.write_text(json.dumps({"cases": str(HERE / "rated_cases.yaml"), **config}))
    return start_app(
        "tests.fakes.rated_agent:app", tmp_path / "rated.log", {"RATED_AGENT_CONFIG": str(path)}
    )


@pytest.fixture
def rated(tmp_path: Path) -> Iterator[Service]:
    service = _start(tmp_path, {"schedule": "even", "rates": RATES})
    yield service
    procs.stop(service.proc)


def _measure(url: str, n: int, seed: int = 3) -> tuple[Counter[str], dict[str, Counter[str]]]:
    profile = load_declarative_profile(HERE / "rated_profile.yaml")
    cases = load_cases(HERE / "rated_cases.yaml")
    profile.check_cases(cases)
    rng = random.Random(seed)
    totals: Counter[str] = Counter()
    by_case: dict[str, Counter[str]] = {}
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for i in range(n):
            case = rng.choice(cases)
            spec = profile.build(case, f"k{i}")
            response = client.request(spec.method, url + spec.path, json=spec.json)
            headers = {k.lower(): v for k, v in response.headers.items()}
            verdict = profile.judge(case, Reply(response.status_code, response.content, headers))
            totals[verdict.outcome] += 1
            by_case.setdefault(case.id, Counter())[verdict.outcome] += 1
    return totals, by_case


def test_configured_rates_are_measured_within_003(rated: Service) -> None:
    """400 requests (even schedule): every outcome's share is within ±0.03 of its configured
    rate, and the measured counts equal what the fake gave (the profile misjudges nothing)."""
    n = 400
    measured, _ = _measure(rated.url, n)
    drawn = httpx.get(rated.url + "/v2/stats", trust_env=False).json()["drawn"]
    assert {JUDGED_AS[k]: v for k, v in drawn.items()} == dict(measured)
    expected = {**{JUDGED_AS[k]: r for k, r in RATES.items()}, "correct": 1 - sum(RATES.values())}
    for outcome, rate in expected.items():
        assert abs(measured[outcome] / n - rate) <= 0.03, (outcome, measured[outcome] / n, rate)
    assert measured[Outcome.UNJUDGED] == 0


def test_per_case_success_probability(tmp_path: Path) -> None:
    """A case with success probability p is correct in about p of its answers, else wrong."""
    success = {"capital-fr": 1.0, "capital-jp": 0.0, "largest-planet": 0.5}
    service = _start(tmp_path, {"seed": 5, "case_success": success})
    try:
        _, by_case = _measure(service.url, 300)
    finally:
        procs.stop(service.proc)
    assert set(by_case["capital-fr"]) == {"correct"}
    assert set(by_case["capital-jp"]) == {"wrong"}
    half = by_case["largest-planet"]
    share = half["correct"] / (half["correct"] + half["wrong"])
    assert 0.35 <= share <= 0.65, half  # ~60 draws: 0.5 ± 2.3 sd
    assert set(by_case["oncall"]) == {"correct"}  # not listed, no rates: always right
