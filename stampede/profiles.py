"""Suite profiles: which experiments a suite runs, and the load and timing of each.

A profile is a tuple of ``ExperimentSpec``; adding an experiment to a profile is one entry. The
experiment file is ``experiments/<target>/<name>.json`` (same name on every target); a missing
file is an InputError naming it, before anything starts.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from stampede.errors import InputError

SHAPES = ("steady", "ramp", "spike", "open", "none")  # loadtests' --stampede-shape values
#: An experiment name: it becomes file and directory names (experiments/<target>/<name>.json,
#: chaos/<name>/, locust/<name>*), so no '/', no '..', nothing that starts a hidden file.
EXPERIMENT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def check_experiment_name(name: str) -> str:
    """``name`` when it is a safe experiment name (:data:`EXPERIMENT_NAME_RE`); else InputError."""
    if not isinstance(name, str) or not EXPERIMENT_NAME_RE.match(name) or ".." in name:
        raise InputError(
            f"experiment {name!r}: an experiment name is 1-64 of a-z, 0-9, '.', '_', '-', "
            "starting with a letter or digit, without '..' (it names files and directories)"
        )
    return name


@dataclass(frozen=True)
class Load:
    """What Locust does during one experiment (maps to `locust -u/-r` and `--stampede-*`)."""

    users: int = 8
    spawn_rate: float = 8.0
    shape: str = "steady"
    arrival_rate: float | None = None  # open model only: arrivals per second in total
    # More `--stampede-*` options for this experiment, e.g. (("--stampede-spike-at", "10s"),).
    options: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment of a profile with its timing around the Chaos Toolkit experiment.

    Timeline: Locust starts -> ``warmup_s`` -> chaos (at most ``chaos_timeout_s``) ->
    ``cooldown_s`` -> Locust stops.
    """

    name: str
    load: Load = field(default_factory=Load)
    warmup_s: float = 5.0
    # Long enough after the fault clears to *see* recovery: recovery_time_s needs the success
    # ratio at objective for `recovery_sustain_s` (5 s) inside the recovery phase; with 5-6 s a
    # brief post-outage shed made 1 of 3 smoke runs report "never recovered" (measured).
    cooldown_s: float = 10.0
    chaos_timeout_s: float = 120.0
    # The locustfile of this experiment (relative to the repository), when not the suite's
    # --locustfile: e.g. the asynchronous API's user for worker-kill-mid-run.
    locustfile: str | None = None

    def file(self, experiments_dir: Path, target: str) -> Path:
        return experiments_dir / target / f"{self.name}.json"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    experiments: tuple[ExperimentSpec, ...]

    def names(self) -> list[str]:
        return [spec.name for spec in self.experiments]


# Modest load: the smoke suite (3 experiments, stack start, report, gate) stays under 3 minutes
# on 2 shared cores. The full profile (issue 4) adds one ExperimentSpec per experiment.
_SMOKE_LOAD = Load(users=8, spawn_rate=4.0, shape="steady")  # users start over 2 s, not at once
_DURABLE_LOAD = Load(16, 8.0, "steady", options=(("--stampede-timeout", "6"),))  # see below

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="replica kill, tool latency and a Redis outage under modest steady load",
        experiments=(
            ExperimentSpec("replica-kill", _SMOKE_LOAD),
            ExperimentSpec("tool-latency", _SMOKE_LOAD),
            # Write-behind records are flushed after Redis returns: the cool-down also lets
            # the suite's lost-investigation check see the flushed state.
            ExperimentSpec("redis-outage", _SMOKE_LOAD),
        ),
    ),
}


def get_profile(name: str, target: str = "local") -> Profile:
    """The named profile for ``target``, or an InputError listing the known ones.

    A target with its own catalogue (:data:`TARGET_PROFILES`, e.g. ``url``) has only its own
    profiles; a profile of the reference targets it lacks is an error saying so.
    """
    own = TARGET_PROFILES.get(target)
    if own is not None:
        if name in own:
            return own[name]
        known = ", ".join(sorted(own))
        if name in PROFILES:
            raise InputError(
                f"--profile {name!r}: no experiments for --target {target} yet (its experiments "
                f"are in experiments/{target}/; profiles for {target}: {known})"
            )
        raise InputError(f"--profile {name!r}: unknown profile for --target {target} "
                         f"(known: {known})")  # fmt: skip
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"--profile {name!r}: unknown profile (known: {known})") from None


