"""The run loop of one suite: target up, experiments, collect, report + gate, maybe down.

The runner is target-agnostic: it talks to a :class:`stampede.targets.base.Target` only. ``run``
never raises for an interruption (it returns exit code 130 with a partial run directory); a
harness error propagates after the run directory is written.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from stampede import rundir
from stampede.errors import HarnessError, StampedeError
from stampede.suite.config import (
    EXIT_INTERRUPTED,
    Progress,
    SuiteConfig,
    SuiteOutcome,
    normalise,
    resolve,
    spec_dict,
    validate,
)
from stampede.suite.context import RunContext
from stampede.suite.experiment import Experiment
from stampede.suite.measures import not_measured, why_not_primed
from stampede.suite.probe import prime
from stampede.suite.reporting import DEFAULT_REPORTERS, Reporters, collect, report_and_gate
from stampede.suite.signals import deferred_interrupts, sigterm_as_interrupt
from stampede.targets import make_target
from stampede.targets.base import Say, Target


class Suite:
    """One suite run. Validates on construction; ``run()`` does the rest."""

    def __init__(
        self,
        config: SuiteConfig,
        target: Target | None = None,
        say: Say | None = None,
        reporters: Reporters | None = None,
    ) -> None:
        self.say: Say = say or Progress()
        self.workdir = config.workdir.resolve()
        self.config = config = normalise(config, self.workdir)
        self.plan = validate(config, self.workdir)
        self.specs = self.plan.specs
        self.target = target or make_target(
            config.target, config.state_dir, config.weakness, config.target_options()
        )
        self.reporters = reporters or DEFAULT_REPORTERS
        self.ctx: RunContext | None = None

    def run(self) -> SuiteOutcome:
        """The whole run: exit code of the gate, 2 on a harness problem, 130 when interrupted."""
        self.ctx = ctx = self._open_run_dir()
        ctx.say(f"run {ctx.record.run_id}: {len(self.specs)} experiment(s) -> {ctx.run_dir}")
        failure: StampedeError | None = None
        interrupted = False
        with sigterm_as_interrupt():
            try:
                failure, interrupted = self._experiments(ctx)
                outcome = self._finish(ctx, failure, interrupted)
                if outcome is not None:
                    return outcome
            except KeyboardInterrupt:
                interrupted = True
        if interrupted:
            ctx.say(f'partial run directory: {ctx.run_dir} (run.json says "partial": true)')
            return SuiteOutcome(ctx.run_dir, EXIT_INTERRUPTED, interrupted=True)
        assert failure is not None
        raise type(failure)(f"{failure} (partial run directory: {ctx.run_dir})") from failure

    # -- steps
    def _open_run_dir(self) -> RunContext:
        c = self.config
        run_dir = rundir.create_run_dir(resolve(c.runs_dir, self.workdir), c.run_id, c.profile)
        record = rundir.RunRecord(
            run_id=run_dir.name,
            target=c.target,
            profile=c.profile,
            config={
                **c.as_dict(),
                "case_count": self.plan.inputs.case_count,
                "metric_map": self.plan.inputs.metric_map.as_dict(),
                "specs": [spec_dict(s) for s in self.specs],
            },
            started_at=time.time(),
            git_sha=rundir.git_sha(self.workdir),
            versions=rundir.package_versions(),
            agent=rundir.AgentRecord(weakness=c.weakness),
        )
        ctx = RunContext(c, self.workdir, self.target, run_dir, record, self.say, self.plan.inputs)
        ctx.save()
        return ctx

    def _experiments(self, ctx: RunContext) -> tuple[StampedeError | None, bool]:
        """Target up, then every experiment; what stopped them (a failure, an interrupt)."""
        failure: StampedeError | None = None
        try:
            self._target_up(ctx)
            for index, spec in enumerate(self.specs, start=1):
                Experiment(ctx, index, len(self.specs), spec, self.plan.files[spec.name]).run()
        except KeyboardInterrupt:
            ctx.say("interrupted: writing the partial run directory")
            return None, True
        except StampedeError as exc:
            failure = exc
        except Exception as exc:  # a bug must still leave a readable run directory
            failure = HarnessError(f"{type(exc).__name__}: {exc}")
            failure.__cause__ = exc
        if failure is not None:
            ctx.record.harness_errors.append(str(failure))
            ctx.say(f"harness error: {failure}")
        return failure, False

    def _finish(
        self, ctx: RunContext, failure: StampedeError | None, interrupted: bool
    ) -> SuiteOutcome | None:
        """Collect; report and gate a complete run; stop the target if we should."""
        with deferred_interrupts(ctx.say):
            collect(ctx, partial=interrupted or failure is not None)
        if interrupted or failure is not None:
            with deferred_interrupts(ctx.say):
                self._maybe_down(ctx)
            return None
        try:
            return report_and_gate(ctx, self.reporters)
        finally:
            with deferred_interrupts(ctx.say):
                self._maybe_down(ctx)

    def _target_up(self, ctx: RunContext) -> None:
        ctx.say(f"target {self.config.target}: up")
        ctx.info = info = self.target.up(ctx.say)
        ctx.record.agent = rundir.AgentRecord(weakness=info.weakness, url=info.agent_url)
        ctx.record.stack = rundir.TargetRecord(
            action=info.action,
            details=dict(info.details),
            capabilities=asdict(self.target.capabilities),
            not_measured=not_measured(self.target),
        )
        ctx.save()
        ctx.say(f"target {self.config.target}: {info.action}; agent at {info.agent_url}")
        for figure, why in ctx.record.stack.not_measured.items():
            ctx.say(f"not measured: {figure} ({why})")
        alerts = self.target.probe_alerts()
        if not (self.target.capabilities.starts_agent and alerts):
            ctx.say(f"target {self.config.target}: not primed ({why_not_primed(self.target)})")
        elif info.action != "reused":
            prime(info.agent_url, alerts, ctx.say)

    def _maybe_down(self, ctx: RunContext) -> None:
        """Stop the target per --keep-stack/--down-after (default: only if the suite started it)."""
        keep = self.config.keep_stack
        if ctx.info is None or ctx.record.stack is None:
            return
        if keep is False or (keep is None and self.target.started_by_us):
            try:
                self.target.down(ctx.say)
                ctx.record.stack.down_after = True
            except StampedeError as exc:
                ctx.say(f"could not stop the target: {exc}")
        else:
            ctx.record.stack.down_after = False
        ctx.save()


def run_suite(config: SuiteConfig, say: Say | None = None) -> SuiteOutcome:
    """Run a suite from a config (what the CLI and campaigns call)."""
    return Suite(config, say=say).run()
