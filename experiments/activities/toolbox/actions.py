"""Actions on the fault API: inject a fault on the LLM or a tool, clear faults.

The fault API is ``$STAMPEDE_FAULT_API_URL`` when set (the suite's target sets it: a fault
proxy's, else the toolbox's), else the local stack's toolbox; an explicit ``state_file``
argument means that stack's toolbox (``_api`` has the order). Every fault carries a TTL, so an
experiment that never reaches its rollbacks cannot leave one behind. Targets: ``llm``,
``tools`` (every tool), ``tool:<name>``.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities._local import Figures
from experiments.activities.toolbox import _api

__all__ = ["clear_all_faults", "clear_fault", "inject_fault"]


def inject_fault(
    target: str,
    error_rate: float = 0.0,
    error_status: int = 500,
    latency_ms: float = 0,
    jitter_ms: float = 0,
    hang: bool = False,
    rate_limit_rps: float | None = None,
    retry_after_s: int = 1,
    lie: bool = False,
    hallucinate: bool = False,
    ttl_s: float = 60,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Set a fault on `target` at $STAMPEDE_FAULT_API_URL, else the toolbox; raises if refused.

    `target` is llm, tools or tool:<name>; the fault lasts `ttl_s` s and replaces any fault
    already on `target`. Returns the fault as the fault API stored it, with `expires_at`
    (epoch s).
    """
    if ttl_s <= 0:
        raise ActivityFailed(f"fault on {target}: ttl_s must be > 0, got {ttl_s}")
    body = {
        "error_rate": error_rate,
        "error_status": error_status,
        "latency_ms": latency_ms,
        "jitter_ms": jitter_ms,
        "hang": hang,
        "rate_limit_rps": rate_limit_rps,
        "retry_after_s": retry_after_s,
        "lie": lie,
        "hallucinate": hallucinate,
        "ttl_s": ttl_s,
    }
    return _api.set_fault(target, body, state_file, configuration)


def clear_fault(
    target: str,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Clear `target`'s fault at $STAMPEDE_FAULT_API_URL, else the toolbox; raises if refused.

    Idempotent: clearing a target without a fault returns ``{"cleared": []}``.
    """
    return {"cleared": _api.clear_fault(target, state_file, configuration)}


def clear_all_faults(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Clear every fault at $STAMPEDE_FAULT_API_URL, else the toolbox; raises if refused or down.

    Idempotent: returns the targets that had a fault.
    """
    return {"cleared": _api.clear_all_faults(state_file, configuration)}
