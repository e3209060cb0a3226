"""Runs one `Suite` against a fake target with fake reporters, as its own process.

``python suite_driver.py '<json args>'`` (see tests/stampede/test_suite.py ``Fakes.args``);
exit code: the suite's, or 2 with one line for a harness error, like the CLI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

from stampede import profiles
from stampede.errors import StampedeError
from stampede.profiles import ExperimentSpec, Load, Profile
from stampede.suite import Reporters, Suite, SuiteConfig
from stampede.targets.base import (
    Capabilities,
    FaultEndpoint,
    MetricsSource,
    Sample,
    Say,
    TargetInfo,
    TargetStatus,
)


class FakeTarget:
    """A target that is always up at ``agent_url``; ``heal`` removes a left-over fault file."""

    name = "fake"
    capabilities = Capabilities(
        counts_replicas=False, counts_workers=True, counts_lost_records=True, starts_agent=False
    )
    started_by_us = False

    def __init__(self, args: dict[str, Any]) -> None:
        self.agent_url = str(args["agent_url"])
        self.fault = Path(args["fault_file"])

    def up(self, say: Say) -> TargetInfo:
        return TargetInfo(self.agent_url, None, "reused")

    def down(self, say: Say) -> None:
        pass

    def status(self) -> TargetStatus:
        return TargetStatus(True, None)

    def chaos_env(self) -> dict[str, str]:
        return {}

    def metrics_sources(self) -> list[MetricsSource]:
        return [MetricsSource("agent", f"{self.agent_url}/metrics")]

    def fetch_metrics(self) -> str:
        return httpx.get(f"{self.agent_url}/metrics", timeout=2, trust_env=False).text

    def extra_samples(self) -> list[Sample]:
        return [("workers_alive", "", 2.0)]

    def fault_endpoints(self) -> list[FaultEndpoint]:
        return []

    def probe_alerts(self) -> list[dict[str, Any]]:
        return [{"alert_type": "x", "service": "y"}]

    def heal(self) -> list[str]:
        if self.fault.exists():
            self.fault.unlink()
            return ["cleared fault file left behind"]
        return []


class Gate:
    """What ``run_gate`` returns: an exit code and a table."""

    def __init__(self, exit_code: int) -> None:
        self.exit_code = exit_code
        self.table_text = "objective | verdict"


def reporters(gate_exit: int) -> Reporters:
    """A report that is one HTML line and a gate that exits ``gate_exit``."""

    def write_report(run_dir: Path, slo: Path | None) -> Path:
        path = Path(run_dir) / "report.html"
        path.write_text("<html>fake</html>")
        return path

    def run_gate(run_dir: Path, slo: Path) -> Gate:
        (Path(run_dir) / "gate.json").write_text("{}")
        return Gate(gate_exit)

    return Reporters(write_report, run_gate)


def main(args: dict[str, Any]) -> int:
    """Register the ``fake`` profile, run the suite, return its exit code."""
    profiles.PROFILES["fake"] = Profile("fake", "fake", tuple(
        ExperimentSpec(name, Load(users=2, spawn_rate=2), warmup_s=args["warmup"],
                       cooldown_s=args["cooldown"], chaos_timeout_s=args["chaos_timeout"])
        for name in args["experiments"]))  # fmt: skip
    config = SuiteConfig(
        profile="fake",
        slo=Path(args["slo"]),
        runs_dir=Path(args["runs_dir"]),
        run_id=args["run_id"],
        workdir=Path(args["workdir"]),
        locustfile=Path(args["locustfile"]),
        experiments_dir=Path(args["experiments_dir"]),
    )
    try:
        suite = Suite(config, target=FakeTarget(args), reporters=reporters(args["gate_exit"]))
        return suite.run().exit_code
    except StampedeError as exc:
        print(f"stampede: error: {exc}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
