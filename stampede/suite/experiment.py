"""One experiment's timeline, and its clean-up in named steps.

Timeline::

    Locust starts (background subprocess) -> warm-up -> `chaos --no-version-check run` ->
    cool-down -> Locust stops (SIGINT: it writes its CSV/HTML, the recorder flushes)
    meanwhile: the sampler scrapes /metrics ~1/s, the investigation probe sends ~1 req/s

Clean-up always runs, with interrupts held until it is done: interrupt chaos (rollbacks), stop
Locust, stop the sampler and the probe, let the target heal what is left, verify the probe's
ids, judge the journal, write run.json.
"""

from __future__ import annotations

import time
from pathlib import Path

from stampede import procs, rundir
from stampede.errors import StampedeError
from stampede.profiles import ExperimentSpec, check_experiment_name
from stampede.sampler import Sampler
from stampede.suite.chaos import interrupt_chaos, start_chaos
from stampede.suite.config import relative
from stampede.suite.context import RunContext
from stampede.suite.locust import (
    check_locust,
    live_count,
    start_locust,
    stop_locust,
    wait_locust_running,
)
from stampede.suite.measures import scrape_sources
from stampede.suite.probe import InvestigationProbe
from stampede.suite.signals import deferred_interrupts

PROGRESS_EVERY_S = 5.0
POLL_S = 0.25


