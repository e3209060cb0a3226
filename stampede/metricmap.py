"""Metric maps: which of a target's Prometheus series mean the sampler's canonical metrics.

``samples.csv`` speaks a fixed vocabulary (:data:`CANONICAL`: ``breaker_state``,
``retries_total``, ``in_flight``, ``queue_depth``, ``shed_total``, ``requests_total``,
``write_behind_depth``), which the report's timeline reads. A target says which of its series
mean which, as data (a declarative profile's ``metrics:`` section, or a YAML file of its own)::

    metrics:
      breaker_state: {series: helpdesk_breaker_open, label: dep, values: {1: 2}}
      retries_total: {series: helpdesk_tool_retries_total, label: tool}
      in_flight: {series: helpdesk_inflight}
      queue_depth: {series: helpdesk_queue_depth}

* ``series``: the sample name as exposed (counters with ``_total``);
* ``label``: the Prometheus label whose value becomes ``samples.csv``'s ``label`` column
  (none: one row per scrape);
* ``fold``: how series that differ only in other labels (``pid``, ``instance``) are combined:
  ``max`` for ``breaker_state``, ``sum`` otherwise, unless given;
* ``values``: rewrites raw values to the canonical scale (``breaker_state`` is 0 closed,
  1 half-open, 2 open; helpdesk's ``1`` = open becomes ``2``).

:data:`REFERENCE` is the reference agent's map (the sampler's default). A mapped series a target
never exposes is reported *absent*, never as zero; a canonical metric the map does not name is
*unmapped* (:meth:`MetricMap.unmapped`). Errors are :class:`MetricMapError` (an InputError) naming
the field: ``profile.yaml:41: metrics.breaker_state.fold: Input should be 'max', 'sum' or 'min'``.

**The fault proxy** (``stampede proxy``, stampede/proxy/metrics.py) has a vocabulary of its own,
:data:`PROXY_CANONICAL`, read through :data:`PROXY` (what was injected when):

* ``proxy_calls_total``, label ``proxy:<upstream>:<result>``: ``stampede_proxy_calls_total``;
* ``faults_injected_total``, label ``proxy:<upstream>:<fault>``:
  ``stampede_proxy_faults_injected_total`` (calls a fault changed, by kind);
* ``added_delay_seconds_total``, label ``proxy:<upstream>``:
  ``stampede_proxy_added_delay_seconds_sum`` (the histogram's sum: seconds of delay added);
* ``fault_active``, label ``proxy:<target>``: ``stampede_proxy_fault_active`` (1 while set).

**The label column, one scheme for every source**: the values of the mapped Prometheus labels,
in the map's order, joined by ``:``; a source other than the agent prefixes its name
(``<source>:<label>``, or ``<source>`` alone when the metric has no label). The agent's rows
carry no prefix. Upstream and target names may contain ``:`` themselves (``tool:get_logs``);
the proxy's result and fault kinds never do, so a ``faults_injected_total`` label reads back as
``source, rest = label.split(":", 1)``; ``upstream, fault = rest.rsplit(":", 1)``
(``proxy:tool:get_logs:latency`` -> ``proxy``, ``tool:get_logs``, ``latency``). Counters are
cumulative (a row per series per scrape, zeros included, so the first increase is seen);
``fault_active`` is 1 while a fault is set on the target, else 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stampede.errors import InputError
from stampede.yamlinput import MAX_CONFIG_CHARS, child, describe, load_yaml, read_text

__all__ = [
    "CANONICAL",
    "PROXY",
    "PROXY_CANONICAL",
    "REFERENCE",
    "MetricMap",
    "MetricMapError",
    "MetricMapping",
    "load_metric_map",
    "parse_metric_map",
    "profile_metric_map",
    "section_metric_map",
]

#: The samples.csv metrics a map may fill (the sampler's and the report's names).
CANONICAL: tuple[str, ...] = (
    "breaker_state",
    "retries_total",
    "in_flight",
    "queue_depth",
    "shed_total",
    "requests_total",
    "write_behind_depth",
)

#: The fault proxy's samples.csv metrics (read through :data:`PROXY`; see the module docstring).
PROXY_CANONICAL: tuple[str, ...] = (
    "proxy_calls_total",
    "faults_injected_total",
    "added_delay_seconds_total",
    "fault_active",
)
#: Joins the values of a mapping's labels, and a source's name to them, in samples.csv.
LABEL_SEPARATOR = ":"

Fold = Literal["max", "sum", "min"]


class MetricMapError(InputError):
    """A metric map that does not validate; the message names the file, line and field."""


class _Entry(BaseModel):
    """One entry of a ``metrics:`` section, as written."""

    model_config = ConfigDict(extra="forbid")
    series: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    label: str | None = Field(None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    fold: Fold | None = None
    values: dict[float, float] = {}


class _Section(BaseModel):
    """A whole ``metrics:`` section: canonical metric -> entry."""

    model_config = ConfigDict(extra="forbid")
    breaker_state: _Entry | None = None
    retries_total: _Entry | None = None
    in_flight: _Entry | None = None
    queue_depth: _Entry | None = None
    shed_total: _Entry | None = None
    requests_total: _Entry | None = None
    write_behind_depth: _Entry | None = None


@dataclass(frozen=True)
class MetricMapping:
    """One mapped series: ``series`` (Prometheus) -> ``metric`` (samples.csv)."""

    metric: str
    series: str
    label: str | tuple[str, ...] | None = None  # a tuple: the values joined by ":", in order
    fold: Fold = "sum"
    values: Mapping[float, float] = field(default_factory=dict)

    def label_names(self) -> tuple[str, ...]:
        """The Prometheus labels whose values make the label column (none: one row)."""
        if self.label is None:
            return ()
        return (self.label,) if isinstance(self.label, str) else self.label

    def label_of(self, labels: Mapping[str, str]) -> str:
        """The label column of one sample: its mapped label values joined by ``:``."""
        return LABEL_SEPARATOR.join(labels.get(name, "") for name in self.label_names())

    def value(self, raw: float) -> float:
        """The samples.csv value of one raw sample value."""
        return self.values.get(raw, raw)

    def combine(self, raws: Iterable[float]) -> float:
        """Fold the (rewritten) values of series that share the mapped label value."""
        values = [self.value(v) for v in raws]
        if self.fold == "max":
            return max(values)
        if self.fold == "min":
            return min(values)
        return sum(values)

    def as_dict(self) -> dict[str, Any]:
        """The entry as a ``metrics:`` section writes it (run.json records the map used)."""
        out: dict[str, Any] = {"series": self.series, "fold": self.fold}
        if self.label:
            out["label"] = self.label if isinstance(self.label, str) else list(self.label)
        if self.values:
            out["values"] = {f"{k:g}": v for k, v in self.values.items()}
        return out


@dataclass(frozen=True)
class MetricMap:
    """A target's mappings, by canonical metric; ``name`` says where it came from."""

    mappings: Mapping[str, MetricMapping] = field(default_factory=dict)
    name: str = "custom"

    def by_series(self) -> dict[str, MetricMapping]:
        """The mappings keyed by Prometheus sample name (what a scrape is matched against)."""
        return {m.series: m for m in self.mappings.values()}

    def absent(self, exposed: Iterable[str]) -> list[str]:
        """The mapped canonical metrics whose series is not among the ``exposed`` names."""
        names = set(exposed)
        return sorted(m.metric for m in self.mappings.values() if m.series not in names)

    def unmapped(self) -> list[str]:
        """The canonical metrics this map does not name (never measured for this target)."""
        return [metric for metric in CANONICAL if metric not in self.mappings]

    def as_dict(self) -> dict[str, Any]:
        """``{"name": ..., "metrics": {canonical: entry}}`` for run.json."""
        return {
            "name": self.name,
            "metrics": {metric: m.as_dict() for metric, m in sorted(self.mappings.items())},
        }


