"""``AsyncAgentUser``: puts cases to the asynchronous API and judges the final answers.

Protocol per run: ``POST /investigations`` (the case's request body, a unique
``Idempotency-Key``) -> 202 + ``Location``; then ``GET <Location>`` with back-off (doubling from
:attr:`poll_first_s` up to :attr:`poll_max_s`, never sooner than the answer's ``Retry-After``)
until the job is ``complete | degraded | failed`` or the run's deadline (``--stampede-timeout``
x :attr:`deadline_factor`) passes. The final answer is judged by the target profile's judge,
the one the synchronous user uses (``AgentUser.profile.judge``), and reported as one request
event whose latency is submit -> final answer.

``requests.csv`` rows (existing columns only, see reports/runs.py):

* ``POST /investigations [submit]`` and ``GET /investigations/{id} [poll]``: the transport
  requests, named apart so Locust's stats and the SLIs can set them aside. A submit is sent
  and judged like a synchronous request (``AgentUser.send``): accepted (202) is ``correct``, a
  refusal with ``Retry-After`` (the agent's queue is full: 503) is ``shed``, anything else an
  ``error``; a refused submit has no run row;
* ``investigation [async<, flags>]``: one per accepted run, outcome = the judge's verdict;
  flags say what happened to it: ``resumed`` (taken over after a worker died and resumed after
  a completed node), ``retried`` (more than one attempt), ``duplicate`` (the agent reports it
  completed more than once), ``failed`` (dead-lettered: outcome error, the agent's reason) and
  ``lost`` (accepted, no answer by the deadline: outcome error).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import gevent

from loadtests.agent_user import AgentUser, idempotency_key, reply_from
from loadtests.profile import Reply, Verdict
from loadtests.recorder import CONTEXT_KEY
from stampede.contract import Outcome

SUBMIT_NAME = "POST /investigations [submit]"
POLL_NAME = "GET /investigations/{id} [poll]"
RUN_NAME = "investigation [async]"
UNFINISHED = ("pending", "running")


def run_name(flags: list[str]) -> str:
    """``investigation [async]`` or ``investigation [async, resumed, ...]``."""
    return RUN_NAME if not flags else f"investigation [async, {', '.join(flags)}]"


def retry_after_s(reply: Reply) -> float:
    """The reply's ``Retry-After`` in seconds (0 when absent or not a number)."""
    try:
        return max(0.0, float(reply.header("retry-after") or 0))
    except ValueError:
        return 0.0


def flags_of(view: dict[str, Any]) -> list[str]:
    """What the final job view says happened to the run (see the module docstring)."""
    flags = []
    if view.get("resumed_from"):
        flags.append("resumed")
    if int(view.get("attempts") or 0) > 1:
        flags.append("retried")
    if int(view.get("completions") or 1) > 1:
        flags.append("duplicate")
    if view.get("status") == "failed":
        flags.append("failed")
    return flags


class AsyncAgentUser(AgentUser):
    """Abstract: a locustfile subclasses it with a task calling :meth:`investigate_async`."""

    abstract = True
    poll_first_s = 0.2
    poll_max_s = 2.0
    deadline_factor = 3.0

    def investigate_async(self) -> Verdict:
        """Submit a case, poll until its run ends, judge it; the verdict of the whole run."""
        case, attempt = self.trials.next()
        spec = self.profile.build(case, idempotency_key())
        started = time.time()
        deadline = started + self.settings.timeout_s * self.deadline_factor
        accepted: list[str] = []
        submit = replace(spec, method="POST", path="/investigations", name=SUBMIT_NAME)
        refused = self.send(submit, lambda reply: self._judge_submit(reply, accepted))
        if not accepted:
            return refused.with_attempt(attempt)
        location = accepted[0]
        final, view, wait = None, {}, self.poll_first_s
        while time.time() < deadline:
            gevent.sleep(min(wait, max(0.0, deadline - time.time())))
            reply = self._poll(location)
            if reply.status == 200:
                view = json.loads(reply.body)
                if view.get("status") not in UNFINISHED:
                    final = reply
                    break
            wait = max(min(wait * 2, self.poll_max_s), retry_after_s(reply))
        if final is None:
            verdict = Verdict(Outcome.ERROR, f"lost: no answer {deadline - started:.0f} s after "
                              f"it was accepted ({location})", 0)  # fmt: skip
            flags = [*flags_of(view), "lost"]
        elif view.get("status") == "failed":
            verdict = Verdict(Outcome.ERROR, f"failed: {view.get('reason', '')}", 200)
            flags = flags_of(view)
        else:
            verdict = self.profile.judge(case, final)
            flags = flags_of(view)
        verdict = verdict.with_attempt(attempt)
        self._report(run_name(flags), started, verdict)
        return verdict

    def _judge_submit(self, reply: Reply, accepted: list[str]) -> Verdict:
        """202 + Location: accepted (its location appended to ``accepted``); else the refusal.

        A 429/503 with ``Retry-After`` (the agent's queue is full) is ``shed``, as the target
        profile judges a shed synchronous request; anything else is an error.
        """
        location = reply.header("location") if reply.status == 202 else None
        if location is not None:
            accepted.append(location)
            return Verdict(Outcome.CORRECT, "", reply.status)
        judged = self.profile.judge_transport(reply)
        if judged is not None:
            return judged
        return Verdict(Outcome.ERROR, f"not accepted: HTTP {reply.status} {reply.error or ''}",
                       reply.status)  # fmt: skip

    def _poll(self, location: str) -> Reply:
        with self.client.request("GET", location, name=POLL_NAME, catch_response=True) as resp:
            reply = reply_from(resp, self.settings.timeout_s)
            if reply.status in (200, 503):  # 503 + Retry-After: ask again later
                resp.success()
            else:
                resp.failure(f"poll: HTTP {reply.status} {reply.error or ''}")
        return reply

    def _report(self, name: str, started: float, verdict: Verdict) -> None:
        self.environment.events.request.fire(
            request_type="RUN",
            name=name,
            response_time=(time.time() - started) * 1000.0,
            response_length=0,
            response=None,
            context={CONTEXT_KEY: verdict},
            exception=RuntimeError(verdict.reason) if verdict.failed else None,
            start_time=started,
            url="/investigations",
        )
