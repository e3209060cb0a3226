"""Metric maps: which of a target's Prometheus series mean what in ``samples.csv``.

A profile's ``metrics`` section maps a ``samples.csv`` metric (the names the sampler and the
report already use: ``breaker_state``, ``retries_total``, ``in_flight``, ``queue_depth``,
``shed_total``, ``requests_total``, ``write_behind_depth``) to one of the target's series::

    metrics:
      breaker_state: {series: helpdesk_breaker_open, label: dep, values: {1: 2}}
      retries_total: {series: helpdesk_tool_retries_total, label: tool}
      in_flight: {series: helpdesk_inflight}
      queue_depth: {series: helpdesk_queue_depth}

``series`` is the sample name as exposed (counters with ``_total``); ``label`` the Prometheus
label that becomes ``samples.csv``'s ``label`` column (none: one row); ``fold`` how series that
differ only in other labels are combined (``max`` for ``breaker_state``, else ``sum``);
``values`` rewrites raw values (here helpdesk's ``1`` = open to the reference scale, where
``breaker_state`` is 0 closed, 1 half-open, 2 open). Pure data: the sampler applies it, and
reports a mapped series it never saw as absent, not as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SAMPLE_METRICS", "MetricEntry", "MetricMap", "MetricMapping"]

#: The samples.csv metrics a map may fill (the sampler's and the report's names).
SAMPLE_METRICS: tuple[str, ...] = (
    "breaker_state",
    "retries_total",
    "in_flight",
    "queue_depth",
    "shed_total",
    "requests_total",
    "write_behind_depth",
)

Fold = Literal["max", "sum", "min"]


class MetricEntry(BaseModel):
    """One entry of a profile's ``metrics`` section."""

    model_config = ConfigDict(extra="forbid")
    series: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    label: str | None = Field(None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    fold: Fold | None = None
    values: dict[float, float] = {}


@dataclass(frozen=True)
class MetricMapping:
    """One mapped series: ``series`` (Prometheus) -> ``metric`` (samples.csv)."""

    metric: str
    series: str
    label: str | None
    fold: Fold
    values: Mapping[float, float] = field(default_factory=dict)

    def value(self, raw: float) -> float:
        """The samples.csv value for a raw sample value."""
        return self.values.get(raw, raw)

    def combine(self, raws: Iterable[float]) -> float:
        """Fold the (rewritten) values of series that share the mapped label value."""
        values = [self.value(v) for v in raws]
        if self.fold == "max":
            return max(values)
        if self.fold == "min":
            return min(values)
        return sum(values)


@dataclass(frozen=True)
class MetricMap:
    """All mappings of a profile, by samples.csv metric; empty when the profile has none."""

    mappings: Mapping[str, MetricMapping] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Mapping[str, MetricEntry]) -> MetricMap:
        """Build from validated entries; raises ValueError for an unknown samples.csv metric."""
        unknown = sorted(set(entries) - set(SAMPLE_METRICS))
        if unknown:
            raise ValueError(
                f"unknown metric {unknown[0]!r}: expected one of {', '.join(SAMPLE_METRICS)}"
            )
        return cls(
            {
                metric: MetricMapping(
                    metric,
                    entry.series,
                    entry.label,
                    entry.fold or ("max" if metric == "breaker_state" else "sum"),
                    dict(entry.values),
                )
                for metric, entry in entries.items()
            }
        )

    def by_series(self) -> dict[str, MetricMapping]:
        """The mappings keyed by Prometheus sample name (what a scrape is matched against)."""
        return {m.series: m for m in self.mappings.values()}

    def absent(self, seen: Iterable[str]) -> list[str]:
        """The samples.csv metrics whose series is not among the ``seen`` sample names."""
        names = set(seen)
        return sorted(m.metric for m in self.mappings.values() if m.series not in names)
