"""Property: every loader, given any text, returns or raises its InputError, in bounded time.

One test per loader (SLO file, case files, declarative profile, metric map, proxy config, kind
config, run directory). Each example must finish within the settings' deadline (3 s, against
the ~milliseconds a loader takes); anything but the loader's InputError fails the property.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from loadtests.declarative.model import parse_profile
from reports.slo import parse_slo
from stampede.cases.files import parse_cases
from stampede.errors import InputError
from stampede.kind.cluster import load_kind_config
from stampede.metricmap import load_metric_map
from stampede.proxy.config import load_config
from stampede.yamlinput import load_json, load_yaml
from tests.inputs.strategies import BOUNDED, hostile_yaml, json_values, mutated, soup

REPO = Path(__file__).resolve().parents[2]
SLO = (REPO / "slo.yaml").read_text()
CASES_YAML = (REPO / "tests" / "fakes" / "rated_cases.yaml").read_text()
PROFILE = (REPO / "examples" / "helpdesk" / "profile.yaml").read_text()
KIND = (REPO / "k8s" / "kind-cluster.yaml").read_text()
PROXY = "listen: 127.0.0.1:8200\nupstreams:\n  llm: http://127.0.0.1:8100/v1\nseed: 0\n"
METRICS = "metrics:\n  in_flight: {series: x_inflight}\n  breaker_state: {series: b, label: dep}\n"


def _accepts_or_refuses(load: object, *args: object) -> None:
    """``load(*args)`` returns, or raises an InputError with a one-line message."""
    try:
        load(*args)  # type: ignore[operator]
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)


def _in_file(text: str, suffix: str, load: object) -> None:
    with tempfile.TemporaryDirectory(prefix="pt-I-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _accepts_or_refuses(load, path)


@BOUNDED
@given(hostile_yaml(SLO))
def test_the_slo_loader_refuses_or_accepts_any_text(text: str) -> None:
    _accepts_or_refuses(parse_slo, text, "slo.yaml")


@BOUNDED
@given(hostile_yaml(CASES_YAML))
def test_the_yaml_case_loader_refuses_or_accepts_any_text(text: str) -> None:
    _accepts_or_refuses(parse_cases, text, "cases.yaml", "yaml")


_JSONL = '{"id": "a", "input": {"q": 1}, "expect": {"label": "x"}}\n'


@BOUNDED
@given(
    st.one_of(
        soup,
        mutated(_JSONL),
        st.integers(0, 20_000).map(lambda n: "[" * n + "]" * n),
        st.lists(json_values.map(repr), max_size=4).map("\n".join),
    )
)
def test_the_jsonl_case_loader_refuses_or_accepts_any_text(text: str) -> None:
    _accepts_or_refuses(parse_cases, text, "cases.jsonl", "jsonl")


@BOUNDED
@given(hostile_yaml(PROFILE))
def test_the_declarative_profile_loader_refuses_or_accepts_any_text(text: str) -> None:
    _accepts_or_refuses(parse_profile, text, "profile.yaml")


@BOUNDED
@given(hostile_yaml(METRICS, PROFILE))
def test_the_metric_map_loader_refuses_or_accepts_any_text(text: str) -> None:
    _in_file(text, ".yaml", load_metric_map)


@BOUNDED
@given(hostile_yaml(PROXY))
def test_the_proxy_config_loader_refuses_or_accepts_any_text(text: str) -> None:
    _in_file(text, ".yaml", lambda path: load_config(path, {}))


@BOUNDED
@given(hostile_yaml(KIND))
def test_the_kind_config_loader_refuses_or_accepts_any_text(text: str) -> None:
    _in_file(text, ".yaml", load_kind_config)


@BOUNDED
@given(hostile_yaml())
def test_load_yaml_gives_data_or_input_error(text: str) -> None:
    _accepts_or_refuses(load_yaml, text, "x.yaml")


@BOUNDED
@given(st.one_of(soup, st.integers(0, 50_000).map(lambda n: '{"a":' * n + "1" + "}" * n)))
def test_load_json_gives_data_or_input_error(text: str) -> None:
    _accepts_or_refuses(load_json, text, "x.json")
