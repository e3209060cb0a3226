"""`stampede suite` for someone else's agent: its options, validated before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stampede import profiles
from stampede.errors import InputError
from stampede.metricmap import REFERENCE
from stampede.suite import Suite, SuiteConfig
from stampede.suite.locust import locust_command
from stampede.suite.measures import not_measured, scrape_sources
from stampede.targets import MetricsSource, UrlTarget

REPO = Path(__file__).resolve().parents[2]
FAKES = REPO / "tests" / "fakes"
RATED_PROFILE = FAKES / "rated_profile.yaml"
RATED_CASES = FAKES / "rated_cases.yaml"
HELPDESK_PROFILE = REPO / "examples" / "helpdesk" / "profile.yaml"
STAMPEDE = Path(sys.executable).parent / "stampede"


def _config(tmp_path: Path, **over: object) -> SuiteConfig:
    """A url-target config that validates, with the repository's locustfile and experiments."""
    base: dict[str, object] = {
        "target": "url",
        "agent_url": "http://127.0.0.1:9",
        "slo": REPO / "slo.yaml",
        "runs_dir": tmp_path / "runs",
        "workdir": REPO,
        "state_dir": tmp_path / "state",
    }
    base.update(over)
    return SuiteConfig(**base)  # type: ignore[arg-type]


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STAMPEDE), "suite", "--slo", str(REPO / "slo.yaml"),
         "--locustfile", str(REPO / "loadtests" / "locustfile.py"),
         "--experiments-dir", str(REPO / "experiments"),
         "--runs-dir", str(tmp_path / "runs"), *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("stampede: error: ")
    return line


def test_cli_bad_case_file_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    """A case without `expect` on line 3: one line with the file, the line and the field."""
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n  - {id: a, input: {prompt: x}, expect: {label: A}}\n  - {id: b, input: {}}\n"
    )
    line = _one_error_line(_cli(tmp_path, "--target", "url", "--agent-url",
                                "http://127.0.0.1:9", "--cases", str(cases)))  # fmt: skip
    assert f"{cases}:3" in line and "expect" in line
    assert not (tmp_path / "runs").exists()


def test_cli_url_target_without_agent_url_exits_2(tmp_path: Path) -> None:
    line = _one_error_line(_cli(tmp_path, "--target", "url"))
    assert "--target url needs --agent-url URL" in line


def test_cli_bad_target_profile_exits_2_with_the_loaders_message(tmp_path: Path) -> None:
    """`--profile x.yaml` is the target profile: its error names file, line and field."""
    profile = tmp_path / "agent.yaml"
    profile.write_text("name: x\nrequest:\n  path: /ask\nresponse:\n  answer: '$..['\n")
    line = _one_error_line(_cli(tmp_path, "--target", "url", "--agent-url",
                                "http://127.0.0.1:9", "--profile", str(profile)))  # fmt: skip
    assert f"{profile}:5: response.answer: not a JSON path" in line


def test_profile_path_is_taken_as_the_target_profile(tmp_path: Path) -> None:
    suite = Suite(_config(tmp_path, profile=str(HELPDESK_PROFILE), cases=RATED_CASES, repeat=3))
    assert suite.config.profile == "smoke"
    assert suite.config.target_profile == HELPDESK_PROFILE
    assert [s.name for s in suite.specs] == ["baseline"]
    inputs = suite.plan.inputs
    assert inputs.case_count == 5
    assert inputs.metric_map.mappings["in_flight"].series == "helpdesk_inflight"
    assert isinstance(suite.target, UrlTarget)
    assert suite.target.agent_url == "http://127.0.0.1:9"
    cmd = locust_command(suite.specs[0], Path("l.py"), "http://a", Path("d"), 0,
                         inputs.locust_args())  # fmt: skip
    assert cmd[-6:] == ["--stampede-profile", str(HELPDESK_PROFILE),
                        "--stampede-cases", str(RATED_CASES), "--stampede-repeat", "3"]  # fmt: skip


def test_no_inputs_give_locust_nothing_new_and_the_reference_map(tmp_path: Path) -> None:
    suite = Suite(_config(tmp_path))
    assert suite.plan.inputs.locust_args() == ()
    assert suite.plan.inputs.metric_map.name == "reference"


