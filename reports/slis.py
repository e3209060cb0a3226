"""``summarize(frames, params) -> Summary``: every SLI per run, experiment and phase (pure).

Definitions are in docs/slo.md. A value that cannot be computed is None and ``reasons[name]``
says why (no requests, no successful request, no journal, no samples...). A value the target
could not measure (reports.coverage: an absent metric, a figure it cannot count) is None with
the gap's text as its reason and, when the gap is declared, is listed in ``unmeasured``: the
gate's verdict on it is N/A, never a 0 that passes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import pandas as pd

from reports.catalogue import ALL, SCOPE_KINDS, SLIS, SliParams
from reports.coverage import Coverage, Gap, coverage
from reports.load import TRIAL_GROUP, RunFrames
from reports.measures import (
    counter_increases,
    recovery,
    scale_out,
    select_replicas,
    user_latency,
)
from reports.phases import ExperimentPhases, experiment_phases
from reports.runs import run_cost_amplification, run_rows, run_slis, user_requests
from reports.trials import TrialStats, trial_stats
from stampede.contract import OUTCOMES, SUCCESS_OUTCOMES, Outcome, Phase

Value = float | int | bool | None
PERCENTILE_METHOD: Final = "inverted_cdf"  # nearest rank: an observed value, never interpolated
BASELINE_EXPERIMENT = "baseline"


@dataclass
class ScopeSlis:
    """SLI values of one scope; ``reasons`` explains every None."""

    experiment: str | None
    phase: str | None
    start: float
    end: float
    values: dict[str, Value] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    breakers: dict[str, float] = field(default_factory=dict)
    trials: TrialStats | None = None
    unmeasured: dict[str, str] = field(default_factory=dict)  # SLI -> why (N/A in the gate)

    @property
    def label(self) -> str:
        return "run" if self.experiment is None else f"{self.experiment}/{self.phase}"

    def set(self, name: str, value: Value, reason: str = "") -> None:
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        self.values[name] = value
        if value is None:
            self.reasons[name] = reason or "not computable"
        else:
            self.reasons.pop(name, None)

    def not_measured(self, name: str, gap: Gap) -> None:
        """Null ``name`` for ``gap``; a computed value is kept (data says more than run.json)."""
        if self.values.get(name) is not None:
            return
        self.values[name] = None
        self.reasons[name] = gap.text
        if gap.declared:
            self.unmeasured[name] = gap.text


@dataclass(frozen=True)
class ExperimentSummary:
    """Phases of one experiment and its SLIs keyed by phase (``all`` always present)."""

    phases: ExperimentPhases
    scopes: dict[str, ScopeSlis]
    coverage: Coverage = field(default_factory=Coverage)


@dataclass(frozen=True)
class Summary:
    """All SLIs of a run."""

    params: SliParams
    run: ScopeSlis
    experiments: dict[str, ExperimentSummary]
    notes: tuple[str, ...] = ()
    coverage: Coverage = field(default_factory=Coverage)  # gaps every experiment has

    def scope(self, experiment: str | None, phase: str | None) -> ScopeSlis | None:
        if experiment is None:
            return self.run
        exp = self.experiments.get(experiment)
        return None if exp is None else exp.scopes.get(phase or ALL)


def percentile(values: Iterable[float] | pd.Series, q: float) -> float | None:
    """Nearest-rank percentile (numpy ``method="inverted_cdf"``): an observed value."""
    arr = np.asarray(pd.Series(values, dtype=float).dropna(), dtype=float)
    if not arr.size:
        return None
    return float(np.quantile(arr, q / 100.0, method=PERCENTILE_METHOD))


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if not den or num is None else num / den


def _known_sum(values: pd.Series) -> float | None:
    """The sum of the filled cells; None when every cell is empty (unknown is not 0)."""
    known = values.dropna()
    return float(known.sum()) if len(known) or not len(values) else None


def request_slis(scope: ScopeSlis, rows: pd.DataFrame, params: SliParams) -> None:
    """The SLIs computed from requests.csv rows alone (the asynchronous API's transport aside)."""
    runs = run_rows(rows)
    rows = user_requests(rows)
    n = len(rows)
    duration = scope.end - scope.start
    no_rows = "no requests in scope"
    scope.set("requests", n)
    scope.set("duration_s", duration)
    outcome = rows["outcome"]
    counts = {o: int((outcome == o).sum()) for o in OUTCOMES}
    successes = sum(counts[o] for o in SUCCESS_OUTCOMES)
    scope.set("success_ratio", _ratio(successes, n), no_rows)
    for o, c in counts.items():
        scope.set(f"{o}_ratio", _ratio(c, n), no_rows)
    seen = user_latency(rows)  # as the user saw it: from the schedule in the open model
    latency = seen.dropna()
    for q in (50, 95, 99):
        scope.set(f"latency_p{q}_ms", percentile(latency, q), "no request with a latency")
    zero = "empty phase (zero duration)"
    scope.set("throughput_rps", n / duration if duration > 0 else None, zero)
    good = int(((outcome == Outcome.CORRECT) & (seen <= params.goodput_latency_ms)).sum())
    scope.set("goodput_rps", good / duration if duration > 0 else None, zero)
    no_success = no_rows if n == 0 else "no successful request"
    for name, column, den in (
        ("tokens_per_success", "tokens", successes),
        ("cost_per_success_usd", "cost_usd", successes),
        ("retries_per_request", "retries", n),
    ):
        total = _known_sum(rows[column])
        why = f"no request in scope reports {column}" if total is None else no_success
        scope.set(name, _ratio(total, den), no_rows if n == 0 else why)
    trials = trial_stats(rows)
    scope.trials = trials
    scope.set("trials", trials.trials)
    for name in ("pass_hat_k", "pass_at_k", "consistency"):
        scope.set(name, getattr(trials, name), trials.why)
    run_slis(scope, runs, params.rebilled_factor)  # durable investigations (reports/runs.py)


def sample_slis(
    scope: ScopeSlis,
    samples: pd.DataFrame,
    retries: pd.DataFrame,
    replicas: tuple[pd.DataFrame, str],
    requests: int,
) -> None:
    """SLIs from samples.csv rows already restricted to the scope's window."""
    breaker = samples[samples["metric"] == "breaker_state"]
    scope.breakers = {str(k): float(v) for k, v in breaker.groupby("label")["value"].max().items()}
    scope.set(
        "max_breaker_state",
        float(breaker["value"].max()) if len(breaker) else None,
        "no breaker_state sample in scope",
    )
    rows, why = replicas
    scope.set(
        "max_replicas",
        float(rows["value"].max()) if len(rows) else None,
        why or "no replicas sample in scope",
    )
    if not len(retries):
        scope.set("sampled_retries_per_request", None, "no retries_total sample in scope")
    else:
        reason = "no requests in scope"
        scope.set(
            "sampled_retries_per_request",
            _ratio(float(retries["increase"].sum()), requests),
            reason,
        )


def _in_window(ts: pd.Series, start: float, end: float, last: bool) -> pd.Series:
    return (ts >= start) & ((ts <= end) if last else (ts < end))


#: Columns no scope's SLIs read once reports.load has numbered the trial groups: left out of
#: the per-experiment and per-phase selections (``trial`` is 10M strings at 10M rows).
_UNREAD = frozenset({"trial", "scheduled_ts"})


def _scope_columns(requests: pd.DataFrame) -> list[str]:
    """The columns of ``requests`` a scope's selection copies (see :data:`_UNREAD`)."""
    if TRIAL_GROUP not in requests.columns:
        return list(requests.columns)  # pass^k groups by (experiment, trial) itself
    return [c for c in requests.columns if c not in _UNREAD]


def _experiment(
    phases: ExperimentPhases,
    frames: RunFrames,
    retries: pd.DataFrame,
    replicas: tuple[pd.DataFrame, str],
    params: SliParams,
) -> ExperimentSummary:
    requests = frames.requests
    rows = requests.loc[requests["experiment"] == phases.name, _scope_columns(requests)]
    ends = rows["ts"] + rows["latency_ms"].fillna(0.0) / 1000.0
    labels = phases.phase_of(rows["ts"], ends)
    scopes: dict[str, ScopeSlis] = {}
    for phase, (start, end) in phases.windows().items():
        scope = ScopeSlis(phases.name, phase, start, end)
        chosen = rows[labels.notna()] if phase == ALL else rows[labels == phase]
        request_slis(scope, chosen, params)
        last = phase in (ALL, Phase.RECOVERY)
        samples = frames.samples[_in_window(frames.samples["ts"], start, end, last)]
        window_retries = retries[_in_window(retries["ts"], start, end, last)]
        rows_r, why_r = replicas
        window_replicas = (rows_r[_in_window(rows_r["ts"], start, end, last)], why_r)
        sample_slis(scope, samples, window_retries, window_replicas, len(chosen))
        scopes[phase] = scope
    record = frames.experiment(phases.name)
    _cost_amplification(scopes, phases)
    run_cost_amplification(scopes, phases.has_phases)  # reports/runs.py
    if phases.fault_end is not None:
        success = rows["outcome"].isin(SUCCESS_OUTCOMES)
        value, ok = recovery(rows["ts"], success, phases.fault_end, phases.end, params)
        never = (
            f"not recovered: no {params.recovery_sustain_s} consecutive seconds at success ratio "
            f">= {params.recovery_success_ratio:g} in the {phases.end - phases.fault_end:.1f} s "
            "after the fault"
        )
        for phase in (ALL, Phase.RECOVERY):
            scopes[phase].set("recovery_time_s", value, never)
            scopes[phase].set("recovered", ok)
    else:
        scopes[ALL].set("recovery_time_s", None, "no fault phase (see the experiment's notes)")
        scopes[ALL].set("recovered", None, "no fault phase (see the experiment's notes)")
    lost = record.checks.get("lost_investigations") if record else None
    lost_ok = isinstance(lost, int | float) and not isinstance(lost, bool)
    scopes[ALL].set(
        "lost_investigations",
        lost if lost_ok else None,
        "run.json has no numeric experiments[].checks.lost_investigations",
    )
    rows_r, why_r = replicas
    t0 = phases.fault_start if phases.fault_start is not None else phases.start
    in_exp = rows_r[_in_window(rows_r["ts"], phases.start, phases.end, True)]
    out_time, out_ok = scale_out(in_exp, t0, phases.end)
    why = why_r or "no replicas sample in the experiment"
    never = f"replicas never grew in the {phases.end - t0:.1f} s from the fault start"
    scopes[ALL].set("scale_out_time_s", out_time, why if out_ok is None else never)
    scopes[ALL].set("scaled_out", out_ok, why)
    return ExperimentSummary(phases, scopes)


def _cost_amplification(scopes: dict[str, ScopeSlis], phases: ExperimentPhases) -> None:
    if not phases.has_phases:
        scopes[ALL].set("cost_amplification", None, "no baseline phase (see the notes)")
        return
    base = scopes[Phase.BASELINE].values.get("cost_per_success_usd")
    for phase in Phase:
        own = scopes[phase].values.get("cost_per_success_usd")
        value, reason = _amplification(own, base, "the baseline phase")
        scopes[phase].set("cost_amplification", value, reason)
    fault = scopes[Phase.FAULT]
    scopes[ALL].set(
        "cost_amplification",
        fault.values["cost_amplification"],
        "fault phase: " + fault.reasons.get("cost_amplification", ""),
    )


def _amplification(own: Value, base: Value, what: str) -> tuple[float | None, str]:
    if base is None:
        return None, f"{what} has no successful request"
    if not base:
        return None, f"cost per success in {what} is 0"
    if own is None:
        return None, "no successful request in scope"
    return float(own) / float(base), ""


def _vs_baseline_experiment(experiments: dict[str, ExperimentSummary]) -> None:
    ref = experiments.get(BASELINE_EXPERIMENT)
    base = ref.scopes[ALL].values.get("cost_per_success_usd") if ref else None
    for exp in experiments.values():
        for phase, scope in exp.scopes.items():
            if ref is None:
                scope.set(
                    "cost_amplification_vs_baseline_experiment",
                    None,
                    f"no experiment named {BASELINE_EXPERIMENT!r} in this run",
                )
                continue
            fault = exp.scopes.get(Phase.FAULT)
            source = fault if phase == ALL and fault is not None else scope
            own = source.values.get("cost_per_success_usd")
            value, reason = _amplification(own, base, f"experiment {BASELINE_EXPERIMENT!r}")
            scope.set("cost_amplification_vs_baseline_experiment", value, reason)


def _worst(run: ScopeSlis, experiments: dict[str, ExperimentSummary]) -> None:
    """Run-scope values of experiment-level SLIs (docs/slo.md): mostly the worst experiment."""

    def values(name: str) -> list[Value]:
        return [e.scopes[ALL].values.get(name) for e in experiments.values()]

    for name in (
        "cost_amplification",
        "cost_amplification_vs_baseline_experiment",
        "scale_out_time_s",
    ):
        known = [float(v) for v in values(name) if v is not None]
        run.set(name, max(known) if known else None, "no experiment has a value")
    stuck = [n for n, e in experiments.items() if e.scopes[ALL].values.get("recovered") is False]
    recovered = [v for v in values("recovered") if v is not None]
    times = [float(v) for v in values("recovery_time_s") if v is not None]
    if stuck:
        run.set("recovery_time_s", None, f"not recovered: {', '.join(stuck)}")
    else:
        run.set("recovery_time_s", max(times) if times else None, "no experiment has a value")
    run.set("recovered", all(recovered) if recovered else None, "no experiment has a value")
    scaled = [v for v in values("scaled_out") if v is not None]
    run.set("scaled_out", any(scaled) if scaled else None, "no experiment has a value")
    lost = [e.scopes[ALL].values.get("lost_investigations") for e in experiments.values()]
    counts = [v for v in lost if v is not None]
    run.set("lost_investigations", sum(counts) if counts else None, "no experiment records it")


def _not_measured(scoped: list[tuple[ScopeSlis, Coverage]]) -> None:
    """Null every SLI of a scope whose figures its coverage lacks, saying which and why."""
    for scope, gaps in scoped:
        for name in list(scope.values):
            gap = gaps.sli_gap(name)
            if gap is not None:
                scope.not_measured(name, gap)


def summarize(frames: RunFrames, params: SliParams | None = None) -> Summary:
    """Every SLI of the run, of each experiment and of each of its phases."""
    params = params or SliParams()
    retries = counter_increases(frames.samples, "retries_total")
    replicas = select_replicas(frames.samples, params.replicas_label)
    run_gaps, gaps = coverage(frames)
    experiments: dict[str, ExperimentSummary] = {}
    for record in frames.experiments:
        phases = experiment_phases(
            record, frames.journals.get(record.name), frames.run_dir / record.journal
        )
        exp = _experiment(phases, frames, retries, replicas, params)
        experiments[record.name] = replace(exp, coverage=gaps[record.name])
    _vs_baseline_experiment(experiments)
    run = ScopeSlis(None, None, frames.started_at, frames.ended_at)
    request_slis(run, frames.requests, params)
    sample_slis(run, frames.samples, retries, replicas, len(frames.requests))
    _worst(run, experiments)
    scoped = [(run, run_gaps)]
    scoped += [(s, e.coverage) for e in experiments.values() for s in e.scopes.values()]
    _not_measured(scoped)
    for scope, _ in scoped:
        kind = scope.phase or "run"
        for name, spec in SLIS.items():
            if name not in scope.values:
                defined = ", ".join(k for k in SCOPE_KINDS if k in spec.scopes)
                scope.set(name, None, f"not defined for {kind} (defined for: {defined})")
    return Summary(params, run, experiments, frames.notes, run_gaps)
