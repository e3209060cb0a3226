"""What a suite run is asked to do (`SuiteConfig`), what it returns, and the up-front checks.

Everything the user gave is validated here, before any process starts: a typo in a profile,
weakness, run id, locustfile, experiment name or SLO file fails in a second with one line
naming it, not after the stack came up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reports.slo import load_slo
from stampede import profiles, rundir
from stampede.errors import InputError
from stampede.profiles import ExperimentSpec
from stampede.suite.inputs import TargetInputs, check_inputs, split_profile
from stampede.targets import TARGETS
from stampede.targets.base import TargetOptions
from target_agent.agent.weaknesses import WEAKNESSES

EXIT_INTERRUPTED = 130


@dataclass
class SuiteConfig:
    """One suite run as the CLI (or a campaign) asks for it."""

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
    # The url target's (--agent-url ...; make_target refuses them for local and kind).
    agent_url: str | None = None
    metrics_url: str | None = None
    fault_url: str | None = None
    fault_token: str | None = field(default=None, repr=False)
    allow_remote: bool = False
    # Someone else's agent: its cases, its declarative profile, and pass^k (issue 9).
    cases: Path | None = None
    target_profile: Path | None = None
    repeat: int | None = None
    # The local target's fault proxy between agent and toolbox (--proxy/--no-proxy; None: as
    # the running stack has it, a new stack starts without). make_target refuses it elsewhere.
    proxy: bool | None = None

    def target_options(self) -> TargetOptions:
        """What ``make_target`` needs beyond the target's name."""
        return TargetOptions(
            agent_url=self.agent_url,
            metrics_url=self.metrics_url,
            fault_url=self.fault_url,
            fault_token=self.fault_token,
            allow_remote=self.allow_remote,
            proxy=self.proxy,
        )

    def as_dict(self) -> dict[str, Any]:
        """The config as run.json records it (``config``, before ``specs``)."""
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
            "agent_url": self.agent_url,
            "metrics_url": self.metrics_url,
            "fault_url": self.fault_url,
            "fault_token": "(given)" if self.fault_token else None,  # never the token itself
            "allow_remote": self.allow_remote,
            "cases": str(self.cases) if self.cases else None,
            "target_profile": str(self.target_profile) if self.target_profile else None,
            "repeat": self.repeat,
            "proxy": self.proxy,
        }


@dataclass
class SuiteOutcome:
    """How a suite run ended: its run directory and exit code (0, 1, 2 or 130)."""

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


@dataclass(frozen=True)
class Plan:
    """The validated run: experiments in order, each with its experiment file."""

    specs: tuple[ExperimentSpec, ...]
    files: dict[str, Path]
    inputs: TargetInputs = field(default_factory=TargetInputs)


def resolve(path: Path, workdir: Path) -> Path:
    """``path`` as given if absolute, else under ``workdir``."""
    return path if path.is_absolute() else workdir / path


def normalise(config: SuiteConfig, workdir: Path) -> SuiteConfig:
    """The config with ``--profile x.yaml`` taken as ``--target-profile`` (see suite.inputs)."""
    profile, target_profile = split_profile(config.profile, config.target_profile, workdir)
    return replace(config, profile=profile, target_profile=target_profile)


def validate(config: SuiteConfig, workdir: Path) -> Plan:
    """Check everything the user gave before anything starts; InputError naming what is wrong.

    ``config`` is a :func:`normalise`-d one.
    """
    c = config
    if c.target not in TARGETS:
        raise InputError(f"--target {c.target!r}: unknown target (known: {', '.join(TARGETS)})")
    if c.weakness is not None and c.weakness not in WEAKNESSES:
        raise InputError(
            f"--weakness {c.weakness!r}: unknown (known: none, {', '.join(WEAKNESSES)})"
        )
    if c.run_id is not None:
        rundir.check_run_id(c.run_id)
    profile = profiles.get_profile(c.profile, c.target)
    specs = profiles.with_users(profiles.select(profile, c.experiments), c.users)
    for own in [c.locustfile, *(Path(s.locustfile) for s in specs if s.locustfile)]:
        locustfile = resolve(own, workdir)
        if not locustfile.is_file():
            raise InputError(
                f"locustfile {locustfile} not found (run from the repository root or pass "
                "--locustfile)"
            )
    files = profiles.resolve_files(specs, resolve(c.experiments_dir, workdir), c.target)
    if c.slo is not None:
        slo = resolve(c.slo, workdir)
        if not slo.is_file():
            raise InputError(f"--slo {c.slo}: file not found")
        load_slo(slo)  # a typo should fail in a second, not after the whole suite
    inputs = check_inputs(c.cases, c.target_profile, c.repeat, workdir)
    return Plan(tuple(specs), files, inputs)


def spec_dict(spec: ExperimentSpec) -> dict[str, Any]:
    """One experiment's plan as run.json's ``config.specs`` records it."""
    return {
        "name": spec.name,
        "load": spec.load.as_dict(),
        "warmup_s": spec.warmup_s,
        "cooldown_s": spec.cooldown_s,
        "chaos_timeout_s": spec.chaos_timeout_s,
        **({"locustfile": spec.locustfile} if spec.locustfile else {}),
    }


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it is inside it, else as given."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