def test_a_profile_without_metrics_keeps_the_reference_map(tmp_path: Path) -> None:
    suite = Suite(_config(tmp_path, target_profile=RATED_PROFILE))
    assert suite.plan.inputs.metric_map.name == "reference"
    assert suite.plan.inputs.target_profile == RATED_PROFILE


def test_run_json_config_records_the_inputs_but_never_the_token(tmp_path: Path) -> None:
    config = _config(tmp_path, fault_url="http://127.0.0.1:8", fault_token="s3cret",
                     cases=RATED_CASES, target_profile=RATED_PROFILE, repeat=2)  # fmt: skip
    recorded = config.as_dict()
    assert recorded["fault_token"] == "(given)" and "s3cret" not in repr(recorded)
    assert "s3cret" not in repr(config)
    assert recorded["cases"] == str(RATED_CASES) and recorded["repeat"] == 2
    assert recorded["target_profile"] == str(RATED_PROFILE)
    assert recorded["agent_url"] == "http://127.0.0.1:9"


BAD = [
    ({"agent_url": None}, "--target url needs --agent-url URL"),
    ({"fault_url": "http://127.0.0.1:8"}, "--fault-url needs --fault-token too"),
    ({"target": "local"}, "--agent-url: options of --target url, not --target local"),
    ({"agent_url": "http://example.com"}, "--agent-url"),
    ({"profile": "nope"}, "--profile 'nope': unknown profile for --target url (known: full, "),
    ({"profile": "missing.yaml"}, "--profile missing.yaml: no such file"),
    ({"target_profile": Path("missing.yaml")}, "--target-profile missing.yaml: file not found"),
    ({"profile": str(HELPDESK_PROFILE), "target_profile": RATED_PROFILE}, "two target profiles"),
    ({"cases": Path("missing.jsonl")}, "missing.jsonl: cannot read the case file"),
    ({"repeat": 0}, "--repeat 0: must be at least 1"),
    ({"experiments": ["replica-kill"]}, "(experiments for url: baseline"),
]


@pytest.mark.parametrize(("over", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_url_input_is_an_input_error_naming_it(
    tmp_path: Path, over: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError) as info:
        Suite(_config(tmp_path, **over))
    assert message in str(info.value)
    assert not (tmp_path / "runs").exists()


def test_a_reference_profile_the_url_target_lacks_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile of the reference targets only (here a made-up `soak`) is not an unknown one."""
    monkeypatch.setitem(profiles.PROFILES, "soak", profiles.Profile("soak", "made up", ()))
    with pytest.raises(InputError, match="--profile 'soak': no experiments for --target url yet"):
        Suite(_config(tmp_path, profile="soak"))


def test_an_empty_case_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "cases.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no cases"):
        Suite(_config(tmp_path, cases=empty))


def test_what_a_url_target_cannot_count_is_not_measured_with_a_reason() -> None:
    """Replicas, workers, lost records and (without --metrics-url) metrics: absent, not 0."""
    bare = not_measured(UrlTarget("http://127.0.0.1:9"))
    assert set(bare) == {"replicas", "workers_alive", "lost_investigations", "metrics"}
    assert "no agent metrics source" in bare["metrics"]
    probed = UrlTarget("http://127.0.0.1:9", metrics_url="http://127.0.0.1:9/metrics",
                       probe_requests=[{"q": 1}])  # fmt: skip
    assert set(not_measured(probed)) == {"replicas", "workers_alive"}
    (source,) = scrape_sources(probed, REFERENCE)
    assert (source.name, source.url, source.label_prefix) == ("agent", probed.metrics_url, "")
    assert scrape_sources(UrlTarget("http://127.0.0.1:9"), REFERENCE) == []


def test_every_metrics_source_is_sampled_the_proxys_rows_labelled_by_source() -> None:
    class TwoSources:
        def metrics_sources(self) -> list[MetricsSource]:
            return [MetricsSource("agent", "http://a/metrics"), MetricsSource("proxy", "http://p")]

    agent, proxy = scrape_sources(TwoSources(), REFERENCE)  # type: ignore[arg-type]
    assert (agent.metric_map, agent.label_prefix) == (REFERENCE, "")
    assert (proxy.metric_map.name, proxy.label_prefix, proxy.url) == ("proxy", "proxy", "http://p")
