"""``AgentUser``: the abstract Locust user that puts cases to an agent and judges the answers.

Protocol per request: take the next case of the user's trial group (a case drawn from
``--stampede-cases``, else the reference cases, with the user's seeded RNG, then asked K times in
a row: ``--stampede-repeat K`` or the case's ``repeat``; ``loadtests.trials``), build the request
with the target profile (with a unique idempotency key), send it (:meth:`AgentUser.exchange`:
the request Locust's ``catch_response=True`` would send), judge the reply into a
:class:`~loadtests.profile.Verdict` stamped with its attempt, put the verdict in the request's
``context`` (the recorder reads it from the request event), then fire Locust's request event
as ``response.success()`` would for correct / degraded / shed / unjudged and
``response.failure(reason)`` for wrong / error.

Two load models:

* closed (default, every shape but ``open``): each user runs the locustfile's tasks in a loop
  with its ``wait_time``; a slow agent slows the load down.
* open (``--stampede-shape open``): each user is an *arrival lane* that starts one task per
  arrival on a schedule (Poisson or uniform at ``arrival_rate / lanes``), whether or not earlier
  ones completed. A lane keeps at most ``lane_bound`` tasks in flight; an arrival beyond that
  is not sent but recorded as a request named ``<name> (dropped)`` with outcome ``error``, so
  Locust's counts and the CSV show it (the default bound is rate x timeout: past it, requests
  would be timing out anyway). ``--stampede-open-connections`` gives a lane fewer connections
  than its bound: an arrival then waits for a free one. Every arrival's scheduled start goes
  into its request's context, so ``requests.csv`` has the latency from the schedule
  (``user_latency_ms``) beside the service time from the actual send (``latency_ms``):
  wrk2's correction for coordinated omission (docs/loadtests.md).
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import gevent
from gevent.lock import BoundedSemaphore
from gevent.pool import Group
from locust import FastHttpUser
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, LocustBadStatusCode
from locust.exception import CatchResponseError
from locust.user.task import LOCUST_STATE_STOPPING

from loadtests import hooks
from loadtests.profile import (
    Attempt,
    Reply,
    RequestSpec,
    TargetProfile,
    Verdict,
    case_picker,
    load_case_set,
)
from loadtests.recorder import CONTEXT_KEY, SCHEDULED_KEY
from loadtests.select import load_profile
from loadtests.settings import LoadSettings
from loadtests.shape_math import next_gap
from loadtests.trials import PROCESS_TOKEN, TrialPlan
from stampede.cases import Case
from stampede.contract import Outcome

hooks.install()
logger = logging.getLogger(__name__)


class DroppedArrival(Exception):
    """An open-model arrival not sent because the lane's in-flight bound was reached."""


@lru_cache(maxsize=8)
def _profile(spec: str) -> TargetProfile:
    return load_profile(spec)


@lru_cache(maxsize=4)
def _cases(path: str) -> tuple[Case, ...]:
    return load_case_set(path)


def describe_error(exc: BaseException | None, timeout_s: float) -> str:
    """One line for a transport failure; timeouts say so (geventhttpclient wraps them)."""
    if exc is None:
        return "no response"
    cause = getattr(exc, "original", None)  # RetriesExceeded(original=<the real error>)
    root = cause if isinstance(cause, BaseException) else exc
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(root, TimeoutError | socket.timeout | gevent.Timeout) or "timed out" in text:
        return f"timeout after {timeout_s:g} s ({text})"
    return text


class ResponseHeaders(Mapping[str, str]):
    """A response's headers as :class:`Reply` wants them, read on demand (per-request path).

    The same mapping as ``{name.lower(): value}`` over every header line (a repeated field:
    its last line), without building it: a judge usually reads one or two headers.
    """

    __slots__ = ("_all", "_headers")

    def __init__(self, headers: Any) -> None:
        self._headers = headers  # geventhttpclient Headers: case-insensitive, lower-case keys
        self._all: dict[str, str] | None = None

    def __getitem__(self, name: str) -> str:
        if name != name.lower():  # the keys are lower-case names, as in a plain dict of them
            raise KeyError(name)
        value = self._headers[name]
        return str(value[-1] if isinstance(value, list) else value)

    def _full(self) -> dict[str, str]:
        if self._all is None:
            self._all = {str(k).lower(): str(v) for k, v in self._headers.items()}
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())

    def __repr__(self) -> str:
        return repr(self._full())


