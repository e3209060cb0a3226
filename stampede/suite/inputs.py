"""What a suite asks of someone else's agent: its case file, its declarative profile, pass^k.

``--cases PATH`` is loaded with :func:`stampede.cases.load_cases` up front (a bad file is an
InputError naming file, line and field before anything starts). ``--target-profile PATH.yaml``
is validated by the loader Locust will use (``loadtests.declarative.load_declarative_profile``)
in a child Python process: ``stampede`` never imports ``loadtests`` (the Locust side of the
harness depends on ``stampede``, not the other way round). Its ``metrics:`` section is read here
(:mod:`stampede.metricmap`) and goes to the sampler. ``--profile x.yaml`` (an existing file) is
taken as ``--target-profile`` with the default suite profile.

All of it reaches Locust as ``--stampede-profile``, ``--stampede-cases`` and
``--stampede-repeat`` (:func:`locust_inputs`).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stampede.cases import load_cases
from stampede.errors import HarnessError, InputError
from stampede.metricmap import REFERENCE, MetricMap, profile_metric_map

PROFILE_SUFFIXES = (".yaml", ".yml")
DEFAULT_SUITE_PROFILE = "smoke"
CHECK_TIMEOUT_S = 60.0

# Run by the child process: exit 2 with the loader's one-line message for a bad profile.
_CHECK_PROFILE = """\
import sys
from stampede.errors import StampedeError
from loadtests.declarative import load_declarative_profile
try:
    load_declarative_profile(sys.argv[1])
except StampedeError as exc:
    print(exc, file=sys.stderr)
    sys.exit(2)
"""


@dataclass(frozen=True)
class TargetInputs:
    """The validated inputs: what Locust is given and the map the sampler reads with."""

    cases: Path | None = None
    case_count: int | None = None
    target_profile: Path | None = None
    repeat: int | None = None
    metric_map: MetricMap = REFERENCE

    def locust_args(self) -> tuple[str, ...]:
        """``--stampede-profile/-cases/-repeat`` for Locust (only those given)."""
        args: list[str] = []
        if self.target_profile is not None:
            args += ["--stampede-profile", str(self.target_profile)]
        if self.cases is not None:
            args += ["--stampede-cases", str(self.cases)]
        if self.repeat is not None:
            args += ["--stampede-repeat", str(self.repeat)]
        return tuple(args)


def _resolve(path: Path, workdir: Path) -> Path:
    return path if path.is_absolute() else workdir / path


def split_profile(
    profile: str, target_profile: Path | None, workdir: Path
) -> tuple[str, Path | None]:
    """``(suite profile, target profile)``: ``--profile x.yaml`` (an existing file) is taken as
    ``--target-profile`` with the default suite profile; InputError for a .yaml that is not
    there, or two different target profiles."""
    if not profile.endswith(PROFILE_SUFFIXES):
        return profile, target_profile
    path = Path(profile)
    if not _resolve(path, workdir).is_file():
        raise InputError(
            f"--profile {profile}: no such file (a suite profile is a name such as "
            f"{DEFAULT_SUITE_PROFILE}; an existing .yaml/.yml file is taken as --target-profile)"
        )
    if target_profile is not None and target_profile != path:
        raise InputError(
            f"--profile {profile} and --target-profile {target_profile}: two target profiles; "
            "give one"
        )
    return DEFAULT_SUITE_PROFILE, path


def check_inputs(
    cases: Path | None, target_profile: Path | None, repeat: int | None, workdir: Path
) -> TargetInputs:
    """Validate the case file, the target profile and ``--repeat``; InputError naming them."""
    if repeat is not None and repeat < 1:
        raise InputError(f"--repeat {repeat}: must be at least 1")
    case_file = count = None
    if cases is not None:
        case_file = _resolve(cases, workdir).resolve()
        count = len(load_cases(case_file))
    profile, metric_map = None, REFERENCE
    if target_profile is not None:
        profile = _resolve(target_profile, workdir).resolve()
        if not profile.is_file():
            raise InputError(f"--target-profile {target_profile}: file not found")
        if profile.suffix not in PROFILE_SUFFIXES:
            raise InputError(
                f"--target-profile {target_profile}: a declarative profile is a "
                f"{'/'.join(PROFILE_SUFFIXES)} file"
            )
        check_target_profile(profile, workdir)
        metric_map = profile_metric_map(profile) or REFERENCE
    return TargetInputs(case_file, count, profile, repeat, metric_map)


def check_target_profile(path: Path, workdir: Path) -> None:
    """Run Locust's loader on ``path`` in a child process; InputError with its message if bad."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHECK_PROFILE, str(path)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(
            f"--target-profile {path}: the check did not finish in {CHECK_TIMEOUT_S:g} s"
        ) from exc
    if done.returncode == 2:
        lines = done.stderr.strip().splitlines()
        raise InputError(lines[-1] if lines else f"--target-profile {path}: invalid")
    if done.returncode != 0:
        raise HarnessError(
            f"--target-profile {path}: could not run the profile check "
            f"(exit {done.returncode}): {done.stderr.strip()[-500:]}"
        )
