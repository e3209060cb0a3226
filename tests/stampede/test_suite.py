"""The suite runner with real Locust and `chaos` subprocesses against a small fake agent.

The fake agent, locustfile and suite driver are modules of tests/stampede/fakes/ run by path;
the experiments are written to a temporary directory. These tests exercise the orchestration
(timeline, signals, collection, partial runs) without the reference stack;
tests/stampede/test_suite_e2e.py runs the real thing.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from reports.gate import run_gate
from stampede import kind, procs, rundir
from stampede.errors import InputError
from stampede.suite import InvestigationProbe, Suite, SuiteConfig
from stampede.suite.reporting import Reporters, report_and_gate
from tests.reports.rundir import T0, Exp, journal, req, write_run
from tests.stampede.fakes import FAKES
from tests.stampede.helpers import wait_until

MINIMAL_SLO = """\
version: 1
objectives:
  - name: no-wrong-answers
    sli: wrong_ratio
    op: "=="
    threshold: 0
"""


def experiment_json(name: str, fault_file: Path, seconds: float) -> dict[str, object]:
    """A chaos experiment whose method holds a 'fault' (a file) for ``seconds``; the rollback
    removes it, so a test can tell whether rollbacks ran."""
    py = sys.executable
    hold = (
        f"import pathlib, time; pathlib.Path({str(fault_file)!r}).write_text('on'); "
        f"time.sleep({seconds}); pathlib.Path({str(fault_file)!r}).unlink(missing_ok=True)"
    )
    clear = f"import pathlib; pathlib.Path({str(fault_file)!r}).unlink(missing_ok=True)"
    return {
        "title": f"fake {name}",
        "description": "holds a fault file for a while",
        "method": [
            {
                "type": "action",
                "name": "hold-fault",
                "provider": {"type": "process", "path": py, "arguments": ["-c", hold]},
            }
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "clear-fault",
                "provider": {"type": "process", "path": py, "arguments": ["-c", clear]},
            }
        ],
    }


@dataclass
class Fakes:
    root: Path
    agent_url: str
    fault_file: Path
    runs_dir: Path

    def args(self, **over: object) -> dict[str, object]:
        base: dict[str, object] = {
            "agent_url": self.agent_url,
            "fault_file": str(self.fault_file),
            "experiments": ["alpha", "beta"],
            "warmup": 1.0,
            "cooldown": 1.0,
            "chaos_timeout": 60,
            "gate_exit": 0,
            "slo": str(self.root / "slo.yaml"),
            "runs_dir": str(self.runs_dir),
            "run_id": "fake-run",
            "workdir": str(self.root),
            "locustfile": str(self.root / "locustfile.py"),
            "experiments_dir": str(self.root / "experiments"),
        }
        base.update(over)
        return base

    def start(self, **over: object) -> procs.Child:
        """The driver as a process in its own session, its output in ``driver.log``."""
        (self.root / "driver.log").unlink(missing_ok=True)
        cmd = [sys.executable, str(FAKES / "suite_driver.py"), json.dumps(self.args(**over))]
        return procs.Child("suite driver", cmd, self.root / "driver.log", {}, self.root)

    def run(self, timeout_s: float = 120, **over: object) -> tuple[int, str]:
        """Run the driver to its end: exit code and output."""
        return self.finish(self.start(**over), timeout_s)

    def finish(self, driver: procs.Child, timeout_s: float = 120) -> tuple[int, str]:
        """Wait for the driver; fail (after stopping it) if it does not end in time."""
        code = driver.wait(timeout_s)
        if code is None:
            driver.stop(signal.SIGKILL, 5)
            pytest.fail(f"driver did not finish in {timeout_s} s:\n{driver.log_tail(60)}")
        return code, driver.log.read_text()


def wait_for_line(driver: procs.Child, text: str, timeout_s: float = 60) -> None:
    """Until ``text`` appears in the driver's output (fails naming it, with the output)."""
    try:
        wait_until(lambda: text in driver.log.read_text(), timeout_s, f"driver says {text!r}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}:\n{driver.log_tail(60)}") from None


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[Fakes]:
    shutil.copy(FAKES / "fake_locustfile.py", tmp_path / "locustfile.py")
    (tmp_path / "slo.yaml").write_text(MINIMAL_SLO)
    fault = tmp_path / "fault.on"
    exp_dir = tmp_path / "experiments" / "local"
    exp_dir.mkdir(parents=True)
    for name, seconds in (("alpha", 2), ("beta", 2), ("long", 30)):
        (exp_dir / f"{name}.json").write_text(json.dumps(experiment_json(name, fault, seconds)))
    port = procs.free_port()
    agent = procs.spawn(
        [sys.executable, str(FAKES / "fake_agent.py"), str(port)], tmp_path / "agent.log"
    )
    url = f"http://127.0.0.1:{port}"
    procs.wait_http_ok(f"{url}/healthz", agent, what="fake agent")
    yield Fakes(tmp_path, url, fault, tmp_path / "runs")
    procs.stop(agent)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_suite_runs_every_experiment_and_fills_the_run_directory(fakes: Fakes) -> None:
    """Locust + chaos per experiment -> run.json, requests.csv, samples.csv, journals, report."""
    code, out = fakes.run()
    assert code == 0, out
    run_dir = fakes.runs_dir / "fake-run"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["run_id"] == "fake-run" and run["profile"] == "fake" and run["partial"] is False
    assert [e["name"] for e in run["experiments"]] == ["alpha", "beta"]
    for exp in run["experiments"]:
        assert exp["status"] == "completed" and exp["deviated"] is False, exp
        assert exp["journal"] == f"chaos/{exp['name']}/journal.json"
        assert (run_dir / exp["journal"]).is_file()
        assert exp["file"] == f"experiments/local/{exp['name']}.json"
        assert exp["started_at"] < exp["ended_at"]
        assert exp["load"]["users"] == 2 and exp["load"]["shape"] == "steady"
        assert exp["checks"]["lost_investigations"] == 0
        assert exp["checks"]["sampled"] >= 2
        assert exp["errors"] == []
        for suffix in ("_stats.csv", "_stats_history.csv", ".html", ".requests.csv", ".json"):
            assert (run_dir / "locust" / f"{exp['name']}{suffix}").is_file(), suffix
    requests = read_csv(run_dir / "requests.csv")
    assert list(requests[0]) == list(rundir.REQUESTS_COLUMNS)
    assert [float(r["ts"]) for r in requests] == sorted(float(r["ts"]) for r in requests)
    assert {r["experiment"] for r in requests} == {"alpha", "beta"}
    counted = sum(int(e["locust"]["requests"]) for e in run["experiments"])
    assert len(requests) == counted == run["requests"]["rows"] == run["requests"]["locust_total"]
    samples = read_csv(run_dir / "samples.csv")
    assert list(samples[0]) == list(rundir.SAMPLES_COLUMNS)
    metrics = {(s["experiment"], s["metric"]) for s in samples}
    for name in ("alpha", "beta"):
        for metric in ("requests_total", "breaker_state", "in_flight", "workers_alive"):
            assert (name, metric) in metrics
    assert (run_dir / "report.html").is_file() and (run_dir / "gate.json").is_file()
    assert "experiment 2/2 beta" in out and "gate: exit 0" in out
    assert not fakes.fault_file.exists()


