"""The extension's pure parts: finding the state file, judging windows, refusing bad input."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from chaoslib.exceptions import ActivityFailed

from experiments.activities import _local
from experiments.activities.process import _workers
from experiments.activities.process.actions import kill_agent_worker
from experiments.activities.redis.actions import pause_redis
from experiments.activities.slo import _observe, _window
from experiments.activities.slo.actions import observe_for
from experiments.activities.slo.probes import investigations_meet_slo, observed_windows_meet_slo
from experiments.activities.toolbox.actions import inject_fault


@pytest.fixture
def no_stack_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("STAMPEDE_STACK_STATE", raising=False)
    monkeypatch.delenv("STAMPEDE_STATE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_state_file_argument_wins(no_stack_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAMPEDE_STACK_STATE", "/env/stack.json")
    assert _local.state_path("/arg/stack.json", {"state_file": "/cfg"}) == Path("/arg/stack.json")


def test_configuration_then_env_then_state_dir_then_default(
    no_stack_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _local.state_path("", None) == Path(".stampede/stack.json")
    monkeypatch.setenv("STAMPEDE_STATE_DIR", "/dir")
    assert _local.state_path("", None) == Path("/dir/stack.json")
    monkeypatch.setenv("STAMPEDE_STACK_STATE", "/env/stack.json")
    assert _local.state_path("", {}) == Path("/env/stack.json")
    assert _local.state_path("", {"state_file": "/cfg.json"}) == Path("/cfg.json")


def test_missing_state_file_fails_naming_it(no_stack_env: Path) -> None:
    with pytest.raises(ActivityFailed, match=r"\.stampede/stack\.json.*stampede up"):
        _local.load()


def test_non_local_urls_are_refused() -> None:
    with pytest.raises(ActivityFailed, match=r"not on 127\.0\.0\.1"):
        _local.local_url("http://10.1.2.3:8000", "agent")
    assert _local.local_url("http://127.0.0.1:8000/", "agent") == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kill_agent_worker(signal="SIGSTOP"), "SIGSTOP"),
        (lambda: pause_redis(ms=0), "expected 1..60000"),
        (lambda: inject_fault("llm", ttl_s=0), "ttl_s must be > 0"),
        (lambda: investigations_meet_slo(requests=0), "expected 1..200"),
        (lambda: observe_for(seconds=0), "expected 0 < seconds"),
    ],
    ids=["kill-signal", "pause-ms", "fault-ttl", "window-size", "observe-seconds"],
)
def test_bad_input_is_refused_before_touching_anything(
    no_stack_env: Path, call: object, message: str
) -> None:
    with pytest.raises(ActivityFailed, match=message):
        call()  # type: ignore[operator]


def test_percentile_interpolates_like_pandas() -> None:
    assert _window.percentile([], 0.95) == 0.0
    assert _window.percentile([10.0], 0.95) == 10.0
    assert _window.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert _window.percentile(list(map(float, range(1, 101))), 0.95) == pytest.approx(95.05)


def sample(outcome: str, latency_ms: float = 10.0) -> _window.Sample:
    return _window.Sample(
        outcome, "" if outcome == "correct" else f"{outcome} why", 200, latency_ms
    )


def test_summary_counts_outcomes_and_keeps_a_few_reasons() -> None:
    samples = [sample("correct")] * 6 + [sample("degraded"), sample("wrong"), sample("shed")]
    samples += [_window.Sample("error", f"boom {n}", 0, 5000.0) for n in range(4)]
    figures = _window.summarize(samples)
    assert (figures["correct"], figures["degraded"], figures["wrong"]) == (6, 1, 1)
    assert (figures["shed"], figures["error"], figures["requests"]) == (1, 4, 13)
    assert figures["correct_ratio"] == round(6 / 13, 3)
    assert figures["answered_ratio"] == round(7 / 13, 3)
    assert figures["max_ms"] == 5000.0
    assert len(figures["reasons"]) == _window.MAX_REASONS


def test_breaches_say_actual_versus_expected() -> None:
    figures = _window.summarize([sample("correct", 4000.0), sample("wrong", 100.0)])
    found = _window.breaches(figures, min_correct_ratio=0.9, max_p95_ms=3000, max_wrong=0)
    assert found == ["correct_ratio 0.5 < 0.9", "p95 3805.0 ms > 3000 ms", "wrong 1 > 0"]
    assert _window.breaches(_window.summarize([]), min_correct_ratio=0.9) == [
        "no investigation finished in the window"
    ]
    assert _window.breaches(figures, max_wrong=1) == []


def test_until_met_retries_until_met_then_stops() -> None:
    results = iter([{"met": False}, {"met": True}, {"met": False}])
    out = _window.until_met(lambda: next(results), within_s=5, pause_s=0.01)
    assert out["met"] is True and out["windows"] == 2


def test_until_met_gives_up_after_within_s() -> None:
    started = time.monotonic()
    out = _window.until_met(lambda: {"met": False}, within_s=0.2, pause_s=0.05)
    assert out["met"] is False and out["windows"] >= 2
    assert time.monotonic() - started < 2


def test_nothing_observed_yet_is_met_and_says_so() -> None:
    """Before the method the fault-window probe has nothing to judge: it passes, visibly."""
    out = observed_windows_meet_slo()
    assert out["met"] is True and out["breaches"] == 0 and out["observed_windows"] == 0


def test_observed_window_breaches_on_readiness_and_wrong_answers() -> None:
    observation = _observe.Observation(
        (sample("correct"), sample("wrong"), sample("degraded")), (True, False, False, True), 4.0
    )
    _observe._recorded.append(observation)
    out = observed_windows_meet_slo(min_answered_ratio=0.5, min_ready_ratio=0.9, max_wrong=0)
    assert out["met"] is False
    assert out["breached"] == ["wrong 1 > 0", "ready_ratio 0.5 < 0.9"]
    assert out["breaches"] == 2 and out["observed_windows"] == 1
    assert (out["ready_samples"], out["not_ready_samples"]) == (4, 2)


def test_a_replacement_counts_once_its_startup_is_logged(tmp_path: Path) -> None:
    """A new worker process exists before it serves: wait for uvicorn's startup line."""
    log = tmp_path / "agent.log"
    log.write_text(f"INFO:     {_workers.STARTUP_LINE}.\n" * 2)
    me = psutil.Process()
    _workers.retire([me], str(log))
    assert _workers.retired_alive() == [me.pid]  # this process runs: not replaced
    assert _workers.startups_missing(str(log)) == 1
    with log.open("a") as out:
        out.write(f"INFO:     Started server process [1]\nINFO:     {_workers.STARTUP_LINE}.\n")
    assert _workers.startups_missing(str(log)) == 0


def test_without_startup_lines_in_the_log_only_processes_count(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text("some other logging format\n")
    _workers.retire([psutil.Process()], str(log))
    assert _workers.startups_missing(str(log)) == 0