def select(profile: Profile, only: list[str] | None) -> tuple[ExperimentSpec, ...]:
    """The profile's experiments, or the ones named in ``only`` in that order.

    A name outside the profile runs with the default load and timing (so a single new experiment
    can be tried without editing a profile); duplicates are an InputError.
    """
    if not only:
        return profile.experiments
    for name in only:
        check_experiment_name(name)
    dupes = sorted({n for n in only if only.count(n) > 1})
    if dupes:
        raise InputError(f"--experiments: {', '.join(dupes)} given more than once")
    by_name = {spec.name: spec for spec in profile.experiments}
    return tuple(by_name.get(name) or ExperimentSpec(name) for name in only)


def resolve_files(
    specs: tuple[ExperimentSpec, ...], experiments_dir: Path, target: str
) -> dict[str, Path]:
    """Map each experiment to its file; InputError naming every missing file at once."""
    for spec in specs:
        check_experiment_name(spec.name)
    files = {spec.name: spec.file(experiments_dir, target) for spec in specs}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        hint = ""
        if target in TARGET_PROFILES:  # a catalogue of its own: say what it has
            there = sorted(path.stem for path in (experiments_dir / target).glob("*.json"))
            hint = f" (experiments for {target}: {', '.join(there) or 'none'})"
        raise InputError(
            f"experiment file(s) not found for target {target!r}: {', '.join(missing)}{hint}"
        )
    for spec in specs:
        load = spec.load
        if load.shape not in SHAPES:
            raise InputError(f"experiment {spec.name}: load shape {load.shape!r} not in {SHAPES}")
        if (load.shape == "open") != (load.arrival_rate is not None):
            raise InputError(
                f"experiment {spec.name}: an arrival rate goes with the open shape only "
                f"(shape {load.shape!r}, arrival rate {load.arrival_rate})"
            )
    return files


def with_users(specs: tuple[ExperimentSpec, ...], users: int | None) -> tuple[ExperimentSpec, ...]:
    """Override the user count of every experiment (``--users``)."""
    if users is None:
        return specs
    if users < 1:
        raise InputError(f"--users {users}: must be at least 1")
    return tuple(
        replace(s, load=replace(s.load, users=users, spawn_rate=float(users))) for s in specs
    )


# The full local catalogue (issue 4): 13 experiments, each ~15-25 s of chaos, under the smoke
# profile's modest steady load except `overload`, whose load *is* the fault: a spike to 120 users
# (8 at rest) from 8 s to 18 s of Locust's clock. The method (a 20 s observation) starts ~7.5 s
# after Locust (5 s warm-up + Chaos Toolkit start + hypothesis), so the `fault` phase holds the
# spike and the ~8 s its admitted backlog needs to drain, and `recovery` shows the way back.
# Budget: <= 15 minutes on 2 cores (docs/detection.md has the measured wall time).
_OVERLOAD_LOAD = Load(
    users=8,
    spawn_rate=60.0,
    shape="spike",
    options=(
        ("--stampede-spike-users", "120"),
        ("--stampede-spike-at", "8s"),
        ("--stampede-spike-length", "10s"),
    ),
)

PROFILES["full"] = Profile(
    name="full",
    description="every local fault: the smoke experiments plus tool, LLM, Redis, correctness, "
    "rollout and overload faults, and a fault-free baseline",
    experiments=(
        # A fault-free experiment has a single phase: a longer cool-down gives it ~20 s of data.
        ExperimentSpec("baseline", _SMOKE_LOAD, cooldown_s=12.0),
        *PROFILES["smoke"].experiments,
        ExperimentSpec("rolling-restart", _SMOKE_LOAD),
        ExperimentSpec("tool-errors", _SMOKE_LOAD),
        ExperimentSpec("tool-hang", _SMOKE_LOAD),
        ExperimentSpec("llm-rate-limit", _SMOKE_LOAD),
        ExperimentSpec("llm-errors", _SMOKE_LOAD),
        ExperimentSpec("redis-brownout", _SMOKE_LOAD),
        ExperimentSpec("lying-tool", _SMOKE_LOAD),
        ExperimentSpec("hallucinating-llm", _SMOKE_LOAD),
        ExperimentSpec("overload", _OVERLOAD_LOAD),
        # Durable investigations (issue 14): the asynchronous API's user submits and polls while
        # workers are SIGKILLed mid-run; the cool-down lets reclaimed runs finish.
        # --stampede-timeout 6: a run's deadline is 3 x 6 = 18 s (a reclaimed run takes ~7 s),
        # so the runs a dead worker kept are judged lost before Locust stops, not left unrecorded.
        # 16 users: ~4 runs in flight on a killed worker (8 users interrupted 2-4 runs in all
        # three kills, too few for interrupted_run_cost_amplification to be judged robustly).
        ExperimentSpec(
            "worker-kill-mid-run",
            _DURABLE_LOAD,
            cooldown_s=20.0,
            locustfile="loadtests/async_locustfile.py",
        ),
    ),
)