def reply_from(response: Any, timeout_s: float, meta: Mapping[str, Any] | None = None) -> Reply:
    """A :class:`Reply` from a FastHttpUser response.

    ``meta``: the request's event keywords (:meth:`AgentUser.exchange`); without it, the
    response's own ``request_meta`` (catch_response mode).
    """
    status = int(getattr(response, "status_code", 0) or 0)
    exc = (response.request_meta if meta is None else meta).get("exception")
    if status == 0:
        return Reply(0, error=describe_error(exc or getattr(response, "error", None), timeout_s))
    if exc is not None and not isinstance(exc, LocustBadStatusCode):
        return Reply(status, error=describe_error(exc, timeout_s))  # e.g. body cut off
    headers = response.headers
    return Reply(
        status,
        bytes(response.content or b""),
        ResponseHeaders(headers) if headers is not None else {},
    )


#: Idempotency keys: random per process, then counted: unique without a syscall per request.
_KEY_PREFIX = uuid.uuid4().hex[:16]
_key_numbers = itertools.count()


def idempotency_key() -> str:
    """A key unique to this request: 32 hex digits, 64 random bits per process + a counter.

    Not seeded: a key repeated by a later run against the same stack would replay its answers.
    """
    return f"{_KEY_PREFIX}{next(_key_numbers):016x}"


