"""`stampede flaky`: K suite runs, false alarms per run and per objective, JSON + Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pytest
from typer.testing import CliRunner

from stampede import cli_suite
from stampede.cli import app
from stampede.suite import SuiteConfig, SuiteOutcome, campaign
from stampede.targets.base import Say, Target, TargetStatus


class RunningTarget:
    """A target that is already up before the campaign; records whether it was stopped."""

    def __init__(self) -> None:
        self.downs = 0

    def status(self) -> TargetStatus:
        return TargetStatus(True, None)

    def down(self, say: Say) -> None:
        self.downs += 1

    def as_target(self) -> Target:
        """The two methods a campaign calls, typed as the interface."""
        return cast(Target, self)


def _gate(run_dir: Path, failed: list[tuple[str, str]]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    cases = [{"objective": "no-wrong-answers", "scope_label": "all", "verdict": "PASS"}]
    cases += [{"objective": o, "scope_label": s, "verdict": "FAIL"} for o, s in failed]
    (run_dir / "gate.json").write_text(json.dumps({"cases": cases}))


def test_gate_failures_lists_failed_cases_with_their_scope(tmp_path: Path) -> None:
    _gate(tmp_path, [("fault-latency-p95", "tool-latency/fault")])
    assert cli_suite.gate_failures(tmp_path) == ["fault-latency-p95 [tool-latency/fault]"]
    assert cli_suite.gate_failures(tmp_path / "missing") == []


def test_summary_counts_false_alarms_per_run_and_per_objective(tmp_path: Path) -> None:
    outcomes = []
    for i, (code, failed) in enumerate(
        [(0, []), (1, [("recovers", "replica-kill/all")]), (1, [("recovers", "replica-kill/all")])]
    ):
        _gate(tmp_path / f"r{i}", failed)
        outcomes.append(SuiteOutcome(tmp_path / f"r{i}", code))
    summary = cli_suite.flaky_summary(outcomes, "smoke", 0.0)
    assert summary["total_runs"] == 3 and summary["false_alarms"] == 2
    assert summary["false_alarm_rate"] == pytest.approx(2 / 3)
    assert summary["per_objective"] == {"recovers [replica-kill/all]": 2}
    assert [r["false_alarm"] for r in summary["runs"]] == [False, True, True]
    text = cli_suite.flaky_markdown(summary)
    assert "**2/3**" in text and "| recovers [replica-kill/all] | 2 |" in text


def test_flaky_command_runs_k_suites_and_writes_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K runs with distinct ids and seeds on one kept stack; exit 1 when any run false-alarms."""
    seen: list[SuiteConfig] = []

    def fake_run_suite(config: SuiteConfig) -> SuiteOutcome:
        seen.append(config)
        assert config.run_id is not None
        run_dir = config.runs_dir / config.run_id
        failed = [("recovers", "replica-kill/all")] if len(seen) == 2 else []
        _gate(run_dir, failed)
        return SuiteOutcome(run_dir, 1 if failed else 0)

    monkeypatch.setattr(cli_suite, "run_suite", fake_run_suite)
    target = RunningTarget()  # a stack already runs: keep it
    monkeypatch.setattr(campaign, "make_target", lambda name, state_dir, weakness, options: target)
    result = CliRunner().invoke(
        app,
        ["flaky", "--runs", "3", "--runs-dir", str(tmp_path / "runs"), "--state-dir",
         str(tmp_path / "state"), "--slo", "slo.yaml"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert [c.seed for c in seen] == [0, 1, 2]
    assert len({c.run_id for c in seen}) == 3 and all(c.keep_stack for c in seen)
    (written,) = (tmp_path / "runs").glob("flaky-*.json")
    summary = json.loads(written.read_text())
    assert summary["false_alarms"] == 1
    assert written.with_suffix(".md").is_file()
    assert "False alarms" in result.output
    assert target.downs == 0


def test_a_campaign_stops_the_target_it_brought_up(tmp_path: Path) -> None:
    """Not ready before the campaign: stopped at the end, even when a run raised."""

    class StoppedTarget(RunningTarget):
        def status(self) -> TargetStatus:
            return TargetStatus(False, "no local stack")

    def failing(config: SuiteConfig) -> SuiteOutcome:
        raise RuntimeError("suite broke")

    target = StoppedTarget()
    base = SuiteConfig(runs_dir=tmp_path)
    failed = campaign.Campaign(base, lambda line: None, runner=failing, target=target.as_target())
    with pytest.raises(RuntimeError, match="suite broke"), failed:
        failed.run(run_id="x")
    assert target.downs == 1
    kept = RunningTarget()
    with campaign.Campaign(base, lambda line: None, keep_stack=None, target=kept.as_target()):
        pass
    assert kept.downs == 0
    forced = RunningTarget()
    with campaign.Campaign(base, lambda line: None, keep_stack=False, target=forced.as_target()):
        pass
    assert forced.downs == 1
