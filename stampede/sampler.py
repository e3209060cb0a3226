"""Sample the agent's resilience state ~1/s into ``samples.csv`` while an experiment runs.

``parse_metrics`` turns one Prometheus text exposition into long-format rows
(``ts,experiment,metric,label,value``, docs/contracts.md "Run directory"); ``Sampler`` is the
background thread that scrapes, parses and appends. Where a metric comes in several series that
differ only by a ``pid`` label (prometheus_client multiprocess mode ``all``), they are folded:
breaker states by max, everything else by sum, so rows are per dependency / outcome.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from stampede.contract import SAMPLE_COLUMNS
from stampede.rundir import SamplerStats


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
class _Mapping:
    metric: str  # name in samples.csv
    label: str | None  # Prometheus label that becomes the `label` column
    fold: Callable[[Iterable[float]], float]


# Prometheus sample name (as exposed, counters with `_total`) -> samples.csv metric.
METRICS: dict[str, _Mapping] = {
    "agent_breaker_state": _Mapping("breaker_state", "dependency", max),
    "agent_retries_total": _Mapping("retries_total", "dependency", sum),
    "agent_in_flight": _Mapping("in_flight", None, sum),
    "agent_shed_total": _Mapping("shed_total", None, sum),
    "agent_write_behind_depth": _Mapping("write_behind_depth", None, sum),
    "agent_requests_total": _Mapping("requests_total", "outcome", sum),
}


def parse_metrics(text: str, ts: float, experiment: str) -> list[SampleRow]:
    """Rows for every contract metric found in ``text``; unknown metrics are ignored.

    Raises ValueError when ``text`` is not Prometheus text exposition.
    """
    grouped: dict[tuple[str, str], list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            mapping = METRICS.get(sample.name)
            if mapping is None:
                continue
            label = sample.labels.get(mapping.label, "") if mapping.label else ""
            grouped.setdefault((sample.name, label), []).append(float(sample.value))
    rows = []
    for (name, label), values in sorted(grouped.items()):
        mapping = METRICS[name]
        rows.append(SampleRow(ts, experiment, mapping.metric, label, mapping.fold(values)))
    return rows


Extra = Callable[[], Iterable[tuple[str, str, float]]]


class Sampler:
    """Scrape ``fetch()`` every ``interval_s`` and append rows to ``path`` until ``stop()``.

    ``fetch`` returns the Prometheus text (raising on failure); ``extra`` returns
    ``(metric, label, value)`` triples the target knows itself (``workers_alive``, ``replicas``).
    A failed scrape is counted, never fatal: during a replica kill /metrics may not answer.
    """

    def __init__(
        self,
        path: Path,
        experiment: str,
        fetch: Callable[[], str],
        extra: Extra | None = None,
        interval_s: float = 1.0,
    ) -> None:
        self.path = path
        self.experiment = experiment
        self._fetch = fetch
        self._extra = extra
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"sampler-{experiment}", daemon=True
        )
        self.scrapes = 0
        self.failures = 0
        self.rows = 0
        self.last_error = ""

    def start(self) -> Sampler:
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            with self.path.open("a", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerow(SAMPLE_COLUMNS)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def stats(self) -> SamplerStats:
        """What this sampler did (run.json ``experiments[].sampler``)."""
        return SamplerStats(self.scrapes, self.failures, self.rows, self.last_error or None)

    def sample_once(self) -> list[SampleRow]:
        """One scrape: rows from /metrics (if it answered) plus the target's own rows."""
        ts = time.time()
        rows: list[SampleRow] = []
        self.scrapes += 1
        try:
            rows.extend(parse_metrics(self._fetch(), ts, self.experiment))
        except Exception as exc:  # any scrape failure is data, not a crash
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        if self._extra is not None:
            try:
                rows.extend(
                    SampleRow(ts, self.experiment, metric, label, float(value))
                    for metric, label, value in self._extra()
                )
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        return rows

    def _loop(self) -> None:
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            while not self._stop.is_set():
                started = time.monotonic()
                rows = self.sample_once()
                writer.writerows(row.cells() for row in rows)
                handle.flush()
                self.rows += len(rows)
                self._stop.wait(max(0.0, self._interval_s - (time.monotonic() - started)))
