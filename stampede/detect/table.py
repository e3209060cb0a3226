"""The weakness table: which experiments should expose each weakness, on which objectives.

For every weakness of the reference agent (``AGENT_WEAKNESS``) :data:`EXPECTATIONS` names the
experiments that should expose it and the objectives that should catch it: a gate objective
(``gate.json``, the SLO file's names) or a live one (``live:<figure>``, a breach recorded by the
experiment's steady-state hypothesis in its journal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stampede.errors import InputError
from target_agent.agent.weaknesses import Weakness

REAL = "real"  # the row of the reference agent with no weakness


@dataclass(frozen=True)
class Expectation:
    """What should expose one weakness: experiments, intended objectives, and how honest it is."""

    weakness: str
    experiments: tuple[str, ...]
    objectives: tuple[str, ...]  # gate objective names, or "live:<figure>" for journal breaches
    why: str
    # Empty when the local stack shows the weakness's real consequence; otherwise what it does
    # and does not show (printed with the matrix, never turned into a fake catch).
    local_limit: str = ""


EXPECTATIONS: tuple[Expectation, ...] = (
    Expectation(
        Weakness.NO_RETRIES,
        ("llm-errors",),
        ("llm-errors-correct",),
        "20% of LLM calls fail; without a retry each failed reasoner call becomes a degraded "
        "answer, so the correct ratio in the fault phase drops below 0.95.",
    ),
    Expectation(
        Weakness.NO_BREAKER,
        ("tool-latency", "tool-hang"),
        ("slow-dependency-p50",),
        "every request pays the 1 s tool timeout (plus budgeted retries) instead of failing "
        "fast once the breaker is open: median latency in the fault phase exceeds 1000 ms.",
    ),
    Expectation(
        Weakness.NO_TIMEOUTS,
        ("tool-hang",),
        ("fault-latency-p95", "slow-dependency-p50", "fault-errors"),
        "a hanging get_metrics call is waited for until the fault is cleared: p95 (and p50) of "
        "the fault phase explode (or requests time out at the load generator: fault-errors).",
    ),
    Expectation(
        Weakness.RETRY_STORM,
        ("llm-rate-limit",),
        ("retry-budget", "cost-amplification"),
        "10 attempts without backoff, budget or Retry-After against a rate-limited LLM: "
        "retries per request in the fault phase far above 1 (cost per success rises with it "
        "where failed calls are billed).",
    ),
    Expectation(
        Weakness.READINESS_ON_REDIS,
        ("redis-outage",),
        ("live:ready_ratio",),
        "/readyz fails for the whole Redis outage: the share of ready samples taken during the "
        "fault by the experiment's live SLO probe falls below 0.9.",
        local_limit="Caught by the readiness SLO only. On the local stack uvicorn keeps routing "
        "to a not-ready worker, so users see no error and the request-based gate objectives "
        "pass; on Kubernetes every replica would leave the Service and the outage would be "
        "total. The readiness samples are what a Kubernetes readiness gate acts on, so a "
        "failing readiness SLO is an honest catch, not an inferred one.",
    ),
    Expectation(
        Weakness.NO_GRACEFUL_SHUTDOWN,
        ("rolling-restart",),
        ("rolling-restart-zero-errors",),
        "uvicorn's SIGHUP replaces each worker and SIGTERMs the old one; with the weakness the "
        "worker exits at once instead of draining, so its in-flight requests fail.",
        local_limit="Locally the SIGTERM comes from uvicorn's rolling restart (SIGHUP to the "
        "master), not from a kubelet: the preStop hook and grace period of a pod are not "
        "exercised (k8s/ and the kind experiments cover those).",
    ),
    Expectation(
        Weakness.TRUST_TOOLS,
        ("lying-tool", "hallucinating-llm"),
        ("no-wrong-answers",),
        "the verifier returns the LLM's claim as complete: a lying tool or a hallucinating "
        "reasoner becomes a confident wrong root cause (status 200: only wrong_ratio sees it).",
    ),
    Expectation(
        Weakness.NO_CHECKPOINT,
        ("worker-kill-mid-run",),
        ("worker-kill-no-rebilled-runs", "worker-kill-interrupted-run-cost"),
        "a run reclaimed from a SIGKILLed worker restarts from scratch: the LLM calls it had "
        "completed are made and billed again, so an interrupted run costs more than the same "
        "case uninterrupted (rebilled_runs > 0; interrupted_run_cost_amplification > 1, the "
        "real agent's is 1.0). Runs killed inside their first node cost the same either way, "
        "so the count of rebilled runs is the sharper signal; the whole-phase "
        "run_cost_amplification dilutes the interrupted runs in hundreds of others.",
    ),
    Expectation(
        Weakness.NO_RECLAIM,
        ("worker-kill-mid-run",),
        ("worker-kill-no-lost-runs",),
        "the runs a SIGKILLed worker held stay pending in the consumer group for ever: the "
        "asynchronous user's deadline passes without an answer (lost_runs > 0).",
    ),
)


def expectations_for(weaknesses: Iterable[str] | None = None) -> tuple[Expectation, ...]:
    """The table rows for ``weaknesses`` (all when None); InputError on an unknown name."""
    if not weaknesses:
        return EXPECTATIONS
    by_name = {e.weakness: e for e in EXPECTATIONS}
    unknown = [w for w in weaknesses if w not in by_name]
    if unknown:
        raise InputError(
            f"--weaknesses: unknown {', '.join(unknown)} (known: {', '.join(by_name)})"
        )
    return tuple(by_name[w] for w in weaknesses)


def union_experiments(rows: Iterable[Expectation]) -> list[str]:
    """Every experiment of ``rows``, first appearance order (what the real agent runs)."""
    out: list[str] = []
    for row in rows:
        out += [name for name in row.experiments if name not in out]
    return out
