"""`stampede suite`: load + chaos per experiment, collected into one run directory, then report
and gate (docs/architecture.md, "Data flow of one suite run").

One module per concept::

    config      SuiteConfig, SuiteOutcome, Progress, the up-front validation
    inputs      someone else's agent: case file, declarative profile, metric map, --repeat
    measures    what is sampled (every metrics source) and what the target cannot count
    context     RunContext: what every step of one run shares
    signals     deferred_interrupts, sigterm_as_interrupt
    probe       InvestigationProbe (lost investigations), priming a fresh agent
    locust      Locust's command line, start, wait, stop
    chaos       `chaos --no-version-check run`'s command line, start, interrupt (rollbacks)
    experiment  one experiment's timeline and its clean-up steps
    reporting   collect the run directory, report, gate
    runner      Suite: target up, experiments, collect, report + gate, maybe down
    campaign    several suites on one target (flaky, detect)

The suite talks to a :class:`stampede.targets.base.Target` only (``stampede.targets``).
"""

from __future__ import annotations

from stampede.suite.campaign import Campaign, Runner
from stampede.suite.config import (
    EXIT_INTERRUPTED,
    Plan,
    Progress,
    SuiteConfig,
    SuiteOutcome,
    validate,
)
from stampede.suite.probe import InvestigationProbe
from stampede.suite.reporting import Reporters
from stampede.suite.runner import Suite, run_suite
from stampede.suite.signals import deferred_interrupts, sigterm_as_interrupt
from stampede.targets import TARGETS
from stampede.targets.base import Say, Target, TargetInfo

__all__ = [
    "EXIT_INTERRUPTED",
    "TARGETS",
    "Campaign",
    "InvestigationProbe",
    "Plan",
    "Progress",
    "Reporters",
    "Runner",
    "Say",
    "Suite",
    "SuiteConfig",
    "SuiteOutcome",
    "Target",
    "TargetInfo",
    "deferred_interrupts",
    "run_suite",
    "sigterm_as_interrupt",
    "validate",
]
