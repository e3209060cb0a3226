"""`stampede suite`: load + chaos per experiment, collected into one run directory, then report
and gate (DESIGN.md "Data flow of one suite run").

Timeline of one experiment::

    Locust starts (background subprocess) -> warm-up -> `chaos --no-version-check run` ->
    cool-down -> Locust stops (SIGINT: it writes its CSV/HTML, the recorder flushes)
    meanwhile: the sampler scrapes /metrics ~1/s, the investigation probe sends ~1 req/s

The runner is target-agnostic: a ``Target`` brings the agent up and says how to reach it, what
environment the experiments need, what to sample and how to clear leftover faults. ``local`` is
the stack of ``stampede.stack``; ``kind`` comes from ``stampede.kind`` when that exists.

Ctrl-C (or SIGTERM) at any point: chaos gets one SIGINT (Chaos Toolkit then runs its rollbacks),
Locust is stopped, the target's faults are cleared, and run.json / requests.csv / samples.csv are
still written with ``"partial": true``; exit code 130.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from stampede import procs, profiles, rundir
from stampede.errors import HarnessError, InputError, StampedeError
from stampede.profiles import ExperimentSpec
from stampede.sampler import Sampler
from stampede.targets.base import Say, Target, TargetInfo
from target_agent.agent.settings import WEAKNESSES

TARGETS = ("local", "kind")
EXIT_INTERRUPTED = 130

# Bounded waits (seconds).
LOCUST_STOP_TIMEOUT_S = 10  # Locust's own --stop-timeout: users finish the request in hand
LOCUST_EXIT_WAIT_S = LOCUST_STOP_TIMEOUT_S + 20
LOCUST_RUN_TIME_SLACK_S = 60  # -t safety cap beyond the planned time, if the suite dies
LOCUST_START_TIMEOUT_S = 30
CHAOS_ROLLBACK_WAIT_S = 90
PROBE_INTERVAL_S = 1.0
PROBE_MAX_IDS = 200
PRIME_REQUESTS = 8


# --------------------------------------------------------------------------------------------
# Targets


def _reference_alerts() -> list[dict[str, Any]]:
    """Alerts of the reference agent's incident catalogue (local and kind run that agent)."""
    try:
        from target_agent.toolbox.catalogue import catalogue
    except ImportError:
        return []
    return [incident.alert() for incident in catalogue()]


