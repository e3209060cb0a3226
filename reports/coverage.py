"""What each experiment could not measure: absent metrics, figures the target cannot count (pure).

A run says so in run.json: ``experiments[].sampler.absent`` (mapped series no scrape exposed),
``sampler.unmapped`` (canonical metrics no source's map names), ``sampler.sources[]`` (who was
scraped, how often it failed), ``stack.not_measured`` (figures the target cannot count:
``replicas``, ``workers_alive``, ``lost_investigations``, ``metrics``, each with the reason),
``config.metric_map`` (the series each metric was read from) and ``experiments[].checks.method``
(why the lost-investigation probe sent nothing). requests.csv says it too: a column no row fills
(a target whose replies carry no ``retries``) was not measured.

Each gap is a :class:`Gap`. The report draws its text instead of an empty chart; an SLI that
depends on it (:data:`SLI_FIGURES`) is null with the gap as its reason, never 0, and an objective
over it is ``N/A`` when the gap is *declared* (the target cannot count it, the map names no
series, the target never exposed the series). A metric absent because no scrape of its source
ever answered is not declared: it should have been there, so the value is missing (``FAIL`` under
``missing: fail``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reports.errors import obj
from reports.load import ExperimentRecord, RunFrames
from stampede.metricmap import PROXY, MetricMap

__all__ = [
    "ABSENT",
    "NOT_MEASURED",
    "REQUEST_FIGURES",
    "SLI_FIGURES",
    "Coverage",
    "Gap",
    "coverage",
]

ABSENT, NOT_MEASURED = "absent", "not measured"
AGENT_SOURCE = "agent"
#: The series of a source other than the agent, by its map's name (run.json ``metric_map``).
_SOURCE_MAPS: Mapping[str, MetricMap] = {PROXY.name: PROXY}

#: requests.csv columns a target's replies may not carry (then the figure is not measured).
REQUEST_FIGURES = ("retries", "tokens", "cost_usd")

#: The figures (samples.csv metrics, run.json counts, requests.csv columns) each SLI needs.
SLI_FIGURES: Mapping[str, tuple[str, ...]] = {
    "max_breaker_state": ("breaker_state",),
    "sampled_retries_per_request": ("retries_total",),
    "max_replicas": ("replicas",),
    "scale_out_time_s": ("replicas",),
    "scaled_out": ("replicas",),
    "lost_investigations": ("lost_investigations",),
    "retries_per_request": ("retries",),
    "tokens_per_success": ("tokens",),
    "cost_per_success_usd": ("cost_usd",),
    "cost_amplification": ("cost_usd",),
    "cost_amplification_vs_baseline_experiment": ("cost_usd",),
}


@dataclass(frozen=True)
class Gap:
    """One figure an experiment has no value of, and why.

    ``declared``: the run says it cannot be measured (objectives over it are N/A); False when it
    should have been there (its source never answered a scrape): a missing value.
    """

    figure: str
    kind: str  # ABSENT or NOT_MEASURED
    reason: str
    declared: bool = True

    @property
    def text(self) -> str:
        """``absent: breaker_state (the target exposes no helpdesk_breaker_open)`` or
        ``not measured: target url counts no replicas (...)``."""
        if self.kind == ABSENT:
            return f"absent: {self.figure} ({self.reason})"
        return f"not measured: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The gap as summary.json writes it."""
        return {"kind": self.kind, "reason": self.reason, "declared": self.declared}


@dataclass(frozen=True)
class Coverage:
    """The gaps of one experiment (or of the whole run), by figure."""

    gaps: Mapping[str, Gap] = field(default_factory=dict)

    def gap(self, figure: str) -> Gap | None:
        """The gap of ``figure`` (a samples.csv metric, a run.json count...), None if measured."""
        return self.gaps.get(figure)

    def sli_gap(self, sli: str) -> Gap | None:
        """The first gap among the figures ``sli`` is computed from (None: all measured)."""
        return next((g for f in SLI_FIGURES.get(sli, ()) if (g := self.gaps.get(f))), None)

    def as_dict(self) -> dict[str, Any]:
        """``{figure: {"kind", "reason", "declared", "text"}}`` for summary.json."""
        return {f: {**g.as_dict(), "text": g.text} for f, g in sorted(self.gaps.items())}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _metric_series(run: Mapping[str, Any]) -> dict[str, str]:
    """canonical metric -> the agent's series it was read from (run.json ``config.metric_map``)."""
    metrics = obj(obj(obj(run.get("config")).get("metric_map")).get("metrics"))
    return {
        m: str(e["series"]) for m, e in metrics.items() if isinstance(e, dict) and e.get("series")
    }