class AgentUser(FastHttpUser):
    """Abstract: subclass it in a locustfile and give it tasks and a ``wait_time``."""

    abstract = True
    #: How many answered investigation ids a user keeps for look-ups.
    recent_ids_kept = 64

    _numbers = itertools.count()

    def __init__(self, environment: Any) -> None:
        self.settings = LoadSettings.from_options(environment.parsed_options)
        self.network_timeout = self.connection_timeout = self.settings.timeout_s
        self.open_model = self.settings.shape == "open"
        if self.open_model:
            self.concurrency = self.settings.lane_connections
        super().__init__(environment)
        self.profile = _profile(self.settings.profile)
        self.cases: tuple[Case, ...] = _cases(self.settings.cases)
        index = getattr(environment.runner, "worker_index", 0)
        number = next(self._numbers)
        self._pick = case_picker(self.cases)
        self.rng = random.Random(f"{self.settings.seed}:{index}:{number}")
        self.trials = TrialPlan(
            self.pick_case, self.settings.repeat, f"{PROCESS_TOKEN}-w{index}-u{number}"
        )
        self.recent_ids: deque[str] = deque(maxlen=self.recent_ids_kept)
        self._in_flight = Group()
        self._connections = BoundedSemaphore(max(1, self.settings.lane_connections))
        #: open model: the scheduled start (epoch s) of the arrival each greenlet runs
        self._scheduled: dict[Any, float] = {}
        self._arrival_tasks: list[Any] = list(self.tasks)
        if self.open_model:
            self.tasks = [AgentUser._open_arrivals]

    # -- the protocol ----------------------------------------------------------------------

    def pick_case(self) -> Case:
        """A case drawn with the user's RNG, by weight (uniform when the weights are equal)."""
        return self._pick(self.rng)

    def investigate_incident(self) -> Verdict:
        """Put a case to the agent and judge the answer against its expectation.

        The case is the current trial group's (``--stampede-repeat`` K: a drawn case is asked K
        times in a row, then a new one is drawn).
        """
        case, attempt = self.trials.next()
        # unique, not seeded: a key repeated by the next run would replay its stored answers
        spec = self.profile.build(case, idempotency_key())
        verdict = self.send(spec, lambda reply: self.profile.judge(case, reply), attempt)
        if verdict.investigation_id:
            self.recent_ids.append(verdict.investigation_id)
        return verdict

    def look_up_investigation(self) -> Verdict:
        """Fetch an earlier answer by id (404 = lost); investigates when there is none yet."""
        spec = None
        if self.recent_ids:
            investigation_id = self.rng.choice(self.recent_ids)
            spec = self.profile.lookup(investigation_id)
        if spec is None:
            return self.investigate_incident()
        return self.send(spec, lambda reply: self.profile.judge_lookup(investigation_id, reply))

    def send(
        self,
        spec: RequestSpec,
        judge: Callable[[Reply], Verdict],
        attempt: Attempt | None = None,
    ) -> Verdict:
        """Send ``spec``, judge the reply, report it to Locust and hand the verdict on.

        ``attempt`` (the trial group's ask) is stamped on the verdict, whatever the judge did.
        In the open model the first request of an arrival carries the arrival's scheduled start
        in the request context (:data:`~loadtests.recorder.SCHEDULED_KEY`); Locust's own start
        time is the actual send.
        """
        scheduled = self._scheduled.pop(gevent.getcurrent(), None) if self._scheduled else None
        response, meta = self.exchange(spec)
        try:
            verdict = judge(reply_from(response, self.settings.timeout_s, meta))
        except Exception as exc:  # a profile bug must not lose the request from the counts
            logger.exception("profile %s failed to judge a reply", self.profile.name)
            verdict = Verdict(Outcome.ERROR, f"profile failed to judge: {exc!r}", 0)
        if attempt is not None:
            verdict = verdict.with_attempt(attempt)
        context = meta["context"]
        context[CONTEXT_KEY] = verdict
        if scheduled is not None:
            context[SCHEDULED_KEY] = scheduled
        # What catch_response's response.failure(reason) / .success() hand Locust's stats.
        failed = verdict.failed
        meta["exception"] = (
            CatchResponseError(verdict.reason or verdict.outcome) if failed else None
        )
        self.client.request_event.fire(**meta)
        return verdict

    def exchange(self, spec: RequestSpec) -> tuple[Any, dict[str, Any]]:
        """Send ``spec``; the response and the request event's keywords, not yet fired.

        The request Locust's ``FastHttpSession.request(..., catch_response=True)`` sends (the
        same URL, headers, JSON body, timing, ``response_length``, transport exception and user
        context), without its context manager: :meth:`send` judges the reply, then fires the
        event itself with the verdict's failure, as ``response.failure()`` would. That
        manager costs a copy of the response per request (bench/README.md,
        ``locust_overhead.py``); tests/loadtests/test_exchange.py holds the two paths equal.
        """
        client = self.client
        name = spec.name
        if client.request_name and not name:
            name = client.request_name
        url = client._build_url(spec.path)
        start_time = time.time()
        context = {**self.context()}
        headers = dict(spec.headers)
        if client.auth_header:
            headers["Authorization"] = client.auth_header
        if "Accept-Encoding" not in headers and "accept-encoding" not in headers:
            headers["Accept-Encoding"] = "gzip, deflate, br"
        data = None
        if spec.json is not None:
            data = json.dumps(spec.json)  # Locust's own encoder, so the same bytes
            if "Content-Type" not in headers and "content-type" not in headers:
                headers["Content-Type"] = "application/json"
            if "Accept" not in headers and "accept" not in headers:
                headers["Accept"] = "application/json"
        started = time.perf_counter()
        response = client._send_request_safe_mode(spec.method, url, payload=data, headers=headers)
        meta: dict[str, Any] = {
            "request_type": spec.method,
            "name": name or spec.path,
            "context": context,
            "response": response,
            "exception": None,
            "start_time": start_time,
            "url": url,
            "response_length": 0,
        }
        try:
            meta["response_length"] = len(response.content) if response.content else 0
        except FAILURE_EXCEPTIONS as exc:  # the body was cut off: a transport error
            meta["response_time"] = (time.perf_counter() - started) * 1000
            meta["exception"] = exc
            return response, meta
        meta["response_time"] = (time.perf_counter() - started) * 1000
        try:
            response.raise_for_status()
        except FAILURE_EXCEPTIONS as exc:
            meta["exception"] = exc
        return response, meta

    # -- open model ------------------------------------------------------------------------

    def _open_arrivals(self) -> None:
        """Start one task per arrival, on schedule, until the user is stopped.

        A graceful stop (``--stop-timeout``) ends the schedule and lets the requests in flight
        finish (the runner kills what is left after the stop timeout).
        """
        rate, bound = self.settings.lane_rate, self.settings.lane_bound
        next_at = time.monotonic()
        epoch_offset = time.time() - next_at  # monotonic -> epoch, fixed for the lane
        while self._state != LOCUST_STATE_STOPPING:
            next_at += next_gap(rate, self.rng, self.settings.arrivals)
            delay = next_at - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            scheduled = next_at + epoch_offset
            if len(self._in_flight) >= bound:
                self._record_dropped(bound, scheduled)
            else:
                task = self.rng.choice(self._arrival_tasks)
                self._in_flight.spawn(self._one_arrival, task, scheduled)
        self._in_flight.join()

    def _one_arrival(self, task: Any, scheduled: float) -> None:
        """Run one arrival's task once a connection of the lane is free (it may wait)."""
        me = gevent.getcurrent()
        try:
            with self._connections:
                self._scheduled[me] = scheduled
                task(self)
        except Exception:
            logger.exception("open-model task %s failed", getattr(task, "__name__", task))
        finally:
            self._scheduled.pop(me, None)

    def _record_dropped(self, bound: int, scheduled: float) -> None:
        spec = self.profile.build(self.pick_case(), "dropped")
        reason = f"dropped: {bound} requests already in flight in this lane"
        self.environment.events.request.fire(
            request_type=spec.method,
            name=f"{spec.name} (dropped)",
            response_time=0.0,
            response_length=0,
            response=None,
            context={CONTEXT_KEY: Verdict(Outcome.ERROR, reason, 0), SCHEDULED_KEY: scheduled},
            exception=DroppedArrival(reason),
            start_time=time.time(),
            url=spec.path,
        )

    def on_stop(self) -> None:
        self._in_flight.kill(block=False)
