"""Metric maps: a target's series -> the sampler's canonical metrics; absent is not zero."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from stampede.metricmap import (
    CANONICAL,
    REFERENCE,
    MetricMapError,
    load_metric_map,
    parse_metric_map,
    profile_metric_map,
)
from stampede.sampler import Sampler, ScrapeSource, parse_metrics, read_exposition

REPO = Path(__file__).resolve().parents[2]

HELPDESK_TEXT = """\
# TYPE helpdesk_breaker_open gauge
helpdesk_breaker_open{dep="kb",pid="1"} 0
helpdesk_breaker_open{dep="kb",pid="2"} 1
helpdesk_breaker_open{dep="llm",pid="1"} 0
# TYPE helpdesk_tool_retries_total counter
helpdesk_tool_retries_total{tool="lookup_service"} 3
helpdesk_tool_retries_total{tool="get_oncall"} 1
# TYPE helpdesk_inflight gauge
helpdesk_inflight{pid="1"} 2
helpdesk_inflight{pid="2"} 1
# TYPE helpdesk_requests_total counter
helpdesk_requests_total{result="ok"} 9
# TYPE agent_in_flight gauge
agent_in_flight 99
"""

HELPDESK_MAP = {
    "breaker_state": {"series": "helpdesk_breaker_open", "label": "dep", "values": {1: 2}},
    "retries_total": {"series": "helpdesk_tool_retries_total", "label": "tool"},
    "in_flight": {"series": "helpdesk_inflight"},
    "queue_depth": {"series": "helpdesk_queue_depth"},
    "requests_total": {"series": "helpdesk_requests_total", "label": "result"},
}


def _values(text: str, data: dict) -> dict[tuple[str, str], float]:
    return read_exposition(text, parse_metric_map(data)).values


def test_a_map_reads_another_agents_series_into_canonical_rows() -> None:
    """Labels become the label column, values are rewritten, other series are ignored."""
    assert _values(HELPDESK_TEXT, HELPDESK_MAP) == {
        ("breaker_state", "kb"): 2.0,  # max over pids, 1 (open) rewritten to 2
        ("breaker_state", "llm"): 0.0,
        ("retries_total", "lookup_service"): 3.0,
        ("retries_total", "get_oncall"): 1.0,
        ("in_flight", ""): 3.0,  # summed over pids
        ("requests_total", "ok"): 9.0,
    }


def test_fold_can_be_chosen() -> None:
    data = {"in_flight": {"series": "helpdesk_inflight", "fold": "max"}}
    assert _values(HELPDESK_TEXT, data) == {("in_flight", ""): 2.0}


def test_the_reference_map_is_the_default_and_ignores_other_agents() -> None:
    rows = parse_metrics(HELPDESK_TEXT, 1.0, "x")
    assert [(r.metric, r.label, r.value) for r in rows] == [("in_flight", "", 99.0)]
    assert REFERENCE.unmapped() == []
    assert REFERENCE.mappings["queue_depth"].fold == "max"  # one Redis count read by each pod
    assert REFERENCE.mappings["breaker_state"].fold == "max"


def test_absent_means_not_exposed_and_a_declared_family_is_present() -> None:
    """A series with only its TYPE line (no labelled sample yet) is present, not absent."""
    metric_map = parse_metric_map(HELPDESK_MAP)
    scrape = read_exposition(HELPDESK_TEXT + "# TYPE helpdesk_queue_depth gauge\n", metric_map)
    assert metric_map.absent(scrape.exposed) == []
    assert metric_map.absent(read_exposition(HELPDESK_TEXT, metric_map).exposed) == ["queue_depth"]


def test_the_example_profiles_metrics_section_loads() -> None:
    """examples/helpdesk/profile.yaml's `metrics:` section is a valid map."""
    metric_map = profile_metric_map(REPO / "examples" / "helpdesk" / "profile.yaml")
    assert metric_map is not None
    assert metric_map.mappings["breaker_state"].series == "helpdesk_breaker_open"
    assert metric_map.mappings["breaker_state"].value(1.0) == 2.0
    assert set(metric_map.unmapped()) == {"shed_total", "write_behind_depth"}


