"""One experiment's ``chaos --no-version-check run``: command line, start, rollback interrupt."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from stampede import procs
from stampede.suite.context import RunContext

CHAOS_ROLLBACK_WAIT_S = 90


def chaos_command(exp_file: Path, chaos_dir: Path) -> list[str]:
    """The ``chaos --no-version-check run`` command line, journal and log under ``chaos_dir``."""
    return [
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


def start_chaos(ctx: RunContext, exp_file: Path, name: str) -> procs.Child:
    """Start ``chaos --no-version-check run`` with the target's env (this venv first on PATH)."""
    chaos_dir = ctx.run_dir / "chaos" / name
    env = {
        **ctx.target.chaos_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = ctx.run_dir / "logs" / f"chaos-{name}.log"
    return procs.Child("chaos", chaos_command(exp_file, chaos_dir), log, env, ctx.workdir)


def interrupt_chaos(ctx: RunContext, chaos: procs.Child, tag: str) -> None:
    """One SIGINT: Chaos Toolkit runs the rollbacks; then escalate if it does not exit."""
    ctx.say(f"{tag}: stopping chaos (SIGINT: Chaos Toolkit runs the rollbacks)")
    code = chaos.stop(signal.SIGINT, CHAOS_ROLLBACK_WAIT_S)
    ctx.say(f"{tag}: chaos exited with {code}")
