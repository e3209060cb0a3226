"""Every SLI's name, unit, the scopes where it is defined and a one-line definition.

Scopes: ``run`` (the whole run), and per experiment ``all`` (its whole window), ``baseline``,
``fault``, ``recovery``. docs/slo.md carries the full definitions; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from stampede.contract import PHASES, Phase

__all__ = ["ALL", "NEEDS_FAULT", "PHASES", "SCOPE_KINDS", "SLIS", "SliParams", "SliSpec"]

ALL = "all"
SCOPE_KINDS = ("run", ALL, *PHASES)
_EVERY = frozenset(SCOPE_KINDS)


@dataclass(frozen=True)
class SliParams:
    """Objectives some SLIs depend on (set under ``params:`` in the SLO file)."""

    goodput_latency_ms: float = 2000.0
    recovery_success_ratio: float = 0.95
    recovery_sustain_s: int = 5
    replicas_label: str = "agent"  # samples.csv `replicas` label of the system under test
    # rebilled_runs: an interrupted run costing more than this x its case uninterrupted paid
    # again for calls it had completed (a provider's token counts of one prompt vary a little;
    # an agent whose runs of one case vary more needs a larger factor).
    rebilled_factor: float = 1.05


# SLIs that only exist where there is a fault: N/A (not missing) for fault-free experiments.
NEEDS_FAULT = frozenset({"recovery_time_s", "recovered", "cost_amplification"})


@dataclass(frozen=True)
class SliSpec:
    """One SLI: where it is defined and what it means."""

    name: str
    unit: str
    scopes: frozenset[str]
    description: str


def _spec(name: str, unit: str, description: str, scopes: frozenset[str] = _EVERY) -> SliSpec:
    return SliSpec(name, unit, scopes, description)


SLIS: dict[str, SliSpec] = {
    s.name: s
    for s in (
        _spec("requests", "count", "requests started in the scope"),
        _spec("duration_s", "s", "length of the scope's time window"),
        _spec("success_ratio", "ratio", "(correct + degraded) / requests"),
        _spec("correct_ratio", "ratio", "correct / requests"),
        _spec("degraded_ratio", "ratio", "degraded / requests"),
        _spec("wrong_ratio", "ratio", "wrong / requests"),
        _spec("shed_ratio", "ratio", "shed / requests"),
        _spec("error_ratio", "ratio", "error / requests"),
        _spec(
            "unjudged_ratio",
            "ratio",
            "unjudged / requests (answers the judge could not decide; never correct)",
        ),
        _spec(
            "latency_p50_ms", "ms", "nearest-rank 50th percentile of user_latency_ms, all outcomes"
        ),
        _spec(
            "latency_p95_ms", "ms", "nearest-rank 95th percentile of user_latency_ms, all outcomes"
        ),
        _spec(
            "latency_p99_ms", "ms", "nearest-rank 99th percentile of user_latency_ms, all outcomes"
        ),
        _spec("throughput_rps", "req/s", "requests / duration_s"),
        _spec("goodput_rps", "req/s", "correct requests with latency_ms <= objective / duration_s"),
        _spec("tokens_per_success", "tokens", "sum(tokens) over all requests / successes"),
        _spec("cost_per_success_usd", "USD", "sum(cost_usd) over all requests / successes"),
        _spec(
            "cost_amplification",
            "x",
            "cost_per_success_usd in this phase / in the baseline phase of the same experiment",
        ),
        _spec(
            "cost_amplification_vs_baseline_experiment",
            "x",
            "cost_per_success_usd in this phase / in the whole window of experiment 'baseline'",
        ),
        _spec("retries_per_request", "retries", "sum(retries) in requests.csv / requests"),
        _spec(
            "sampled_retries_per_request",
            "retries",
            "increase of samples.csv retries_total (all dependencies) / requests",
        ),
        _spec("trials", "count", "complete trial groups (one case asked K times in a row)"),
        _spec(
            "pass_hat_k",
            "ratio",
            "complete trial groups answered correct in all K attempts / trials (pass^k)",
        ),
        _spec(
            "pass_at_k",
            "ratio",
            "complete trial groups with at least one correct attempt / trials (pass@k)",
        ),
        _spec(
            "consistency",
            "ratio",
            "complete trial groups whose K answers agree (one answer_key, none empty) / trials",
        ),
        _spec("max_breaker_state", "state", "max breaker_state sample, any dependency"),
        _spec("max_replicas", "replicas", "max replicas sample"),
        _spec(
            "recovery_time_s",
            "s",
            "fault end -> first second of a sustained per-second success ratio at objective",
            frozenset({"run", ALL, Phase.RECOVERY}),
        ),
        _spec(
            "recovered",
            "bool",
            "whether recovery_time_s found a sustained recovery",
            frozenset({"run", ALL, Phase.RECOVERY}),
        ),
        _spec(
            "lost_investigations",
            "count",
            "run.json experiments[].checks.lost_investigations",
            frozenset({"run", "all"}),
        ),
        _spec(
            "scale_out_time_s",
            "s",
            "fault start -> first replicas sample above the pre-fault count",
            frozenset({"run", "all"}),
        ),
        _spec(
            "scaled_out",
            "bool",
            "whether scale_out_time_s found a scale-out",
            frozenset({"run", "all"}),
        ),
        # Durable (asynchronous) investigations: reports/runs.py, docs/durable.md.
        _spec("accepted_runs", "count", "asynchronous runs accepted (202)"),
        _spec("lost_runs", "count", "accepted runs with no answer by the user's deadline"),
        _spec("failed_runs", "count", "runs the agent dead-lettered (failed, with its reason)"),
        _spec("interrupted_runs", "count", "runs whose worker died: retried or lost"),
        _spec("resumed_runs", "count", "runs taken over after their worker died and resumed"),
        _spec("duplicate_completions", "count", "runs reported completed more than once"),
        _spec("time_to_answer_p95_ms", "ms", "nearest-rank p95 of submit -> answer, answered runs"),
        _spec("cost_per_completed_run_usd", "USD", "billed cost of answered runs / their number"),
        _spec(
            "interrupted_run_cost_amplification",
            "x",
            "cost of the answered interrupted runs / their cases' uninterrupted median cost",
        ),
        _spec("rebilled_runs", "count", "interrupted runs costing > 1.05 x their case otherwise"),
        _spec(
            "run_cost_amplification",
            "x",
            "cost_per_completed_run_usd in this phase / in the baseline phase (all = fault's)",
            frozenset({ALL, *PHASES}),
        ),
    )
}