def test_a_profile_without_metrics_has_no_map(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nrequest: {path: /ask}\n")
    assert profile_metric_map(path) is None


BAD = [
    ({"breaker": {"series": "x"}}, "metrics.breaker: unknown metric (expected one of"),
    ({"in_flight": {"series": "x", "fold": "avg"}}, "metrics.in_flight.fold: Input should be"),
    (
        {"in_flight": {"series": "x", "labels": {"a": "b"}}},
        "metrics.in_flight.labels: unknown field",
    ),
    ({"in_flight": {"series": "not a name"}}, "metrics.in_flight.series: String should match"),
    ({"in_flight": {}}, "metrics.in_flight.series: Field required"),
    ({"in_flight": {"series": "x", "values": {"open": 2}}}, "metrics.in_flight.values.open"),
    (
        {"in_flight": {"series": "x"}, "queue_depth": {"series": "x"}},
        "metrics.queue_depth.series: 'x' is already mapped to in_flight",
    ),
    (["in_flight"], "metrics: expected a mapping"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_a_bad_map_names_the_field(data: object, message: str) -> None:
    with pytest.raises(MetricMapError) as info:
        parse_metric_map(data, "p.yaml")
    assert str(info.value).startswith("p.yaml")
    assert message in str(info.value)


def test_a_bad_map_in_a_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(
        "name: x\nmetrics:\n  in_flight:\n    series: helpdesk_inflight\n    fold: avg\n"
    )
    with pytest.raises(MetricMapError, match=r"profile\.yaml:5: metrics\.in_flight\.fold: "):
        load_metric_map(path)


def test_a_standalone_map_file_and_a_file_without_one(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("in_flight: {series: helpdesk_inflight}\n")
    assert load_metric_map(path).mappings["in_flight"].series == "helpdesk_inflight"
    path.write_text("something: else\n")
    with pytest.raises(MetricMapError, match="no metric map"):
        load_metric_map(path)


def _run(sampler: Sampler, ticks: int = 3) -> list[dict[str, str]]:
    sampler.start()
    deadline = time.monotonic() + 10
    while sampler.scrapes < ticks and time.monotonic() < deadline:
        time.sleep(0.02)
    sampler.stop()
    with sampler.path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_sampler_reports_an_unexposed_series_as_absent_and_writes_no_row(tmp_path: Path) -> None:
    """queue_depth is mapped but never exposed: absent in the stats, no queue_depth row."""
    source = ScrapeSource("agent", lambda: HELPDESK_TEXT, parse_metric_map(HELPDESK_MAP, name="hd"))
    sampler = Sampler(tmp_path / "samples.csv", "baseline", [source], None, 0.02)
    rows = _run(sampler)
    assert rows and "queue_depth" not in {r["metric"] for r in rows}
    stats = sampler.stats().as_dict()
    assert stats["absent"] == ["queue_depth"]
    assert stats["unmapped"] == ["shed_total", "write_behind_depth"]
    assert stats["sources"][0]["absent"] == ["queue_depth"]
    assert stats["sources"][0]["metric_map"] == "hd"


def test_without_a_source_every_metric_is_absent(tmp_path: Path) -> None:
    sampler = Sampler(tmp_path / "samples.csv", "baseline", [], lambda: [], 0.02)
    assert _run(sampler) == []
    stats = sampler.stats()
    assert stats.absent == CANONICAL and stats.unmapped == ()
    assert stats.failures == 0


def test_a_source_that_never_answers_has_its_metrics_absent(tmp_path: Path) -> None:
    def fetch() -> str:
        raise ConnectionError("refused")

    sampler = Sampler(tmp_path / "s.csv", "x", [ScrapeSource("agent", fetch)], None, 0.02)
    _run(sampler)
    stats = sampler.stats()
    assert stats.failures == stats.scrapes >= 3
    assert set(stats.absent) == set(REFERENCE.mappings)
    assert "refused" in (stats.last_error or "")


def test_a_second_sources_rows_are_labelled_by_source(tmp_path: Path) -> None:
    """The proxy's rows never mix with the agent's: label `proxy:<label>` (or `proxy`)."""
    agent = ScrapeSource("agent", lambda: HELPDESK_TEXT, parse_metric_map(HELPDESK_MAP))
    proxy_map = parse_metric_map(
        {
            "breaker_state": {"series": "helpdesk_breaker_open", "label": "dep"},
            "in_flight": {"series": "helpdesk_inflight"},
        }
    )
    proxy = ScrapeSource("proxy", lambda: HELPDESK_TEXT, proxy_map, label_prefix="proxy")
    rows = _run(Sampler(tmp_path / "s.csv", "x", [agent, proxy], None, 0.02), ticks=1)
    labels = {(r["metric"], r["label"]) for r in rows}
    assert {
        ("breaker_state", "kb"),
        ("breaker_state", "proxy:kb"),
        ("in_flight", "proxy"),
    } <= labels