def test_suite_exits_with_the_gate_code(fakes: Fakes) -> None:
    """The gate's exit code (1: an SLO violated) is the suite's exit code."""
    code, out = fakes.run(experiments=["alpha"], gate_exit=1)
    assert code == 1, out


def test_sigint_mid_chaos_rolls_back_and_leaves_a_partial_run(fakes: Fakes) -> None:
    """Ctrl-C while chaos ran: rollbacks run, Locust stops, run dir is partial, exit 130."""
    driver = fakes.start(experiments=["long", "beta"], warmup=1.0)
    wait_for_line(driver, "chaos started", 60)
    for _ in range(50):  # the method's action has created the fault
        if fakes.fault_file.exists():
            break
        time.sleep(0.1)
    assert fakes.fault_file.exists(), driver.log_tail(60)
    time.sleep(1.0)
    started = time.monotonic()
    driver.signal(signal.SIGINT)
    code, out = fakes.finish(driver, 120)
    assert code == 130, out
    assert time.monotonic() - started < 60
    assert not fakes.fault_file.exists(), "the rollback should have cleared the fault"
    run_dir = fakes.runs_dir / "fake-run"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["partial"] is True and run["ended_at"] is not None
    assert [e["name"] for e in run["experiments"]] == ["long"]
    exp = run["experiments"][0]
    assert exp["status"] == "interrupted"
    journal = json.loads((run_dir / "chaos" / "long" / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["clear-fault"]
    requests = read_csv(run_dir / "requests.csv")
    assert requests and {r["experiment"] for r in requests} == {"long"}
    assert (run_dir / "samples.csv").read_text().startswith("ts,experiment,metric,label,value")
    assert "partial run directory" in out
    assert not (run_dir / "report.html").exists()
    for pid_line in (e["locust"] for e in run["experiments"]):
        assert pid_line["exit_code"] is not None


def test_sigint_during_warmup_leaves_a_partial_run_without_chaos(fakes: Fakes) -> None:
    """Ctrl-C before chaos starts: Locust stops, status interrupted, no journal."""
    driver = fakes.start(experiments=["alpha"], warmup=20.0)
    wait_for_line(driver, "locust started", 60)
    time.sleep(3)
    driver.signal(signal.SIGINT)
    code, out = fakes.finish(driver, 60)
    assert code == 130, out
    run = json.loads((fakes.runs_dir / "fake-run" / "run.json").read_text())
    assert run["partial"] is True
    assert run["experiments"][0]["status"] == "interrupted"
    assert run["experiments"][0]["deviated"] is None


def test_sigterm_takes_the_same_clean_path(fakes: Fakes) -> None:
    """SIGTERM (a cancelled CI job) also rolls back and writes a partial run."""
    driver = fakes.start(experiments=["long"], warmup=1.0)
    wait_for_line(driver, "chaos started", 60)
    time.sleep(2)
    driver.signal(signal.SIGTERM)
    code, out = fakes.finish(driver, 120)
    assert code == 130, out
    assert not fakes.fault_file.exists()
    run = json.loads((fakes.runs_dir / "fake-run" / "run.json").read_text())
    assert run["partial"] is True and run["experiments"][0]["status"] == "interrupted"


def test_chaos_timeout_interrupts_the_experiment_and_exits_2(fakes: Fakes) -> None:
    """Chaos over its budget is interrupted (rollbacks run): a harness error, exit 2."""
    code, out = fakes.run(experiments=["long"], chaos_timeout=3)
    assert code == 2, out
    assert not fakes.fault_file.exists()
    run = json.loads((fakes.runs_dir / "fake-run" / "run.json").read_text())
    assert run["experiments"][0]["status"] == "interrupted"
    assert any("exceeded 3 s" in e for e in run["harness_errors"]), run["harness_errors"]
    assert (fakes.runs_dir / "fake-run" / "report.html").is_file()


def test_a_broken_locustfile_is_a_harness_error_with_its_log(fakes: Fakes) -> None:
    """Locust dying at start-up: exit 2, its log tail in the message, the run dir written."""
    (fakes.root / "locustfile.py").write_text(
        "raise RuntimeError('broken locustfile')\n"
    )  # the copy
    code, out = fakes.run(experiments=["alpha"])
    assert code == 2, out
    assert "broken locustfile" in out
    run = json.loads((fakes.runs_dir / "fake-run" / "run.json").read_text())
    assert run["partial"] is True
    assert run["experiments"][0]["status"] == "error"
    assert (fakes.runs_dir / "fake-run" / "requests.csv").is_file()


def test_faults_left_after_rollbacks_are_cleared_and_reported(fakes: Fakes, tmp_path: Path) -> None:
    """An experiment that leaves its fault behind (no rollback) is a harness error."""
    exp = experiment_json("leaky", fakes.fault_file, 1)
    exp["method"][0]["provider"]["arguments"][1] = (  # type: ignore[index]
        f"import pathlib; pathlib.Path({str(fakes.fault_file)!r}).write_text('on')"
    )
    exp["rollbacks"] = []
    (tmp_path / "experiments" / "local" / "leaky.json").write_text(json.dumps(exp))
    code, out = fakes.run(experiments=["leaky"])
    assert code == 2, out
    assert not fakes.fault_file.exists()
    run = json.loads((fakes.runs_dir / "fake-run" / "run.json").read_text())
    assert any("left behind" in e for e in run["harness_errors"])


# -- validation, before anything starts ------------------------------------------------------


def _config(tmp_path: Path, **over: object) -> SuiteConfig:
    (tmp_path / "loadtests").mkdir(exist_ok=True)
    (tmp_path / "loadtests" / "locustfile.py").write_text("")
    (tmp_path / "slo.yaml").write_text(MINIMAL_SLO)
    exp = tmp_path / "experiments" / "local"
    exp.mkdir(parents=True, exist_ok=True)
    for name in ("replica-kill", "tool-latency", "redis-outage"):
        (exp / f"{name}.json").write_text("{}")
    values: dict[str, object] = {"workdir": tmp_path}
    values.update(over)
    return SuiteConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"profile": "nope"}, "--profile 'nope': unknown profile (known: "),
        ({"weakness": "no_brakes"}, "--weakness 'no_brakes': unknown"),
        ({"target": "mars"}, "--target 'mars': unknown target"),
        ({"run_id": "../escape"}, "--run-id '../escape'"),
        ({"slo": Path("missing.yaml")}, "--slo missing.yaml: file not found"),
        ({"slo": Path("loadtests/locustfile.py")}, "locustfile.py: empty file"),
        ({"locustfile": Path("nope.py")}, "nope.py not found"),
        ({"experiments": ["tool-latency", "tool-latency"]}, "given more than once"),
    ],
    ids=["profile", "weakness", "target", "run-id", "slo", "slo-malformed", "locustfile", "dupes"],
)
def test_bad_input_is_an_input_error_naming_it(
    tmp_path: Path, over: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError) as info:
        Suite(_config(tmp_path, **over))
    assert message in str(info.value)