class LocalTarget:
    """The local stack (`stampede.stack`): reuse a healthy one, else (re)start it."""

    name = "local"

    def __init__(self, state_dir: Path, weakness: str | None) -> None:
        self.state_dir = state_dir
        self.weakness = weakness
        self.state_file = state_dir / "stack.json"
        self._state: Any = None
        self._raw: dict[str, Any] = {}
        self.started_by_us = False

    # -- up / down
    def _read_raw(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _health_problem(self) -> str | None:
        """None when every component of the recorded stack is ready, else what is not."""
        from stampede import stack

        try:
            report = stack.status(self.state_dir)
        except StampedeError as exc:
            return str(exc)
        down = [name for name, row in report["components"].items() if not row.get("ready")]
        return f"not ready: {', '.join(down)}" if down else None

    def up(self, say: Say) -> TargetInfo:
        from stampede import stack

        raw = self._read_raw()
        config = stack.StackConfig(state_dir=self.state_dir, weakness=self.weakness)
        wanted = self.weakness or "none"
        if raw is None:
            action = "started"
            say(f"starting the local stack in {self.state_dir} (weakness {wanted})")
        else:
            problem = self._health_problem()
            running = (raw.get("agent") or {}).get("weakness") or None
            if problem is None and running == self.weakness:
                action = "reused"
            else:
                why = problem or f"weakness {running or 'none'} -> {wanted}"
                action = f"restarted ({why})"
                say(f"stack in {self.state_dir}: {why}; restarting it (weakness {wanted})")
                config = replace(config, restart=True)
        if action != "reused":
            stack.up(config)
            self.started_by_us = True
        self._state = stack.load_state(self.state_file)
        raw = self._read_raw() or {}
        self._raw = raw
        agent = raw["agent"]
        return TargetInfo(
            agent_url=str(agent["url"]).rstrip("/"),
            weakness=agent.get("weakness") or None,
            action=action,
            details={
                "state_file": str(self.state_file),
                "workers": agent.get("workers"),
                "toolbox_url": raw["toolbox"]["url"],
                "redis_url": raw["redis"]["url"],
            },
        )

    def down(self, say: Say) -> None:
        from stampede import stack

        say(f"stopping the local stack in {self.state_dir}")
        stack.down(self.state_dir)

    # -- during the run
    def chaos_env(self) -> dict[str, str]:
        return {"STAMPEDE_STACK_STATE": str(self.state_file.resolve())}

    def fetch_metrics(self) -> str:
        response = httpx.get(f"{self._raw['agent']['url']}/metrics", timeout=2.0)
        response.raise_for_status()
        return response.text

    def extra_samples(self) -> list[tuple[str, str, float]]:
        from stampede import stack

        return [("workers_alive", "", float(len(stack.agent_worker_pids(self._state))))]

    def probe_alerts(self) -> list[dict[str, Any]]:
        return _reference_alerts()

    def heal(self) -> list[str]:
        """Clear toolbox faults and bring Redis back if an interrupted experiment left them."""
        done: list[str] = []
        toolbox = self._raw.get("toolbox", {}).get("url")
        headers = {"Authorization": f"Bearer {self._raw.get('admin_token', '')}"}
        if toolbox:
            try:
                faults = httpx.get(f"{toolbox}/faults", headers=headers, timeout=3.0).json()
                active = sorted((faults or {}).get("faults", {}))
                if active:
                    httpx.delete(f"{toolbox}/faults", headers=headers, timeout=3.0)
                    done.append(f"cleared toolbox faults left behind: {', '.join(active)}")
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                done.append(f"could not check toolbox faults: {type(exc).__name__}: {exc}")
        from stampede import stack

        try:
            redis_row = stack.status(self.state_dir)["components"]["redis"]
            if not redis_row.get("ready"):
                stack.start_redis(stack.load_state(self.state_file))
                done.append("restarted redis left stopped")
        except StampedeError as exc:
            done.append(f"could not check or restart redis: {exc}")
        return done


def _kind_target(weakness: str | None) -> Target:
    """The kind target of `stampede.kind`, after checking kind, kubectl and Docker are here."""
    try:
        from stampede import kind
    except ImportError:
        kind = None  # type: ignore[assignment]
    factory = getattr(kind, "suite_target", None)
    if kind is None or factory is None:
        raise InputError(
            "--target kind: not available here: needs kind + docker and the kind target "
            "helpers (see docs/kubernetes.md)"
        )
    missing = [tool for tool in ("kind", "kubectl", "docker") if shutil.which(tool) is None]
    problem = f"{', '.join(missing)} not on PATH" if missing else kind.docker_engine_problem()
    if problem:
        raise InputError(
            f"--target kind: not available here: needs kind + docker ({problem}; "
            "see docs/kubernetes.md)"
        )
    target: Target = factory(weakness=weakness)
    return target


def make_target(name: str, state_dir: Path, weakness: str | None) -> Target:
    """The target named on the command line, or an InputError saying why it cannot run here."""
    if name == "local":
        return LocalTarget(state_dir, weakness)
    if name == "kind":
        return _kind_target(weakness)
    raise InputError(f"--target {name!r}: unknown target (known: {', '.join(TARGETS)})")


# --------------------------------------------------------------------------------------------
# Child processes (Locust, chaos) and signals


@contextlib.contextmanager
def deferred_interrupts(say: Say) -> Iterator[None]:
    """Hold SIGINT/SIGTERM while cleaning up (rollbacks must run); re-raise afterwards.

    A signal that arrives inside is reported and turned into KeyboardInterrupt on exit, so a
    Ctrl-C during the normal end of an experiment still stops the suite, after the cleanup.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        say("interrupt received: finishing clean-up first (chaos rollbacks, stopping Locust)")

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) takes the same clean path as Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------------------------
# Lost-investigation probe


class InvestigationProbe:
    """Sends ~1 investigation/s during an experiment, then checks each answered id is stored.

    Locust's recorder keeps no investigation ids (requests.csv has none), so the suite asks for
    its own small sample: every POST /investigate answered 200 gives an id; after the cool-down
    each is read back with GET /investigations/{id}. A 404 is a lost investigation. The count is
    a lower bound over a sample, reported with its size, never a claim about every request.
    """

    def __init__(self, agent_url: str, alerts: list[dict[str, Any]], experiment: str) -> None:
        self.agent_url = agent_url
        self.alerts = alerts
        self.experiment = experiment
        self.ids: list[str] = []
        self.sent_at: dict[str, float] = {}  # id -> when its POST started (epoch s)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"probe-{experiment}", daemon=True)

    def start(self) -> InvestigationProbe:
        if self.alerts:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _loop(self) -> None:
        with httpx.Client(timeout=12.0) as client:
            while not self._stop.is_set() and len(self.ids) < PROBE_MAX_IDS:
                alert = self.alerts[self.sent % len(self.alerts)]
                self.sent += 1
                sent_at = time.time()
                try:
                    response = client.post(
                        f"{self.agent_url}/investigate",
                        json=alert,
                        headers={"Idempotency-Key": f"stampede-probe-{uuid.uuid4()}"},
                    )
                    if response.status_code == 200:
                        found = response.json().get("investigation_id")
                        if found:
                            self.ids.append(str(found))
                            self.sent_at[str(found)] = sent_at
                except (httpx.HTTPError, ValueError):
                    pass
                self._stop.wait(PROBE_INTERVAL_S)

    def verify(self, deadline_s: float = 20.0) -> dict[str, Any]:
        """``{"lost_investigations": int|None, "sampled", "unverified", "method"}``."""
        if not self.alerts:
            return {
                "lost_investigations": None,
                "method": "skipped: the target offers no probe requests",
            }
        lost: list[str] = []
        unverified = 0
        deadline = time.monotonic() + deadline_s
        with httpx.Client(timeout=3.0) as client:
            for inv_id in self.ids:
                if time.monotonic() > deadline:
                    unverified += 1
                    continue
                try:
                    code = client.get(f"{self.agent_url}/investigations/{inv_id}").status_code
                except httpx.HTTPError:
                    unverified += 1
                    continue
                if code == 404:
                    lost.append(inv_id)
                elif code != 200:
                    unverified += 1
        return {
            "lost_investigations": len(lost) if self.ids else None,
            "sampled": len(self.ids),
            "probe_requests": self.sent,
            "unverified": unverified,
            # The first lost ids with the time their POST started: before, during or after the
            # fault tells a wiped store (e.g. a Redis restarted without persistence) from a
            # write-behind buffer that did not flush.
            "lost": [{"id": i, "sent_at": round(self.sent_at.get(i, 0.0), 3)} for i in lost[:20]],
            "method": (
                f"suite probe: ~{1 / PROBE_INTERVAL_S:g} POST /investigate per s during the "
                "experiment; each 200's id read back after the cool-down (404 = lost)"
            ),
        }


# --------------------------------------------------------------------------------------------
# The suite


@dataclass
class SuiteConfig:
    target: str = "local"
    profile: str = "smoke"
    slo: Path | None = Path("slo.yaml")
    runs_dir: Path = Path("runs")
    run_id: str | None = None
    weakness: str | None = None
    state_dir: Path = Path(".stampede")
    keep_stack: bool | None = None  # None: keep a stack we found, stop one we started
    experiments: list[str] | None = None
    users: int | None = None
    seed: int = 0
    locustfile: Path = Path("loadtests/locustfile.py")
    experiments_dir: Path = Path("experiments")
    workdir: Path = Path(".")
    report: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "profile": self.profile,
            "slo": str(self.slo) if self.slo else None,
            "runs_dir": str(self.runs_dir),
            "weakness": self.weakness,
            "state_dir": str(self.state_dir),
            "keep_stack": self.keep_stack,
            "experiments": self.experiments,
            "users": self.users,
            "seed": self.seed,
            "locustfile": str(self.locustfile),
            "experiments_dir": str(self.experiments_dir),
        }


@dataclass
class SuiteOutcome:
    run_dir: Path
    exit_code: int
    interrupted: bool = False
    report_path: Path | None = None
    gate_table: str = ""


class Progress:
    """One line per step, prefixed with the time since the suite started."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.t0 = time.monotonic()
        self._echo = echo or (lambda line: print(line, flush=True))

    def __call__(self, message: str) -> None:
        self._echo(f"[{time.monotonic() - self.t0:6.1f}s] {message}")


def _check_slo(path: Path) -> None:
    """Parse the SLO file now: a typo should fail in a second, not after the whole suite."""
    try:
        from reports.slo import load_slo
    except ImportError:
        return
    load_slo(path)  # ReportsError (an InputError) names the line and the problem


def _load_reporters() -> tuple[Callable[..., Path], Callable[..., Any]]:
    try:
        from reports.gate import run_gate
        from reports.render import write_report
    except ImportError as exc:
        raise HarnessError(f"the report/gate package is not available: {exc}") from exc
    return write_report, run_gate


class Suite:
    """One suite run. ``run()`` never raises for interruption; harness errors propagate after the
    run directory is written."""

    def __init__(
        self,
        config: SuiteConfig,
        target: Target | None = None,
        say: Say | None = None,
        reporters: tuple[Callable[..., Path], Callable[..., Any]] | None = None,
    ) -> None:
        self.config = config
        self.say: Say = say or Progress()
        self.workdir = config.workdir.resolve()
        self._validate()
        self.target = target or make_target(config.target, config.state_dir, config.weakness)
        self._reporters = reporters
        self.run_dir: Path | None = None
        self.record: rundir.RunRecord | None = None
        self.info: TargetInfo | None = None

    # -- validation before anything starts
    def _path(self, path: Path) -> Path:
        return path if path.is_absolute() else self.workdir / path

    def _validate(self) -> None:
        c = self.config
        if c.target not in TARGETS:
            raise InputError(f"--target {c.target!r}: unknown target (known: {', '.join(TARGETS)})")
        if c.weakness is not None and c.weakness not in WEAKNESSES:
            raise InputError(
                f"--weakness {c.weakness!r}: unknown (known: none, {', '.join(WEAKNESSES)})"
            )
        if c.run_id is not None:
            rundir.check_run_id(c.run_id)
        profile = profiles.get_profile(c.profile)
        self.specs = profiles.with_users(profiles.select(profile, c.experiments), c.users)
        if not self._path(c.locustfile).is_file():
            raise InputError(
                f"locustfile {self._path(c.locustfile)} not found "
                "(run from the repository root or pass --locustfile)"
            )
        self.files = profiles.resolve_files(self.specs, self._path(c.experiments_dir), c.target)
        if c.slo is not None:
            if not self._path(c.slo).is_file():
                raise InputError(f"--slo {c.slo}: file not found")
            _check_slo(self._path(c.slo))

    # -- the whole run
    def run(self) -> SuiteOutcome:
        c = self.config
        self.run_dir = run_dir = rundir.create_run_dir(self._path(c.runs_dir), c.run_id, c.profile)
        self.record = record = rundir.RunRecord(
            run_id=run_dir.name,
            target=c.target,
            profile=c.profile,
            config={**c.as_dict(), "specs": [_spec_dict(s) for s in self.specs]},
            started_at=time.time(),
            git_sha=rundir.git_sha(self.workdir),
            versions=rundir.package_versions(),
            agent={"weakness": c.weakness},
        )
        rundir.write_run_json(run_dir, record)
        self.say(f"run {record.run_id}: {len(self.specs)} experiment(s) -> {run_dir}")
        interrupted = False
        failure: StampedeError | None = None
        with sigterm_as_interrupt():
            try:
                try:
                    self._target_up()
                    for index, spec in enumerate(self.specs, start=1):
                        self._run_experiment(index, spec)
                except KeyboardInterrupt:
                    interrupted = True
                    self.say("interrupted: writing the partial run directory")
                except StampedeError as exc:
                    failure = exc
                except Exception as exc:  # a bug must still leave a readable run directory
                    failure = HarnessError(f"{type(exc).__name__}: {exc}")
                    failure.__cause__ = exc
                if failure is not None:
                    record.harness_errors.append(str(failure))
                    self.say(f"harness error: {failure}")
                with deferred_interrupts(self.say):
                    self._collect(partial=interrupted or failure is not None)
                if interrupted or failure is not None:
                    with deferred_interrupts(self.say):
                        self._maybe_down()
                else:
                    try:
                        return self._report_and_gate()
                    finally:
                        with deferred_interrupts(self.say):
                            self._maybe_down()
            except KeyboardInterrupt:
                interrupted = True
        if interrupted:
            self.say(f'partial run directory: {run_dir} (run.json says "partial": true)')
            return SuiteOutcome(run_dir, EXIT_INTERRUPTED, interrupted=True)
        assert failure is not None
        raise type(failure)(f"{failure} (partial run directory: {run_dir})") from failure

    def _target_up(self) -> None:
        assert self.record is not None
        self.say(f"target {self.config.target}: up")
        self.info = info = self.target.up(self.say)
        self.record.agent = {"weakness": info.weakness, "url": info.agent_url}
        self.record.stack = {"action": info.action, **info.details}
        assert self.run_dir is not None
        rundir.write_run_json(self.run_dir, self.record)
        self.say(f"target {self.config.target}: {info.action}; agent at {info.agent_url}")
        if info.action != "reused":
            self._prime(info)

    def _prime(self, info: TargetInfo) -> None:
        """A few investigations on a freshly started agent, so the first experiment's baseline
        measures the agent, not its cold start (imports, connection pools). Not recorded."""
        alerts = self.target.probe_alerts()[:PRIME_REQUESTS]
        if not alerts:
            return
        started = time.monotonic()

        def post(alert: dict[str, Any]) -> int:
            try:
                return httpx.post(
                    f"{info.agent_url}/investigate", json=alert, timeout=15
                ).status_code
            except httpx.HTTPError:
                return 0

        with ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(post, alerts))
        self.say(
            f"primed the agent: {codes.count(200)}/{len(codes)} investigations answered in "
            f"{time.monotonic() - started:.1f} s (not recorded)"
        )

    def _maybe_down(self) -> None:
        """Stop the target per --keep-stack/--down-after (default: only if the suite started it)."""
        keep = self.config.keep_stack
        started = bool(getattr(self.target, "started_by_us", False))
        if self.info is None:
            return
        if keep is False or (keep is None and started):
            try:
                self.target.down(self.say)
                if self.record is not None:
                    self.record.stack["down_after"] = True
            except StampedeError as exc:
                self.say(f"could not stop the target: {exc}")
        elif self.record is not None:
            self.record.stack["down_after"] = False
        if self.record is not None and self.run_dir is not None:
            rundir.write_run_json(self.run_dir, self.record)

    # -- one experiment
    def _run_experiment(self, index: int, spec: ExperimentSpec) -> None:
        assert self.run_dir is not None and self.record is not None and self.info is not None
        run_dir, n = self.run_dir, len(self.specs)
        name = spec.name
        exp_file = self.files[name]
        rec = rundir.ExperimentRecord(
            name=name,
            file=_relative(exp_file, self.workdir),
            journal=f"chaos/{name}/journal.json",
            load=spec.load.as_dict(),
        )
        self.record.experiments.append(rec)
        tag = f"experiment {index}/{n} {name}"
        chaos_dir = run_dir / "chaos" / name
        chaos_dir.mkdir(parents=True, exist_ok=True)

        locust: procs.procs.Child | None = None
        sampler: Sampler | None = None
        probe: InvestigationProbe | None = None
        chaos: procs.procs.Child | None = None
        interrupted = failed = False
        try:
            locust = self._start_locust(spec)
            rec.started_at = time.time()
            rundir.write_run_json(run_dir, self.record)
            self.say(
                f"{tag}: locust started ({spec.load.users} users, {spec.load.shape}), "
                f"warm-up {spec.warmup_s:g} s"
            )
            sampler = Sampler(
                run_dir / "samples.csv",
                name,
                self.target.fetch_metrics,
                self.target.extra_samples,
            ).start()
            alerts = self.target.probe_alerts()
            probe = InvestigationProbe(self.info.agent_url, alerts, name).start()
            self._wait_locust_running(locust, name)
            self._sleep(spec.warmup_s, tag, "warm-up", locust, name)
            chaos = self._start_chaos(exp_file, chaos_dir, name)
            self.say(f"{tag}: chaos started")
            self._wait_chaos(chaos, spec, tag, locust, rec)
            self._sleep(spec.cooldown_s, tag, "cool-down", locust, name)
        except KeyboardInterrupt:
            interrupted = True
            raise
        except StampedeError as exc:
            failed = True
            rec.errors.append(str(exc))
            raise
        finally:
            with deferred_interrupts(self.say):
                if chaos is not None and chaos.poll() is None:
                    self._interrupt_chaos(chaos, tag)
                if chaos is not None:
                    rec.chaos = {"exit_code": chaos.poll(), "log": _relative(chaos.log, run_dir)}
                if locust is not None:
                    code = locust.stop(signal.SIGINT, LOCUST_EXIT_WAIT_S)
                    rec.locust = {
                        "exit_code": code,
                        "requests": rundir.locust_request_count(run_dir / "locust", name),
                        "log": _relative(locust.log, run_dir),
                    }
                if sampler is not None:
                    sampler.stop()
                    rec.sampler = sampler.stats()
                if probe is not None:
                    probe.stop()
                rec.ended_at = time.time()
                healed = self.target.heal()
                rec.chaos["healed"] = healed
                for line in healed:
                    self.say(f"{tag}: {line}")
                if not (interrupted or failed):
                    if probe is not None:
                        rec.checks = probe.verify()
                    rec.errors.extend(
                        f"left behind after the experiment's rollbacks: {line}"
                        for line in healed
                        if line.startswith(("cleared", "restarted"))
                    )
                self._finish_record(rec, chaos, interrupted, failed)
                rundir.write_run_json(run_dir, self.record)
        counted = rec.locust.get("requests")
        lost = rec.checks.get("lost_investigations")
        self.say(
            f"{tag}: done, status {rec.status}"
            f"{' (deviated)' if rec.deviated else ''}, {counted if counted is not None else '?'} "
            f"requests, lost investigations {lost if lost is not None else 'n/a'}"
            f" of {rec.checks.get('sampled', 0)} probed"
        )

    def _finish_record(
        self,
        rec: rundir.ExperimentRecord,
        chaos: procs.procs.Child | None,
        interrupted: bool,
        failed: bool,
    ) -> None:
        """Status and deviation from the journal; problems become harness errors (exit 2)."""
        assert self.run_dir is not None and self.record is not None
        status, deviated, failed_actions = rundir.read_journal_status(self.run_dir / rec.journal)
        rec.deviated = deviated
        if interrupted:
            rec.status = "interrupted"
        elif status is not None:
            rec.status = status
        elif chaos is None or failed:
            rec.status = "error"
        else:
            rec.status = "error"
            rec.errors.append(f"chaos wrote no journal; log {rec.chaos.get('log')}")
        if not interrupted and status in ("failed", "aborted"):
            rec.errors.append(
                f"chaos {status}: the fault may not have been injected as designed "
                f"(see {rec.journal})"
            )
        if not interrupted and failed_actions:
            rec.errors.append(f"method action(s) failed: {', '.join(failed_actions)}")
        if not (interrupted or failed):  # a failure is recorded once, by run()
            self.record.harness_errors.extend(f"{rec.name}: {e}" for e in rec.errors)

    # -- Locust
    def _start_locust(self, spec: ExperimentSpec) -> procs.Child:
        assert self.run_dir is not None and self.info is not None
        locust_dir = self.run_dir / "locust"
        name = spec.name
        budget = spec.warmup_s + spec.chaos_timeout_s + spec.cooldown_s + LOCUST_RUN_TIME_SLACK_S
        cmd = [
            procs.tool("locust"),
            "-f",
            str(self._path(self.config.locustfile)),
            "--headless",
            "-u",
            str(spec.load.users),
            "-r",
            f"{spec.load.spawn_rate:g}",
            "-t",
            f"{int(budget)}s",
            "--stop-timeout",
            str(LOCUST_STOP_TIMEOUT_S),
            "--host",
            self.info.agent_url,
            "--csv",
            str(locust_dir / name),
            "--csv-full-history",
            "--html",
            str(locust_dir / f"{name}.html"),
            "--json-file",
            str(locust_dir / f"{name}"),
            "--only-summary",
            "--stampede-requests-csv",
            str(locust_dir / f"{name}.requests.csv"),
            "--stampede-experiment",
            name,
            "--stampede-shape",
            spec.load.shape,
            "--stampede-seed",
            str(self.config.seed),
        ]
        if spec.load.arrival_rate is not None:
            cmd += ["--stampede-arrival-rate", f"{spec.load.arrival_rate:g}"]
        for option, value in spec.load.options:
            cmd += [option, value]
        return procs.Child(
            "locust",
            cmd,
            self.run_dir / "logs" / f"locust-{name}.log",
            env={},
            cwd=self.workdir,
        )

    def _wait_locust_running(self, locust: procs.Child, name: str) -> None:
        """Until Locust writes its first stats row (it imports and spawns users in ~1-2 s)."""
        assert self.run_dir is not None
        history = self.run_dir / "locust" / f"{name}_stats_history.csv"
        deadline = time.monotonic() + LOCUST_START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_locust(locust, name)
            if history.exists() and history.stat().st_size > 0:
                return
            time.sleep(0.2)
        raise HarnessError(
            f"locust ({name}) wrote no stats in {LOCUST_START_TIMEOUT_S} s; log {locust.log}:\n"
            f"{locust.log_tail()}"
        )

    def _check_locust(self, locust: procs.Child, name: str) -> None:
        code = locust.poll()
        if code is not None:
            raise HarnessError(
                f"locust ({name}) exited early with code {code}; log {locust.log}:\n"
                f"{locust.log_tail()}"
            )

    def _sleep(self, seconds: float, tag: str, what: str, locust: procs.Child, name: str) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._check_locust(locust, name)
            time.sleep(min(0.25, left))
        self.say(f"{tag}: {what} done, {self._live(name)} requests so far")

    def _live(self, name: str) -> str:
        assert self.run_dir is not None
        count = rundir.live_request_count(self.run_dir / "locust", name)
        return str(count) if count is not None else "?"

    # -- chaos
    def _start_chaos(self, exp_file: Path, chaos_dir: Path, name: str) -> procs.Child:
        assert self.run_dir is not None
        cmd = [
            procs.tool("chaos"),
            "--no-version-check",
            "--log-file",
            str(chaos_dir / "chaostoolkit.log"),
            "run",
            # Chaos Toolkit's default skips rollbacks when a run is interrupted or its
            # hypothesis fails: a harness must never leave a fault behind.
            "--rollback-strategy",
            "always",
            "--journal-path",
            str(chaos_dir / "journal.json"),
            str(exp_file),
        ]
        env = {
            **self.target.chaos_env(),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        return procs.Child(
            "chaos", cmd, self.run_dir / "logs" / f"chaos-{name}.log", env, self.workdir
        )

    def _wait_chaos(
        self,
        chaos: procs.Child,
        spec: ExperimentSpec,
        tag: str,
        locust: procs.Child,
        rec: rundir.ExperimentRecord,
    ) -> None:
        started = time.monotonic()
        next_line = started + 5
        locust_gone = False
        while chaos.poll() is None:
            now = time.monotonic()
            if now - started > spec.chaos_timeout_s:
                rec.errors.append(f"chaos exceeded {spec.chaos_timeout_s:g} s; interrupted")
                self._interrupt_chaos(chaos, tag)
                return
            if locust.poll() is not None and not locust_gone:
                # Keep going: the fault is in place and must be rolled back; report afterwards.
                locust_gone = True
                rec.errors.append(f"locust exited while chaos ran (code {locust.poll()})")
            if now >= next_line:
                self.say(
                    f"{tag}: chaos running {now - started:4.0f} s, {self._live(spec.name)} requests"
                )
                next_line = now + 5
            time.sleep(0.25)
        self.say(
            f"{tag}: chaos finished (exit {chaos.poll()}) in {time.monotonic() - started:.0f} s"
        )

    def _interrupt_chaos(self, chaos: procs.Child, tag: str) -> None:
        self.say(f"{tag}: stopping chaos (SIGINT: Chaos Toolkit runs the rollbacks)")
        code = chaos.stop(signal.SIGINT, CHAOS_ROLLBACK_WAIT_S)
        self.say(f"{tag}: chaos exited with {code}")

    # -- collect, report, gate
    def _collect(self, partial: bool) -> None:
        assert self.run_dir is not None and self.record is not None
        record = self.record
        merged = rundir.merge_requests(self.run_dir, [e.name for e in record.experiments])
        rundir.ensure_samples_file(self.run_dir)
        record.requests = merged.as_dict()
        counted = [e.locust.get("requests") for e in record.experiments]
        record.requests["locust_total"] = (
            sum(int(c) for c in counted if c is not None) if counted else 0
        )
        record.partial = partial
        record.ended_at = time.time()
        rundir.write_run_json(self.run_dir, record)
        self.say(
            f"collected: requests.csv {merged.rows} rows "
            f"(Locust counted {record.requests['locust_total']}), samples.csv, run.json"
        )

    def _report_and_gate(self) -> SuiteOutcome:
        """Report, then gate. Exit: the gate's code, or 2 when the harness had a problem."""
        assert self.run_dir is not None and self.record is not None
        run_dir = self.run_dir
        slo = self._path(self.config.slo) if self.config.slo else None
        errors = list(self.record.harness_errors)
        if not self.config.report:
            return SuiteOutcome(run_dir, 2 if errors else 0)
        rebuild = f"rebuild with `stampede report {run_dir}` / `stampede gate {run_dir} --slo ...`"
        try:
            write_report, run_gate = self._reporters or _load_reporters()
            report_path: Path | None = None
            try:
                report_path = write_report(run_dir, slo)
                self.say(f"report: {report_path}")
            except StampedeError as exc:
                errors.append(f"report: {exc}")
                self.say(f"report failed: {exc}")
            if slo is None:
                self.say("no --slo: gate skipped")
                return SuiteOutcome(run_dir, 2 if errors else 0, report_path=report_path)
            result = run_gate(run_dir, slo)
        except KeyboardInterrupt:
            self.say(f"interrupted during report/gate; the run directory is complete: {rebuild}")
            return SuiteOutcome(run_dir, EXIT_INTERRUPTED, interrupted=True)
        except StampedeError as exc:
            raise type(exc)(f"{exc} (run directory {run_dir}; {rebuild})") from exc
        table = str(result.table_text)
        code = int(result.exit_code)
        print(table, flush=True)
        if errors:
            self.say("harness problems, exit 2: " + "; ".join(errors))
            code = 2
        self.say(f"gate: exit {code}; report {report_path or '(none)'}; run directory {run_dir}")
        return SuiteOutcome(run_dir, code, report_path=report_path, gate_table=table)


def _spec_dict(spec: ExperimentSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "load": spec.load.as_dict(),
        "warmup_s": spec.warmup_s,
        "cooldown_s": spec.cooldown_s,
        "chaos_timeout_s": spec.chaos_timeout_s,
    }


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def run_suite(config: SuiteConfig, say: Say | None = None) -> SuiteOutcome:
    """Run a suite from a config (what the CLI calls)."""
    return Suite(config, say=say).run()
