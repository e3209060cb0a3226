"""Probes that judge the agent by real investigations: a live SLO window, the observed fault.

Each returns the figures (counts per outcome, ratios, p50/p95, reasons) with ``met``,
``breaches`` (how many objectives were missed) and ``breached`` (which, actual vs expected), so
the journal shows why. In a steady-state hypothesis use the tolerance
``{"type": "range", "target": "breaches", "range": [0, 0]}``.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities._local import Figures
from experiments.activities.slo import _observe, _window

__all__ = ["investigations_meet_slo", "observed_windows_meet_slo"]


def investigations_meet_slo(
    requests: int = 10,
    concurrency: int = 2,
    min_correct_ratio: float = 0.9,
    max_p95_ms: float = 3000,
    max_wrong: int = 0,
    within_s: float = 0.0,
    request_timeout_s: float = 10.0,
    profile: str = "reference",
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Send `requests` real investigations and judge them against the SLO; raises only on bad input.

    correct = complete with the reference case's root cause; wrong = a confident other cause;
    degraded / shed / error as in requests.csv. With `within_s` > 0, windows are retried until
    one is met or `within_s` has passed (how long the agent takes to come back after a fault).
    `profile` is the load tests' target profile (`reference` or `module:attr`).
    """
    _window.check_size(requests, concurrency)
    state = _local.load(state_file, configuration)
    agent_url = _local.local_url(state.agent.url, "agent")

    def attempt() -> Figures:
        return _window.judged(
            agent_url,
            requests,
            concurrency,
            request_timeout_s,
            profile,
            min_correct_ratio,
            max_p95_ms,
            max_wrong,
        )

    return _window.until_met(attempt, within_s)


def observed_windows_meet_slo(
    min_answered_ratio: float = 0.9,
    min_correct_ratio: float = 0.0,
    max_p50_ms: float = 0,
    max_p95_ms: float = 0,
    max_wrong: int = 0,
    min_ready_ratio: float = 0.9,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Judge what `observe_for` saw during this run's method against the SLO; never raises.

    answered = correct + degraded (an honest partial answer is fine during a fault, a wrong one
    never is); ready_ratio = share of /readyz samples that were 200. Latency objectives set to
    0 are not checked. Before the method nothing was observed: met, with `observed_windows` 0.
    `state_file` is accepted like every local activity but not needed: the record is in-process.
    """
    thresholds = {
        "min_answered_ratio": min_answered_ratio,
        "min_correct_ratio": min_correct_ratio,
        "max_p50_ms": max_p50_ms,
        "max_p95_ms": max_p95_ms,
        "max_wrong": max_wrong,
        "min_ready_ratio": min_ready_ratio,
    }
    observations = _observe.recorded()
    if not observations:
        return {
            "met": True,
            "breaches": 0,
            "breached": [],
            "observed_windows": 0,
            "note": "nothing observed yet in this Chaos Toolkit run (no observe_for has run)",
            "thresholds": thresholds,
        }
    figures = _observe.figures(observations)
    found = _window.breaches(
        figures,
        min_correct_ratio=min_correct_ratio,
        min_answered_ratio=min_answered_ratio,
        max_p50_ms=max_p50_ms,
        max_p95_ms=max_p95_ms,
        max_wrong=max_wrong,
    )
    if figures["ready_ratio"] < min_ready_ratio:
        found.append(f"ready_ratio {figures['ready_ratio']} < {min_ready_ratio}")
    result = _window.verdict(figures, found, **thresholds)
    result["observed_windows"] = len(observations)
    return result
