"""What the suite can measure on a target: its metrics sources, and what it cannot count.

A target says what it can count (:class:`~stampede.targets.base.Capabilities`); a figure it
cannot count (replicas, live workers, lost records) is recorded in run.json
(``stack.not_measured``) with the reason and left absent, never written as 0. Every
``metrics_sources()`` entry is sampled: the agent's through the run's metric map (the target
profile's ``metrics:`` section, else the reference agent's), the others through their own map,
their rows labelled ``<source>:<label>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from stampede.metricmap import PROXY, MetricMap
from stampede.sampler import ScrapeSource
from stampede.targets.base import Target

AGENT_SOURCE = "agent"
#: Maps of sources other than the agent, by source name: the fault proxy's series
#: (stampede_proxy_*) through metricmap.PROXY (calls, faults injected, delay added, active
#: faults; rows labelled ``proxy:<upstream>:<result|fault>``, ``proxy:<target>``).
SOURCE_MAPS: Mapping[str, MetricMap] = {"proxy": PROXY}
NO_MAP = MetricMap({}, name="none")


def scrape_sources(target: Target, agent_map: MetricMap) -> list[ScrapeSource]:
    """One :class:`ScrapeSource` per metrics source of ``target`` (valid after ``up``)."""
    sources = []
    for source in target.metrics_sources():
        is_agent = source.name == AGENT_SOURCE
        metric_map = agent_map if is_agent else SOURCE_MAPS.get(source.name, NO_MAP)
        sources.append(
            ScrapeSource(
                source.name,
                source.fetch,
                metric_map,
                label_prefix="" if is_agent else source.name,
                url=source.url,
            )
        )
    return sources


def not_measured(target: Target) -> dict[str, str]:
    """The figures ``target`` cannot count, each with the reason (run.json ``stack``)."""
    caps = target.capabilities
    name = target.name
    out: dict[str, str] = {}
    if not caps.counts_replicas:
        out["replicas"] = f"target {name} counts no replicas (Deployments and HPAs: kind only)"
    if not caps.counts_workers:
        out["workers_alive"] = f"target {name} does not count the agent's worker processes"
    if not caps.counts_lost_records:
        out["lost_investigations"] = (
            f"target {name} offers no look-up of stored answers to read records back"
        )
    if not any(source.name == AGENT_SOURCE for source in target.metrics_sources()):
        out["metrics"] = f"target {name} has no agent metrics source (e.g. no --metrics-url)"
    return out


def why_not_primed(target: Target) -> str:
    """Why the suite does not prime ``target`` (one phrase for the progress line)."""
    if not target.capabilities.starts_agent:
        return (
            "Stampede did not start this agent; priming would need the target profile's "
            "request template, which only Locust fills"
        )
    return "it offers no probe requests"