def _default_fold(metric: str) -> Fold:
    return "max" if metric == "breaker_state" else "sum"


#: The reference agent's series (target_agent/agent/metrics.py): the sampler's default map.
REFERENCE = MetricMap(
    {
        "breaker_state": MetricMapping("breaker_state", "agent_breaker_state", "dependency", "max"),
        "retries_total": MetricMapping("retries_total", "agent_retries_total", "dependency"),
        "in_flight": MetricMapping("in_flight", "agent_in_flight"),
        "shed_total": MetricMapping("shed_total", "agent_shed_total"),
        "write_behind_depth": MetricMapping("write_behind_depth", "agent_write_behind_depth"),
        "requests_total": MetricMapping("requests_total", "agent_requests_total", "outcome"),
        # Every process (every pod on kind) reads the same Redis count: folded by max, not sum.
        "queue_depth": MetricMapping("queue_depth", "agent_jobs_open", fold="max"),
    },
    name="reference",
)

#: The fault proxy's series (stampede/proxy/metrics.py): what was injected when.
PROXY = MetricMap(
    {
        "proxy_calls_total": MetricMapping(
            "proxy_calls_total", "stampede_proxy_calls_total", ("upstream", "result")
        ),
        "faults_injected_total": MetricMapping(
            "faults_injected_total", "stampede_proxy_faults_injected_total", ("upstream", "fault")
        ),
        "added_delay_seconds_total": MetricMapping(
            "added_delay_seconds_total", "stampede_proxy_added_delay_seconds_sum", "upstream"
        ),
        "fault_active": MetricMapping(
            "fault_active", "stampede_proxy_fault_active", "target", "max"
        ),
    },
    name="proxy",
)


