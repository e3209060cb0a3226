"""`--proxy/--no-proxy` on suite, flaky and detect (local target only), and the url `full` profile.

No stack is started here: suites are replaced by recording fakes, and a refused option must
fail before any run (exit 2, one line, no run directory).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stampede import cli, cli_suite, detect, profiles
from stampede.cli import app
from stampede.suite import SuiteConfig, SuiteOutcome, validate
from stampede.suite.config import normalise
from tests.stampede.test_detect import case, write_run

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["suite", "flaky", "detect"])
def test_every_campaign_command_offers_the_proxy_switch(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--proxy" in result.output and "--no-proxy" in result.output


def test_the_config_hands_the_proxy_to_the_target_and_records_it() -> None:
    for proxy in (None, True, False):
        config = SuiteConfig(proxy=proxy)
        assert config.target_options().proxy is proxy
        assert config.as_dict()["proxy"] is proxy


@pytest.mark.parametrize(
    ("flags", "expected"),
    [([], None), (["--proxy"], True), (["--no-proxy"], False)],
    ids=["unset", "proxy", "no-proxy"],
)
def test_suite_passes_the_switch_to_its_config(
    flags: list[str], expected: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[SuiteConfig] = []

    def fake_run_suite(config: SuiteConfig) -> SuiteOutcome:
        seen.append(config)
        return SuiteOutcome(Path("runs/x"), 0)

    monkeypatch.setattr(cli_suite, "run_suite", fake_run_suite)
    result = CliRunner().invoke(app, ["suite", *flags])
    assert result.exit_code == 0, result.output
    assert [c.proxy for c in seen] == [expected]


def _main(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str]:
    """Run the console script's ``main`` with ``argv``: (exit code, stderr)."""
    monkeypatch.setattr("sys.argv", ["stampede", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        (["suite", "--target", "url", "--agent-url", "http://127.0.0.1:9", "--proxy"], "url"),
        (["suite", "--target", "kind", "--no-proxy"], "kind"),
        (["flaky", "--target", "url", "--proxy", "--keep-stack"], "url"),
        (["flaky", "--target", "kind", "--proxy", "--down-after"], "kind"),
    ],
    ids=["suite-url", "suite-kind", "flaky-url", "flaky-kind"],
)
def test_the_switch_off_the_local_target_exits_2_before_any_run(
    argv: list[str],
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One line naming the option and the target; no suite ran, no run directory exists."""
    if argv[0] == "flaky":

        def no_suite(config: SuiteConfig) -> SuiteOutcome:
            raise AssertionError("a suite ran")

        monkeypatch.setattr(cli_suite, "run_suite", no_suite)
    runs = tmp_path / "runs"
    code, err = _main([*argv, "--runs-dir", str(runs)], monkeypatch, capsys)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(
        f"stampede: error: --proxy/--no-proxy: an option of --target local, not --target {target}"
    )
    assert not runs.exists()


# -- detect: every suite of the campaign gets the proxy ----------------------------------------


def _recording_suite(
    tmp_path: Path, seen: list[SuiteConfig]
) -> Callable[[SuiteConfig], SuiteOutcome]:
    """A suite that records its config and writes a run: the intended objectives fail."""

    def fake_suite(config: SuiteConfig) -> SuiteOutcome:
        assert config.run_id is not None and config.experiments is not None
        seen.append(config)
        failing = {"no_retries": "llm-errors-correct", "trust_tools": "no-wrong-answers"}
        cases = [case(failing[config.weakness], e, "FAIL") for e in config.experiments
                 if config.weakness in failing]  # fmt: skip
        run_dir = write_run(tmp_path / "runs", config.run_id, cases, config.experiments)
        return SuiteOutcome(run_dir, 1 if cases else 0)

    return fake_suite


def test_detect_runs_every_suite_through_the_proxy(tmp_path: Path) -> None:
    """Each weakness (a stack restart) and the real agent: proxy on, the same local stack."""
    seen: list[SuiteConfig] = []
    config = detect.DetectConfig(
        out=tmp_path / "out",
        weaknesses=["no_retries", "trust_tools"],
        state_dir=tmp_path / "state",
        keep_stack=True,
        proxy=True,
    )
    doc = detect.run_detection(config, say=lambda line: None, run=_recording_suite(tmp_path, seen))
    assert [c.weakness for c in seen] == ["no_retries", "trust_tools", None]
    assert all(c.proxy is True and c.target_options().proxy is True for c in seen)
    assert {(c.target, c.state_dir) for c in seen} == {("local", tmp_path / "state")}
    assert doc["proxy"] is True and doc["exit_code"] == 0
    assert json.loads((tmp_path / "out" / "matrix.json").read_text())["proxy"] is True
    assert "through the fault proxy" in (tmp_path / "out" / "matrix.md").read_text()


def test_detect_cli_hands_the_switch_to_the_campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[SuiteConfig] = []
    real = detect.run_detection

    def with_fake_suites(config: detect.DetectConfig, say: Callable[[str], None]) -> dict[str, Any]:
        return real(config, say, run=_recording_suite(tmp_path, seen))

    monkeypatch.setattr(detect, "run_detection", with_fake_suites)
    result = CliRunner().invoke(
        app,
        ["detect", "--proxy", "--keep-stack", "--weaknesses", "no_retries", "--out",
         str(tmp_path / "out"), "--state-dir", str(tmp_path / "state")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [c.proxy for c in seen] == [True, True]  # no_retries, then the real agent


# -- the url target's full profile -------------------------------------------------------------


URL_FULL = ["baseline", "llm-rate-limit", "llm-stream-cut", "lying-tool"]


def test_the_url_full_profile_lists_the_baseline_and_the_proxy_experiments() -> None:
    full = profiles.get_profile("full", "url")
    assert full.names() == URL_FULL
    assert {spec.load.users for spec in full.experiments} == {4}  # a small agent's load


def test_the_url_full_profile_resolves_its_experiment_files() -> None:
    """What `stampede suite --target url --profile full` checks before anything starts."""
    config = SuiteConfig(target="url", profile="full", agent_url="http://127.0.0.1:9")
    plan = validate(normalise(config, REPO), REPO)
    assert [spec.name for spec in plan.specs] == URL_FULL
    assert plan.files == {name: REPO / "experiments" / "url" / f"{name}.json" for name in URL_FULL}
    assert all(path.is_file() for path in plan.files.values())
    one = SuiteConfig(target="url", profile="full", experiments=["lying-tool"])
    assert list(validate(normalise(one, REPO), REPO).files) == ["lying-tool"]