def test_missing_experiment_file_names_the_file(tmp_path: Path) -> None:
    """The smoke profile needs redis-outage.json: the error names the missing path."""
    config = _config(tmp_path)
    (tmp_path / "experiments" / "local" / "redis-outage.json").unlink()
    with pytest.raises(InputError) as info:
        Suite(config)
    assert str(tmp_path / "experiments" / "local" / "redis-outage.json") in str(info.value)
    assert "replica-kill" not in str(info.value)


def test_kind_target_says_what_it_needs(tmp_path: Path) -> None:
    """Without kind, kubectl and a Docker engine, --target kind is one clear InputError."""
    tools = all(shutil.which(t) for t in ("kind", "kubectl", "docker"))
    if tools and kind.docker_engine_problem() is None:
        pytest.skip("kind and a Docker engine are available here")
    exp = tmp_path / "experiments" / "kind"
    exp.mkdir(parents=True)
    for name in ("replica-kill", "tool-latency", "redis-outage"):
        (exp / f"{name}.json").write_text("{}")
    with pytest.raises(
        InputError, match=r"--target kind: not available here: needs kind \+ docker"
    ):
        Suite(_config(tmp_path, target="kind"))
    assert not (tmp_path / "runs").exists()


def test_cli_reports_bad_input_in_one_line_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "stampede"), "suite", "--profile", "nope"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state")},
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("stampede: error: --profile 'nope': unknown profile (known: ")
    assert "smoke" in line
    assert "Traceback" not in done.stderr


