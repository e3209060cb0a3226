"""An SLO window: a bounded batch of real investigations, judged like Locust judges them.

Requests are built and answers classified by the target profile of the load tests
(``loadtests.profile``, pure, no Locust), from the reference cases (``stampede.cases``), so a
window's ``correct`` means exactly what ``correct`` means in ``requests.csv``.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed

from experiments.activities import _local
from loadtests.profile import ProfileError, Reply, TargetProfile
from loadtests.select import load_profile
from stampede.cases import Case, reference_cases
from stampede.contract import Outcome

MAX_REQUESTS = 200
MAX_CONCURRENCY = 16
#: How many distinct failure reasons a window reports (the journal stays readable).
MAX_REASONS = 3


@dataclass(frozen=True)
class Sample:
    """One investigation: its outcome class, why, HTTP status (0: no answer) and latency."""

    outcome: Outcome
    reason: str
    status: int
    latency_ms: float


def check_size(requests: int, concurrency: int) -> None:
    """Refuse unbounded windows: the probes share the machine with the load they measure."""
    if not 1 <= requests <= MAX_REQUESTS:
        raise ActivityFailed(f"SLO window of {requests} requests: expected 1..{MAX_REQUESTS}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ActivityFailed(f"SLO window concurrency {concurrency}: expected 1..{MAX_CONCURRENCY}")


def profile(spec: str = "reference") -> TargetProfile:
    """The target profile (``reference`` or ``module:attr``) that builds and judges requests."""
    try:
        return load_profile(spec)
    except ProfileError as exc:
        raise ActivityFailed(str(exc)) from exc


def alerts(count: int) -> list[Case]:
    """``count`` reference cases, in catalogue order from a random start."""
    cases = reference_cases()
    start = random.randrange(len(cases))
    return list(itertools.islice(itertools.cycle(cases), start, start + count))


def investigate(client: httpx.Client, agent_url: str, judge: TargetProfile, case: Case) -> Sample:
    """Send one investigation of ``case`` and classify the answer."""
    spec = judge.build(case, f"chaos-{uuid.uuid4().hex}")
    started = time.perf_counter()
    try:
        response = client.request(
            spec.method, f"{agent_url}{spec.path}", json=spec.json, headers=dict(spec.headers)
        )
        reply = Reply(
            response.status_code,
            response.content,
            {k.lower(): v for k, v in response.headers.items()},
        )
    except httpx.HTTPError as exc:
        reply = Reply(
            0, b"", {}, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        )
    latency_ms = (time.perf_counter() - started) * 1000
    verdict = judge.judge(case, reply)
    return Sample(verdict.outcome, verdict.reason, verdict.status, round(latency_ms, 1))


def run(
    agent_url: str,
    requests: int,
    concurrency: int,
    request_timeout_s: float,
    profile_spec: str = "reference",
) -> list[Sample]:
    """Send ``requests`` investigations, at most ``concurrency`` at a time, and classify them."""
    judge = profile(profile_spec)
    cases = alerts(requests)
    with (
        _local.http_client(request_timeout_s) as client,
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
    ):
        return list(pool.map(lambda case: investigate(client, agent_url, judge, case), cases))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation (pandas' default); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    """Counts per outcome, ratios, latency percentiles and the first few failure reasons."""
    counts = Counter(s.outcome for s in samples)
    total = len(samples)
    latencies = [s.latency_ms for s in samples]
    reasons = []
    for s in samples:
        if s.outcome != Outcome.CORRECT and s.reason:
            text = s.reason if s.reason.startswith(s.outcome) else f"{s.outcome}: {s.reason}"
            if text not in reasons:
                reasons.append(text)
    return {
        "requests": total,
        **{o.value: counts.get(o, 0) for o in Outcome},
        "correct_ratio": round(counts[Outcome.CORRECT] / total, 3) if total else 0.0,
        "answered_ratio": (
            round((counts[Outcome.CORRECT] + counts[Outcome.DEGRADED]) / total, 3) if total else 0.0
        ),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "reasons": reasons[:MAX_REASONS],
    }


def breaches(
    figures: dict[str, Any],
    min_correct_ratio: float = 0.0,
    min_answered_ratio: float = 0.0,
    max_p50_ms: float = 0.0,
    max_p95_ms: float = 0.0,
    max_wrong: int = 0,
) -> list[str]:
    """Each objective ``figures`` misses, as "what actual vs expected"; latency 0 = unchecked."""
    found = []
    if figures["requests"] == 0:
        return ["no investigation finished in the window"]
    if figures["correct_ratio"] < min_correct_ratio:
        found.append(f"correct_ratio {figures['correct_ratio']} < {min_correct_ratio}")
    if figures["answered_ratio"] < min_answered_ratio:
        found.append(f"answered_ratio {figures['answered_ratio']} < {min_answered_ratio}")
    if max_p50_ms and figures["p50_ms"] > max_p50_ms:
        found.append(f"p50 {figures['p50_ms']} ms > {max_p50_ms} ms")
    if max_p95_ms and figures["p95_ms"] > max_p95_ms:
        found.append(f"p95 {figures['p95_ms']} ms > {max_p95_ms} ms")
    if figures["wrong"] > max_wrong:
        found.append(f"wrong {figures['wrong']} > {max_wrong}")
    return found


def verdict(figures: dict[str, Any], found: list[str], **thresholds: Any) -> dict[str, Any]:
    """The probe output: met, how many breaches and which, the figures and the thresholds."""
    return {
        "met": not found,
        "breaches": len(found),
        "breached": found,
        **figures,
        "thresholds": thresholds,
    }


def judged(
    agent_url: str,
    requests: int,
    concurrency: int,
    request_timeout_s: float,
    profile_spec: str,
    min_correct_ratio: float,
    max_p95_ms: float,
    max_wrong: int,
) -> dict[str, Any]:
    """Run one window and judge it: the verdict of :func:`verdict`."""
    figures = summarize(run(agent_url, requests, concurrency, request_timeout_s, profile_spec))
    found = breaches(
        figures, min_correct_ratio=min_correct_ratio, max_p95_ms=max_p95_ms, max_wrong=max_wrong
    )
    return verdict(
        figures,
        found,
        min_correct_ratio=min_correct_ratio,
        max_p95_ms=max_p95_ms,
        max_wrong=max_wrong,
    )


def until_met(
    attempt: Callable[[], dict[str, Any]], within_s: float, pause_s: float = 0.5
) -> dict[str, Any]:
    """Call ``attempt`` until its result is met or ``within_s`` has passed; the last result.

    The result gains ``windows`` (attempts made) and ``waited_s`` (time to the met window).
    """
    started = time.monotonic()
    tries = 0
    while True:
        tries += 1
        result = attempt()
        elapsed = time.monotonic() - started
        if result["met"] or elapsed >= within_s:
            return {**result, "windows": tries, "waited_s": round(elapsed, 2)}
        time.sleep(min(pause_s, max(0.0, within_s - elapsed)))