def parse_metric_map(
    data: Any, where: str = "metrics", node: yaml.Node | None = None, name: str = "custom"
) -> MetricMap:
    """Validate a ``metrics:`` section (a mapping) into a MetricMap.

    ``where`` prefixes every message (``profile.yaml``); ``node`` is the section's YAML node,
    for line numbers. Raises MetricMapError naming the field; two metrics on one series too.
    """
    if not isinstance(data, Mapping):
        raise MetricMapError(f"{where}: metrics: expected a mapping of metric -> entry, got "
                             f"{type(data).__name__}")  # fmt: skip
    try:
        section = _Section.model_validate(dict(data))
    except ValidationError as exc:
        message = describe(exc, where, node, prefix="metrics.", unknown=_unknown)
        raise MetricMapError(message) from exc
    mappings = {
        metric: MetricMapping(
            metric, entry.series, entry.label, entry.fold or _default_fold(metric), entry.values
        )
        for metric in CANONICAL
        if (entry := getattr(section, metric)) is not None
    }
    by_series: dict[str, str] = {}
    for metric, mapping in mappings.items():
        if mapping.series in by_series:
            raise MetricMapError(
                f"{where}: metrics.{metric}.series: {mapping.series!r} is already mapped to "
                f"{by_series[mapping.series]} (one series means one metric)"
            )
        by_series[mapping.series] = metric
    return MetricMap(mappings, name=name)


def section_metric_map(data: Mapping[str, Any], root: yaml.Node | None, name: str) -> MetricMap:
    """The ``metrics:`` section of the YAML document ``data`` (node ``root``) of file ``name``.

    The map is named ``name``; MetricMapError names the file, line and field (KeyError when
    ``data`` has no ``metrics`` key).
    """
    return parse_metric_map(data["metrics"], name, child(root, "metrics"), name=name)


def load_metric_map(path: Path) -> MetricMap:
    """The map in a YAML file: its ``metrics:`` section (a declarative profile) or the whole file.

    Raises MetricMapError naming the file, line and field; a file without a map too.
    """
    data, root = _read(path)
    if isinstance(data, Mapping) and "metrics" in data:
        return section_metric_map(data, root, str(path))
    if isinstance(data, Mapping) and data and set(data) <= set(CANONICAL):
        return parse_metric_map(data, str(path), root, name=str(path))
    raise MetricMapError(
        f"{path}: no metric map: expected a 'metrics:' section or a mapping of "
        f"{', '.join(CANONICAL)}"
    )


def profile_metric_map(path: Path) -> MetricMap | None:
    """A declarative profile's ``metrics:`` section, or None when it has none."""
    data, root = _read(path)
    if not isinstance(data, Mapping) or data.get("metrics") is None:
        return None
    return section_metric_map(data, root, str(path))


def _read(path: Path) -> tuple[Any, yaml.Node | None]:
    text = read_text(path, MetricMapError, limit=MAX_CONFIG_CHARS)
    return load_yaml(text, str(path), MetricMapError)


def _unknown(loc: Sequence[str]) -> str:
    if len(loc) == 1:
        return f"unknown metric (expected one of {', '.join(CANONICAL)})"
    return "unknown field (expected series, label, fold, values)"
