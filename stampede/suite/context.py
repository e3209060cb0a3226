"""What every step of one suite run shares: config, target, run directory, record, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stampede import rundir
from stampede.suite.config import SuiteConfig, resolve
from stampede.suite.inputs import TargetInputs
from stampede.targets.base import Say, Target, TargetInfo


@dataclass
class RunContext:
    """One suite run in progress: where it writes and what it runs against."""

    config: SuiteConfig
    workdir: Path  # resolved; relative paths of the config are under it
    target: Target
    run_dir: Path
    record: rundir.RunRecord
    say: Say
    inputs: TargetInputs = field(default_factory=TargetInputs)  # cases, profile, metric map
    info: TargetInfo | None = None  # set once the target is up

    def path(self, path: Path) -> Path:
        """A path of the config, resolved against the work directory."""
        return resolve(path, self.workdir)

    def save(self) -> None:
        """Write run.json as it stands (atomically: readers never see half a file)."""
        rundir.write_run_json(self.run_dir, self.record)

    @property
    def agent_url(self) -> str:
        """The agent's URL (only after the target is up)."""
        assert self.info is not None, "agent_url before the target is up"
        return self.info.agent_url