def _absent_gap(metric: str, sources: list[dict[str, Any]], series: Mapping[str, str]) -> Gap:
    """Why ``metric`` has no row: never exposed (declared) or its source never answered."""
    lacking = [s for s in sources if metric in _strings(s.get("absent"))] or sources
    if not lacking:
        return Gap(metric, ABSENT, "no metrics source was scraped")
    dead = [s for s in lacking if _never_answered(s)]
    if dead and len(dead) == len(lacking):
        first = dead[0]
        error = first.get("last_error") or "no error recorded"
        why = f"no scrape of {first.get('name', '?')} answered; last error: {error}"
        return Gap(metric, ABSENT, why, declared=False)
    source = lacking[0]
    name = str(source.get("name") or "?")
    who = "the target" if name == AGENT_SOURCE else name
    if name == AGENT_SOURCE:
        named = series.get(metric)
    else:
        own = _SOURCE_MAPS.get(str(source.get("metric_map")))
        mapping = own.mappings.get(metric) if own is not None else None
        named = mapping.series if mapping is not None else None
    what = named or f"series for it (metric map {source.get('metric_map', '?')})"
    return Gap(metric, ABSENT, f"{who} exposes no {what}")


def _never_answered(source: Mapping[str, Any]) -> bool:
    scrapes, failures = source.get("scrapes"), source.get("failures")
    return isinstance(scrapes, int) and isinstance(failures, int) and 0 < scrapes <= failures


def _sampler_gaps(
    sampler: Mapping[str, Any], no_metrics: str | None, series: Mapping[str, str]
) -> dict[str, Gap]:
    gaps: dict[str, Gap] = {}
    sources = [s for s in sampler.get("sources") or [] if isinstance(s, dict)]
    for metric in _strings(sampler.get("unmapped")):
        why = no_metrics or f"the target's metric map names no series for {metric}"
        gaps[metric] = Gap(metric, NOT_MEASURED, why)
    for metric in _strings(sampler.get("absent")):
        if no_metrics:
            gaps[metric] = Gap(metric, NOT_MEASURED, no_metrics)
        else:
            gaps[metric] = _absent_gap(metric, sources, series)
    return gaps


def _lost_gap(record: ExperimentRecord) -> Gap | None:
    """The probe sent nothing and said why (run.json ``checks.method``, no ``sampled``)."""
    checks = record.checks
    method = checks.get("method")
    if checks.get("lost_investigations") is not None or "sampled" in checks:
        return None
    if not isinstance(method, str) or not method:
        return None
    why = method.removeprefix("not measured: ").removeprefix("skipped: ")
    return Gap("lost_investigations", NOT_MEASURED, why)


def request_gaps(requests: pd.DataFrame) -> dict[str, Gap]:
    """requests.csv columns no row of the run fills: the target's replies carry none."""
    if not len(requests):
        return {}
    return {
        column: Gap(
            column,
            NOT_MEASURED,
            f"requests.csv has no {column} value: the target's replies report none",
        )
        for column in REQUEST_FIGURES
        if bool(requests[column].isna().all())
    }


def experiment_coverage(
    record: ExperimentRecord, run: Mapping[str, Any], requests: Mapping[str, Gap]
) -> Coverage:
    """The gaps of one experiment: the target's, its sampler's, its probe's, requests.csv's."""
    declared = {str(k): str(v) for k, v in obj(obj(run.get("stack")).get("not_measured")).items()}
    no_metrics = declared.pop("metrics", None)
    gaps: dict[str, Gap] = dict(requests)
    gaps.update(_sampler_gaps(record.sampler, no_metrics, _metric_series(run)))
    lost = _lost_gap(record)
    if lost is not None:
        gaps[lost.figure] = lost
    gaps.update({f: Gap(f, NOT_MEASURED, why) for f, why in declared.items()})
    return Coverage(gaps)


def _common(coverages: Iterable[Coverage]) -> Coverage:
    """The gaps every experiment has (the run scope's), taken from the first."""
    items = list(coverages)
    if not items:
        return Coverage()
    first, *rest = items
    return Coverage({f: g for f, g in first.gaps.items() if all(f in c.gaps for c in rest)})


def coverage(frames: RunFrames) -> tuple[Coverage, dict[str, Coverage]]:
    """The run's gaps and each experiment's, from run.json and requests.csv."""
    requests = request_gaps(frames.requests)
    per_experiment = {
        record.name: experiment_coverage(record, frames.run, requests)
        for record in frames.experiments
    }
    if not per_experiment:
        stack = obj(obj(frames.run.get("stack")).get("not_measured"))
        declared = {str(k): Gap(str(k), NOT_MEASURED, str(v)) for k, v in stack.items()}
        return Coverage({**requests, **declared}), per_experiment
    return _common(per_experiment.values()), per_experiment
