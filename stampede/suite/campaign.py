"""A campaign: several suite runs on one target, stopped at the end only if we brought it up.

``stampede flaky`` (K runs of one profile) and ``stampede detect`` (one run per weakness plus
the real agent) are campaigns. Every suite of a campaign keeps the target up (the next suite
reuses it, or restarts it with another weakness); when the campaign ends (normally, by an error
or by Ctrl-C) the target is stopped if it was not ready before the campaign began, unless
``keep_stack`` says otherwise (True: keep, False: always stop). Every suite is the base config
with a few changes (run id, seed, weakness, experiments): the target options (``proxy``, the url
target's URLs) are the base's, so a restart for a new weakness keeps the fault proxy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

from stampede.suite.config import SuiteConfig, SuiteOutcome
from stampede.suite.runner import run_suite
from stampede.targets import make_target
from stampede.targets.base import Say, Target

Runner = Callable[[SuiteConfig], SuiteOutcome]


class Campaign:
    """``with Campaign(base, say) as campaign: campaign.run(run_id=..., seed=...)``."""

    def __init__(
        self,
        base: SuiteConfig,
        say: Say,
        keep_stack: bool | None = None,
        runner: Runner = run_suite,
        target: Target | None = None,
    ) -> None:
        self.base = replace(base, keep_stack=True)  # one target for every run
        self.say = say
        self.keep_stack = keep_stack
        self.runner = runner
        self._target = target
        self.was_ready = True
        self.outcomes: list[SuiteOutcome] = []

    @property
    def target(self) -> Target:
        """The campaign's target, for its status before and its stop after (built lazily)."""
        if self._target is None:
            base = self.base
            self._target = make_target(base.target, base.state_dir, None, base.target_options())
        return self._target

    def __enter__(self) -> Campaign:
        target = self.target  # built now: an option the target refuses fails before any run
        if self.keep_stack is None:
            self.was_ready = target.status().ready
        return self

    def run(self, **changes: Any) -> SuiteOutcome:
        """One suite of the campaign: the base config with ``changes`` (run_id, seed...)."""
        outcome = self.runner(replace(self.base, **changes))
        self.outcomes.append(outcome)
        return outcome

    def should_stop(self) -> bool:
        """True when the target is to be stopped at the end (see the module docstring)."""
        return self.keep_stack is False or (self.keep_stack is None and not self.was_ready)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.should_stop():
            self.say(f"stopping the {self.base.target} target (the campaign started it)")
            self.target.down(self.say)
