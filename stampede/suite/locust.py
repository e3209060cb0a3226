"""Locust in one experiment: its command line, start, "is it running", and stop.

Locust runs headless in its own session (a terminal Ctrl-C reaches only the suite); SIGINT makes
it stop the users, write its CSV/HTML/JSON and let the recorder flush (``--stop-timeout``).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from pathlib import Path

from stampede import procs, rundir
from stampede.errors import HarnessError
from stampede.profiles import ExperimentSpec
from stampede.suite.config import relative
from stampede.suite.context import RunContext

LOCUST_STOP_TIMEOUT_S = 10  # Locust's own --stop-timeout: users finish the request in hand
LOCUST_EXIT_WAIT_S = LOCUST_STOP_TIMEOUT_S + 20
LOCUST_RUN_TIME_SLACK_S = 60  # -t safety cap beyond the planned time, if the suite dies
LOCUST_START_TIMEOUT_S = 30


def locust_command(
    spec: ExperimentSpec,
    locustfile: Path,
    agent_url: str,
    locust_dir: Path,
    seed: int,
    inputs: Sequence[str] = (),
) -> list[str]:
    """The ``locust`` command line of one experiment (outputs under ``locust_dir``).

    ``inputs``: ``--stampede-profile/-cases/-repeat`` (:meth:`TargetInputs.locust_args`).
    """
    name = spec.name
    budget = spec.warmup_s + spec.chaos_timeout_s + spec.cooldown_s + LOCUST_RUN_TIME_SLACK_S
    cmd = [
        procs.tool("locust"), "-f", str(locustfile), "--headless",
        "-u", str(spec.load.users), "-r", f"{spec.load.spawn_rate:g}", "-t", f"{int(budget)}s",
        "--stop-timeout", str(LOCUST_STOP_TIMEOUT_S), "--host", agent_url,
        "--csv", str(locust_dir / name), "--csv-full-history",
        "--html", str(locust_dir / f"{name}.html"), "--json-file", str(locust_dir / name),
        "--only-summary",
        "--stampede-requests-csv", str(locust_dir / f"{name}.requests.csv"),
        "--stampede-experiment", name,
        "--stampede-shape", spec.load.shape,
        "--stampede-seed", str(seed),
    ]  # fmt: skip
    if spec.load.arrival_rate is not None:
        cmd += ["--stampede-arrival-rate", f"{spec.load.arrival_rate:g}"]
    for option, value in spec.load.options:
        cmd += [option, value]
    return cmd + list(inputs)


def start_locust(ctx: RunContext, spec: ExperimentSpec) -> procs.Child:
    """Start Locust for ``spec`` against the target's agent."""
    cmd = locust_command(
        spec,
        ctx.path(Path(spec.locustfile) if spec.locustfile else ctx.config.locustfile),
        ctx.agent_url,
        ctx.run_dir / "locust",
        ctx.config.seed,
        ctx.inputs.locust_args(),
    )
    log = ctx.run_dir / "logs" / f"locust-{spec.name}.log"
    return procs.Child("locust", cmd, log, env={}, cwd=ctx.workdir)


def check_locust(locust: procs.Child, name: str) -> None:
    """HarnessError with its log tail if Locust has exited."""
    code = locust.poll()
    if code is not None:
        raise HarnessError(
            f"locust ({name}) exited early with code {code}; log {locust.log}:\n{locust.log_tail()}"
        )


def wait_locust_running(locust: procs.Child, locust_dir: Path, name: str) -> None:
    """Until Locust writes its first stats row (it imports and spawns users in ~1-2 s)."""
    history = locust_dir / f"{name}_stats_history.csv"
    deadline = time.monotonic() + LOCUST_START_TIMEOUT_S
    while time.monotonic() < deadline:
        check_locust(locust, name)
        if history.exists() and history.stat().st_size > 0:
            return
        time.sleep(0.2)
    raise HarnessError(
        f"locust ({name}) wrote no stats in {LOCUST_START_TIMEOUT_S} s; log {locust.log}:\n"
        f"{locust.log_tail()}"
    )


def stop_locust(locust: procs.Child, run_dir: Path, name: str) -> rundir.LocustResult:
    """SIGINT (Locust writes its reports), wait, escalate; what it counted."""
    code = locust.stop(signal.SIGINT, LOCUST_EXIT_WAIT_S)
    return rundir.LocustResult(
        exit_code=code,
        requests=rundir.locust_request_count(run_dir / "locust", name),
        log=relative(locust.log, run_dir),
    )


def live_count(run_dir: Path, name: str) -> str:
    """Requests so far for progress lines (``?`` when Locust's history is not readable yet)."""
    count = rundir.live_request_count(run_dir / "locust", name)
    return str(count) if count is not None else "?"
