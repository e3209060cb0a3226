"""Actions that hold a fault while watching the agent, and wait for it to come back.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities._local import Figures
from experiments.activities.process.probes import agent_is_ready
from experiments.activities.slo import _observe, _window

__all__ = ["observe_for", "wait_for_recovery"]

MAX_OBSERVE_S = 600.0
MAX_RATE_PER_S = 20.0


def observe_for(
    seconds: float = 10.0,
    rate_per_s: float = 4.0,
    concurrency: int = 2,
    request_timeout_s: float = 5.0,
    ready_interval_s: float = 0.5,
    profile: str = "reference",
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Hold `seconds` s while sending paced investigations and polling /readyz; raises on bad input.

    Also raises without a stack; never for what it sees. Investigations go out at `rate_per_s`,
    at most `concurrency` in flight (0 rate: readiness only); the ones in flight at the end are
    awaited (each bounded by `request_timeout_s`). Returns the figures (outcomes, p50/p95,
    ready_ratio); the steady-state probe `observed_windows_meet_slo` judges them after the method.
    """
    seconds = float(seconds)  # `${observe_s}` from an untyped --var or env arrives as a string
    if not 0 < seconds <= MAX_OBSERVE_S:
        raise ActivityFailed(f"observe_for {seconds} s: expected 0 < seconds <= {MAX_OBSERVE_S}")
    if not 0 <= rate_per_s <= MAX_RATE_PER_S:
        raise ActivityFailed(f"observe_for rate {rate_per_s}/s: expected 0..{MAX_RATE_PER_S}")
    _window.check_size(1, concurrency)
    state = _local.load(state_file, configuration)
    agent_url = _local.local_url(state.agent.url, "agent")
    observation = _observe.observe(
        agent_url,
        seconds,
        rate_per_s,
        concurrency,
        request_timeout_s,
        max(0.05, ready_interval_s),
        profile,
    )
    return _observe.figures([observation])


def wait_for_recovery(
    timeout_s: float = 20.0,
    requests: int = 6,
    concurrency: int = 2,
    min_correct_ratio: float = 0.9,
    max_p95_ms: float = 3000,
    max_wrong: int = 0,
    raise_on_timeout: bool = True,
    request_timeout_s: float = 10.0,
    profile: str = "reference",
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Poll until the agent is ready and an SLO window is met; raises after `timeout_s` without.

    Each window is `requests` real investigations (see `investigations_meet_slo`). Returns the
    last window's figures with `recovered`, `windows` tried and `waited_s`. With
    `raise_on_timeout` false, returns `recovered: false` instead of raising.
    """
    _window.check_size(requests, concurrency)
    state = _local.load(state_file, configuration)
    agent_url = _local.local_url(state.agent.url, "agent")

    def attempt() -> Figures:
        if not agent_is_ready(timeout_s=2.0, state_file=str(state.path)):
            return {"met": False, "breaches": 1, "breached": [f"{agent_url}/readyz is not 200"]}
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

    result = _window.until_met(attempt, timeout_s)
    result["recovered"] = result["met"]
    if not result["met"] and raise_on_timeout:
        raise ActivityFailed(
            f"agent at {agent_url} not back to its SLO within {timeout_s:.1f} s: "
            f"{'; '.join(result['breached'])}"
        )
    return result