def test_probe_counts_ids_the_agent_no_longer_knows(fakes: Fakes) -> None:
    """The lost-investigation check: a 404 for an id the agent answered 200 is lost."""
    probe = InvestigationProbe(fakes.agent_url, [{"alert_type": "x", "service": "y"}], "t")
    answer = httpx.post(f"{fakes.agent_url}/investigate", json={}, trust_env=False)
    probe.ids = [answer.json()["investigation_id"]]
    probe.ids.append("never-stored")
    result = probe.verify().as_dict()
    assert result["lost_investigations"] == 1 and result["sampled"] == 2
    assert [lost["id"] for lost in result["lost"]] == ["never-stored"]
    skipped = InvestigationProbe(fakes.agent_url, [], "t").verify().as_dict()
    assert skipped["lost_investigations"] is None


def _gate_through_the_suite(run_dir: Path, slo: Path) -> tuple[int, str, list[str]]:
    """The suite's report-and-gate step with the real gate (a fake report) on ``run_dir``."""
    said: list[str] = []
    ctx = SimpleNamespace(
        run_dir=run_dir,
        config=SimpleNamespace(slo=slo, report=True),
        record=SimpleNamespace(harness_errors=[]),
        path=lambda p: p,
        say=said.append,
    )
    reporters = Reporters(lambda run, _slo: run / "report.html", run_gate)
    outcome = report_and_gate(cast(Any, ctx), reporters)
    return outcome.exit_code, outcome.gate_table or "", said


def test_the_suite_exits_2_on_an_empty_gate_and_1_on_a_deviated_experiment(
    tmp_path: Path,
) -> None:
    """Real run directories through the suite's gate step: the gate's new codes reach it."""
    slo = tmp_path / "slo.yaml"
    slo.write_text(MINIMAL_SLO.replace("    threshold: 0\n", "    threshold: 0\n    scope: {}\n"))
    code, _, said = _gate_through_the_suite(write_run(tmp_path / "empty", [], []), slo)
    assert code == 2
    assert any(line.startswith(f"gate: no objective of {slo} applied") for line in said), said
    method = [("inject", T0 + 5, T0 + 6)]
    deviated = journal(T0, T0 + 20, method, deviated=True, after=False)
    run = write_run(
        tmp_path / "deviated",
        [Exp("exp", T0, T0 + 20, deviated)],
        [req(T0 + s, experiment="exp") for s in range(20)],
    )
    code, table, _ = _gate_through_the_suite(run, slo)
    assert code == 1
    assert "experiment-verdict  exp/all" in table and "hypothesis probe not met: exp" in table
