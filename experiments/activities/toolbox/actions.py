"""Actions on the fault API: inject a fault on the LLM or a tool, clear faults.

Transport and content faults go to ``$STAMPEDE_FAULT_API_URL`` when set (the suite's target sets
it: a fault proxy's, else the toolbox's), else to the local stack's toolbox; an explicit
``state_file`` argument means that stack's toolbox. World faults (``lie``, ``hallucinate``) go to
the stack's toolbox even when that URL is its fault proxy: only the toolbox knows what a
plausible lie is (``_api`` has the rules). Clearing acts on every fault API of the stack (toolbox
and proxy), so a rollback clears what was set wherever it was set. Every fault carries a TTL, so
an experiment that never reaches its rollbacks cannot leave one behind. Targets: ``llm``,
``tools`` (every tool), ``tool:<name>``.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities._local import Figures
from experiments.activities.toolbox import _api

__all__ = ["clear_all_faults", "clear_fault", "inject_fault"]

#: Parameters of `inject_fault` that are not fault-model fields.
NOT_SPEC = frozenset({"target", "state_file", "configuration", "secrets"})


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
    retry_after_format: str = "seconds",
    reset: bool = False,
    latency_dist: str = "uniform",
    jitter_sigma: float = 1.0,
    rate_limit_tpm: float | None = None,
    corrupt_body: str | None = None,
    json_rules: list[dict[str, Any]] | None = None,
    llm_content: str | None = None,
    llm_tool_arguments: dict[str, Any] | None = None,
    llm_tool_name: str | None = None,
    stream_first_token_ms: float = 0.0,
    stream_token_ms: float = 0.0,
    stream_cut_after: int | None = None,
    stream_malformed_chunk: int | None = None,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Set a fault on `target`: lie/hallucinate on the toolbox, the rest at the fault API; raises.

    The rest goes to $STAMPEDE_FAULT_API_URL (a fault proxy's or the toolbox's), else the
    stack's toolbox. lie / hallucinate need the toolbox's answer key: through the stack's proxy
    they go to the toolbox behind it; with no stack behind the URL they raise "lie is a toolbox
    world fault; through a proxy use json_rules / llm_content". `target` is llm, tools or
    tool:<name>; the fault lasts `ttl_s` s and replaces any fault already on `target`. Only
    fields that differ from their default are sent. Returns the fault as stored, with
    `expires_at` (epoch s) and `fault_api` (the URL it was set on).
    """
    if ttl_s <= 0:
        raise ActivityFailed(f"fault on {target}: ttl_s must be > 0, got {ttl_s}")
    given = {name: value for name, value in locals().items() if name not in NOT_SPEC}
    return _api.set_fault(target, _api.spec_body(given), state_file, configuration)


def clear_fault(
    target: str,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Clear `target`'s fault on every fault API (proxy and toolbox); raises if one refuses.

    Every API is tried before raising. Idempotent: clearing a target without a fault returns
    ``{"cleared": []}``.
    """
    return {"cleared": _api.clear_fault(target, state_file, configuration)}


def clear_all_faults(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Clear every fault on every fault API (proxy and toolbox); raises if one refuses or is down.

    Every API is tried before raising. Idempotent: returns the targets that had a fault.
    """
    return {"cleared": _api.clear_all_faults(state_file, configuration)}