# The whole kind catalogue (issue 12; `stampede suite --target kind --profile kind-full`): the
# smoke experiments, a rollout, a drain, the HPA under a ramp, and an overload spike long enough
# for the HPA to react (metrics-server resolution + scale-up: tens of seconds), so slo.yaml's
# overload-scale-out (scale_out_time_s) has replica samples to judge. Waits on the cluster are
# longer than locally: chaos_timeout_s covers each experiment's own bounded waits.
_KIND_RAMP_LOAD = Load(users=48, spawn_rate=8.0, shape="ramp",
                       options=(("--stampede-ramp-steps", "6"),))  # fmt: skip
_KIND_OVERLOAD_LOAD = Load(
    users=8,
    spawn_rate=40.0,
    shape="spike",
    options=(
        ("--stampede-spike-users", "96"),
        ("--stampede-spike-at", "8s"),
        ("--stampede-spike-length", "90s"),
    ),
)
PROFILES["kind-full"] = Profile(
    name="kind-full",
    description="every kind experiment: pod kill, tool latency, Redis outage, rolling update, "
    "node drain, HPA scale-out under a ramp and an overload spike (--target kind)",
    experiments=(
        *PROFILES["smoke"].experiments,
        ExperimentSpec("rolling-update", _SMOKE_LOAD, chaos_timeout_s=300.0),
        ExperimentSpec("node-drain", _SMOKE_LOAD, chaos_timeout_s=300.0),
        ExperimentSpec("hpa-scale-out", _KIND_RAMP_LOAD, chaos_timeout_s=300.0),
        ExperimentSpec("overload", _KIND_OVERLOAD_LOAD, cooldown_s=15.0, chaos_timeout_s=240.0),
    ),
)


# A url target is someone else's agent: none of the reference faults (replica kill, Redis, the
# toolbox) exist there. Its catalogue is experiments/url/: a fault-free baseline, and the LLM and
# tool faults set through a fault proxy in front of its LLM and tools (issue 10; they read
# STAMPEDE_FAULT_API_URL/_TOKEN, i.e. --fault-url/--fault-token). Its load suits a small agent
# (the helpdesk example answers 8 questions at a time): 4 users, started over 2 s, so a fault,
# not the load, is what moves its outcomes.
_SMALL_AGENT_LOAD = Load(users=4, spawn_rate=2.0, shape="steady")
_URL_BASELINE = ExperimentSpec("baseline", _SMALL_AGENT_LOAD, cooldown_s=12.0)

TARGET_PROFILES: dict[str, dict[str, Profile]] = {
    "url": {
        "smoke": Profile(
            name="smoke",
            description="a fault-free baseline of someone else's agent under modest steady load",
            experiments=(ExperimentSpec("baseline", _SMOKE_LOAD, cooldown_s=12.0),),
        ),
        "full": Profile(
            name="full",
            description="the baseline, then through a fault proxy (--fault-url): an LLM 429 "
            "storm, LLM streams cut mid-answer and a lying tool, under a small agent's load",
            experiments=(
                _URL_BASELINE,
                ExperimentSpec("llm-rate-limit", _SMALL_AGENT_LOAD),
                ExperimentSpec("llm-stream-cut", _SMALL_AGENT_LOAD),
                ExperimentSpec("lying-tool", _SMALL_AGENT_LOAD),
            ),
        ),
    },
}