class Experiment:
    """Runs one experiment of a suite and fills its :class:`rundir.ExperimentRecord`."""

    def __init__(
        self, ctx: RunContext, index: int, total: int, spec: ExperimentSpec, exp_file: Path
    ) -> None:
        self.ctx = ctx
        self.spec = spec
        check_experiment_name(spec.name)  # it names chaos/<name>/ and locust/<name>* below
        self.exp_file = exp_file
        self.tag = f"experiment {index}/{total} {spec.name}"
        self.rec = rundir.ExperimentRecord(
            name=spec.name,
            file=relative(exp_file, ctx.workdir),
            journal=f"chaos/{spec.name}/journal.json",
            load=spec.load.as_dict(),
        )
        self.locust: procs.Child | None = None
        self.chaos: procs.Child | None = None
        self.sampler: Sampler | None = None
        self.probe: InvestigationProbe | None = None
        self.interrupted = False
        self.failed = False

    # -- the timeline
    def run(self) -> rundir.ExperimentRecord:
        """The whole timeline; clean-up runs whatever happens. Re-raises what stopped it."""
        self.ctx.record.experiments.append(self.rec)
        (self.ctx.run_dir / "chaos" / self.spec.name).mkdir(parents=True, exist_ok=True)
        try:
            self._timeline()
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        except StampedeError as exc:
            self.failed = True
            self.rec.errors.append(str(exc))
            raise
        finally:
            with deferred_interrupts(self.ctx.say):
                self._clean_up()
        self._say_done()
        return self.rec

    def _timeline(self) -> None:
        ctx, spec, name = self.ctx, self.spec, self.spec.name
        self.locust = locust = start_locust(ctx, spec)
        self.rec.started_at = time.time()
        ctx.save()
        ctx.say(
            f"{self.tag}: locust started ({spec.load.users} users, {spec.load.shape}), "
            f"warm-up {spec.warmup_s:g} s"
        )
        samples = ctx.run_dir / "samples.csv"
        target = ctx.target
        sources = scrape_sources(target, ctx.inputs.metric_map)
        self.sampler = Sampler(samples, name, sources, target.extra_samples).start()
        self.probe = self._probe().start()
        wait_locust_running(locust, ctx.run_dir / "locust", name)
        self._hold(spec.warmup_s, "warm-up")
        self.chaos = start_chaos(ctx, self.exp_file, name)
        ctx.say(f"{self.tag}: chaos started")
        self._wait_chaos()
        self._hold(spec.cooldown_s, "cool-down")

    def _probe(self) -> InvestigationProbe:
        """The lost-record probe, sending nothing when the target cannot read records back."""
        target, name = self.ctx.target, self.spec.name
        if not target.capabilities.counts_lost_records:
            why = f"not measured: target {target.name} cannot read stored answers back"
            return InvestigationProbe(self.ctx.agent_url, [], name, skipped=why)
        return InvestigationProbe(self.ctx.agent_url, target.probe_alerts(), name)

    def _hold(self, seconds: float, what: str) -> None:
        """Sleep ``seconds`` while checking Locust is still alive."""
        assert self.locust is not None
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            check_locust(self.locust, self.spec.name)
            time.sleep(min(POLL_S, left))
        count = live_count(self.ctx.run_dir, self.spec.name)
        self.ctx.say(f"{self.tag}: {what} done, {count} requests so far")

    def _wait_chaos(self) -> None:
        """Until chaos exits, or interrupt it (rollbacks run) past its budget."""
        assert self.chaos is not None and self.locust is not None
        chaos, locust, timeout = self.chaos, self.locust, self.spec.chaos_timeout_s
        started = time.monotonic()
        next_line = started + PROGRESS_EVERY_S
        locust_gone = False
        while chaos.poll() is None:
            now = time.monotonic()
            if now - started > timeout:
                self.rec.errors.append(f"chaos exceeded {timeout:g} s; interrupted")
                interrupt_chaos(self.ctx, chaos, self.tag)
                return
            if locust.poll() is not None and not locust_gone:
                # Keep going: the fault is in place and must be rolled back; report afterwards.
                locust_gone = True
                self.rec.errors.append(f"locust exited while chaos ran (code {locust.poll()})")
            if now >= next_line:
                count = live_count(self.ctx.run_dir, self.spec.name)
                self.ctx.say(f"{self.tag}: chaos running {now - started:4.0f} s, {count} requests")
                next_line = now + PROGRESS_EVERY_S
            time.sleep(POLL_S)
        elapsed = time.monotonic() - started
        self.ctx.say(f"{self.tag}: chaos finished (exit {chaos.poll()}) in {elapsed:.0f} s")

    # -- clean-up, in order
    def _clean_up(self) -> None:
        self._stop_chaos()
        self._stop_locust()
        self._stop_watchers()
        self.rec.ended_at = time.time()
        healed = self._heal()
        if not (self.interrupted or self.failed):
            self._verify(healed)
        self._judge()
        self.ctx.save()

    def _stop_chaos(self) -> None:
        if self.chaos is None:
            return
        if self.chaos.poll() is None:
            interrupt_chaos(self.ctx, self.chaos, self.tag)
        self.rec.chaos.exit_code = self.chaos.poll()
        self.rec.chaos.log = relative(self.chaos.log, self.ctx.run_dir)

    def _stop_locust(self) -> None:
        if self.locust is not None:
            self.rec.locust = stop_locust(self.locust, self.ctx.run_dir, self.spec.name)

    def _stop_watchers(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.rec.sampler = self.sampler.stats()
        if self.probe is not None:
            self.probe.stop()

    def _heal(self) -> list[str]:
        """Let the target clear what the experiment left; say and record what it did."""
        healed = self.ctx.target.heal()
        self.rec.chaos.healed = healed
        for line in healed:
            self.ctx.say(f"{self.tag}: {line}")
        return healed

    def _verify(self, healed: list[str]) -> None:
        """The probe's ids read back; faults the rollbacks left behind are errors."""
        if self.probe is not None:
            self.rec.checks = self.probe.verify()
        self.rec.errors.extend(
            f"left behind after the experiment's rollbacks: {line}"
            for line in healed
            if line.startswith(("cleared", "restarted"))
        )

    def _judge(self) -> None:
        """Status and deviation from the journal; problems become harness errors (exit 2)."""
        rec, interrupted = self.rec, self.interrupted
        status, deviated, failed_actions = rundir.read_journal_status(
            self.ctx.run_dir / rec.journal
        )
        rec.deviated = deviated
        if interrupted:
            rec.status = "interrupted"
        elif status is not None:
            rec.status = status
        else:
            rec.status = "error"
            if self.chaos is not None and not self.failed:
                rec.errors.append(f"chaos wrote no journal; log {rec.chaos.log}")
        if not interrupted and status in ("failed", "aborted"):
            rec.errors.append(
                f"chaos {status}: the fault may not have been injected as designed "
                f"(see {rec.journal})"
            )
        if not interrupted and failed_actions:
            rec.errors.append(f"method action(s) failed: {', '.join(failed_actions)}")
        if not (interrupted or self.failed):  # a failure is recorded once, by the runner
            self.ctx.record.harness_errors.extend(f"{rec.name}: {e}" for e in rec.errors)

    def _say_done(self) -> None:
        rec = self.rec
        counted = rec.locust.requests if rec.locust else None
        lost = rec.checks.lost_investigations
        self.ctx.say(
            f"{self.tag}: done, status {rec.status}"
            f"{' (deviated)' if rec.deviated else ''}, {counted if counted is not None else '?'} "
            f"requests, lost investigations {lost if lost is not None else 'n/a'}"
            f" of {rec.checks.sampled or 0} probed"
        )
