"""Sample the target's resilience state ~1/s into ``samples.csv`` while an experiment runs.

``parse_metrics`` turns one Prometheus text exposition into long-format rows
(``ts,experiment,metric,label,value``, docs/contracts.md "Run directory") through a
:class:`~stampede.metricmap.MetricMap` (the reference agent's by default); ``Sampler`` is the
background thread that scrapes every source (the agent's ``/metrics``, a proxy's...), parses and
appends. Series that differ only in labels the map does not keep (``pid`` in prometheus_client
multiprocess mode ``all``) are folded as the map says: breaker states and the reference agent's
``queue_depth`` (one Redis count, read by every process) by max, everything else by sum.

A mapped series that no scrape of the experiment exposed is *absent* (run.json
``experiments[].sampler.absent``; no rows), never a zero; a canonical metric the map does not name
is *unmapped*. A target with no metrics source at all has every canonical metric absent.
The label column's scheme (``<source>:<label>``, several labels joined by ``:``) is
:mod:`stampede.metricmap`'s; the fault proxy's rows are read through ``metricmap.PROXY``.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from stampede.contract import SAMPLE_COLUMNS
from stampede.metricmap import CANONICAL, LABEL_SEPARATOR, REFERENCE, MetricMap
from stampede.rundir import SamplerStats, SourceStats
from stampede.rundir.safe import open_stream


@dataclass(frozen=True)
class SampleRow:
    """One row of samples.csv."""

    ts: float
    experiment: str
    metric: str
    label: str
    value: float

    def cells(self) -> list[str]:
        return [f"{self.ts:.3f}", self.experiment, self.metric, self.label, f"{self.value:g}"]


@dataclass(frozen=True)
class Scrape:
    """One exposition read through a map: folded values and every name it exposed."""

    values: dict[tuple[str, str], float]  # (canonical metric, label) -> value
    exposed: frozenset[str]  # sample names and family names (counters also with `_total`)


def read_exposition(text: str, metric_map: MetricMap = REFERENCE) -> Scrape:
    """Fold the series of ``text`` that ``metric_map`` names; ValueError if not Prometheus text."""
    by_series = metric_map.by_series()
    grouped: dict[tuple[str, str], list[float]] = {}
    exposed: set[str] = set()
    for family in text_string_to_metric_families(text):
        exposed.add(family.name)
        if family.type == "counter":
            exposed.add(f"{family.name}_total")
        for sample in family.samples:
            exposed.add(sample.name)
            mapping = by_series.get(sample.name)
            if mapping is None:
                continue
            label = mapping.label_of(sample.labels)
            grouped.setdefault((sample.name, label), []).append(float(sample.value))
    values = {
        (by_series[name].metric, label): by_series[name].combine(raws)
        for (name, label), raws in sorted(grouped.items())
    }
    return Scrape(values, frozenset(exposed))


def parse_metrics(
    text: str,
    ts: float,
    experiment: str,
    metric_map: MetricMap = REFERENCE,
    label_prefix: str = "",
) -> list[SampleRow]:
    """Rows for every mapped metric found in ``text``; unmapped series are ignored.

    ``label_prefix`` tells a second source's rows apart (``proxy:`` + label). Raises ValueError
    when ``text`` is not Prometheus text exposition.
    """
    scrape = read_exposition(text, metric_map)
    return [
        SampleRow(ts, experiment, metric, _prefixed(label_prefix, label), value)
        for (metric, label), value in scrape.values.items()
    ]


def _prefixed(prefix: str, label: str) -> str:
    """``<source>:<label>`` (metricmap's scheme), ``<source>`` alone for an unlabelled metric."""
    if not prefix:
        return label
    return f"{prefix}{LABEL_SEPARATOR}{label}" if label else prefix


@dataclass
class ScrapeSource:
    """One endpoint the sampler scrapes, with the map that reads it.

    ``label_prefix``: empty for the agent (its rows keep their labels); a source's name for the
    others, so a proxy's ``breaker_state`` row is labelled ``proxy:llm``, never mixed with the
    agent's.
    """

    name: str
    fetch: Callable[[], str]
    metric_map: MetricMap = REFERENCE
    label_prefix: str = ""
    url: str | None = None
    scrapes: int = 0
    failures: int = 0
    last_error: str = ""
    exposed: set[str] = field(default_factory=set)

    def seen(self) -> set[str]:
        """The mapped canonical metrics whose series some scrape of this source exposed."""
        return set(self.metric_map.mappings) - set(self.metric_map.absent(self.exposed))

    def stats(self) -> SourceStats:
        """What was scraped from this source (run.json ``experiments[].sampler.sources``)."""
        return SourceStats(
            self.name,
            self.url,
            self.metric_map.name,
            self.scrapes,
            self.failures,
            self.last_error or None,
            tuple(self.metric_map.absent(self.exposed)),
        )


Extra = Callable[[], Iterable[tuple[str, str, float]]]


class Sampler:
    """Scrape every source every ``interval_s`` and append rows to ``path`` until ``stop()``.

    Each source's ``fetch`` returns Prometheus text (raising on failure); ``extra`` returns
    ``(metric, label, value)`` triples the target knows itself (``workers_alive``, ``replicas``).
    A failed scrape is counted, never fatal: during a replica kill /metrics may not answer.
    """

    def __init__(
        self,
        path: Path,
        experiment: str,
        sources: Sequence[ScrapeSource],
        extra: Extra | None = None,
        interval_s: float = 1.0,
    ) -> None:
        self.path = path
        self.experiment = experiment
        self.sources = list(sources)
        self._extra = extra
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"sampler-{experiment}", daemon=True
        )
        self.scrapes = 0
        self.rows = 0
        self.last_error = ""

    @property
    def failures(self) -> int:
        """Failed scrapes over every source."""
        return sum(source.failures for source in self.sources)

    def start(self) -> Sampler:
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            with open_stream(self.path, "a", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerow(SAMPLE_COLUMNS)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def absent(self) -> list[str]:
        """Canonical metrics with no row from any source: mapped but never exposed (or no
        source at all). A metric one source exposes is not absent because another lacks it."""
        if not self.sources:
            return list(CANONICAL)
        mapped = {m for s in self.sources for m in s.metric_map.mappings}
        seen = {m for s in self.sources for m in s.seen()}
        return sorted(mapped - seen)

    def unmapped(self) -> list[str]:
        """Canonical metrics no source's map names (empty when there is no source: all absent)."""
        if not self.sources:
            return []
        mapped = {m for s in self.sources for m in s.metric_map.mappings}
        return [metric for metric in CANONICAL if metric not in mapped]

    def stats(self) -> SamplerStats:
        """What this sampler did (run.json ``experiments[].sampler``)."""
        return SamplerStats(
            self.scrapes,
            self.failures,
            self.rows,
            self.last_error or None,
            absent=tuple(self.absent()),
            unmapped=tuple(self.unmapped()),
            sources=tuple(source.stats() for source in self.sources),
        )

    def sample_once(self) -> list[SampleRow]:
        """One tick: rows from every source that answered, plus the target's own rows."""
        ts = time.time()
        rows: list[SampleRow] = []
        self.scrapes += 1
        for source in self.sources:
            rows.extend(self._scrape(source, ts))
        if self._extra is not None:
            try:
                rows.extend(
                    SampleRow(ts, self.experiment, metric, label, float(value))
                    for metric, label, value in self._extra()
                )
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        return rows

    def _scrape(self, source: ScrapeSource, ts: float) -> list[SampleRow]:
        source.scrapes += 1
        try:
            scrape = read_exposition(source.fetch(), source.metric_map)
        except Exception as exc:  # any scrape failure is data, not a crash
            source.failures += 1
            source.last_error = self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return []
        source.exposed |= scrape.exposed
        return [
            SampleRow(ts, self.experiment, metric, _prefixed(source.label_prefix, label), value)
            for (metric, label), value in scrape.values.items()
        ]

    def _loop(self) -> None:
        with open_stream(self.path, "a", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            while not self._stop.is_set():
                started = time.monotonic()
                rows = self.sample_once()
                writer.writerows(row.cells() for row in rows)
                handle.flush()
                self.rows += len(rows)
                self._stop.wait(max(0.0, self._interval_s - (time.monotonic() - started)))
