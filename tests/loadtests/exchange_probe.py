"""Run by test_exchange.py in its own process (Locust monkey-patches on import): for each
reference case, one request through ``AgentUser.send`` and one through Locust's own
``catch_response`` block (the path ``send`` replaced, kept here as the reference), each in its
own Environment; writes the request events' keywords and Locust's stats of both to OUT as JSON.

    python tests/loadtests/exchange_probe.py HOST DEAD_HOST OUT
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import locust
from locust import argument_parser, task
from locust.env import Environment
from locust.event import Events

from loadtests.agent_user import AgentUser, reply_from
from loadtests.profile import Reply, RequestSpec, Verdict
from loadtests.recorder import CONTEXT_KEY


class Probe(AgentUser):
    """The real user class; ``old_send`` is the catch_response path ``send`` replaced."""

    @task
    def ask(self) -> None:
        self.investigate_incident()

    def old_send(self, spec: RequestSpec, judge: Callable[[Reply], Verdict]) -> Verdict:
        with self.client.request(
            spec.method, spec.path, name=spec.name, json=spec.json,
            headers=dict(spec.headers), catch_response=True,
        ) as response:  # fmt: skip
            verdict = judge(reply_from(response, self.settings.timeout_s))
            response.request_meta["context"][CONTEXT_KEY] = verdict
            if verdict.failed:
                response.failure(verdict.reason or verdict.outcome)
            else:
                response.success()
        return verdict


def _event(kwargs: dict[str, Any]) -> dict[str, Any]:
    exc = kwargs["exception"]
    verdict = kwargs["context"].get(CONTEXT_KEY)
    return {
        "keys": sorted(kwargs),
        "request_type": kwargs["request_type"],
        "name": kwargs["name"],
        "url": kwargs["url"],
        # the body's own length (the fake's ids grow, so the two paths' bodies differ by a digit)
        "length_is_body": kwargs["response_length"] == _body_length(kwargs["response"]),
        "length": kwargs["response_length"],
        "status": getattr(kwargs["response"], "status_code", None),
        "exception": None if exc is None else [type(exc).__name__, str(exc)],
        "context": sorted(kwargs["context"]),
        "outcome": None if verdict is None else str(verdict.outcome),
        "reason": None if verdict is None else verdict.reason.split(" (")[0],
        "timed": kwargs["response_time"] >= 0 and kwargs["start_time"] > 0,
    }


def _body_length(response: Any) -> int:
    try:
        return len(response.content or b"")
    except Exception:  # a torn body: Locust then counts 0
        return 0


def _stats(env: Environment) -> dict[str, Any]:
    entries = {
        f"{e.method} {e.name}": [e.num_requests, e.num_failures, e.total_content_length]
        for e in env.stats.entries.values()
    }
    errors = sorted(f"{e.method} {e.name}: {e.error}" for e in env.stats.errors.values())
    return {"entries": entries, "errors": errors}


def _send_all(kind: str, target: str, opts: Any, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Every reference case once to ``target`` by ``kind``'s path; Locust's stats of it."""
    env = Environment(user_classes=[Probe], events=Events(), parsed_options=opts)
    env.create_local_runner()  # the runner is what feeds env.stats
    env.events.request.add_listener(lambda **kw: events.append(_event(kw)))
    Probe.host = target
    user = Probe(env)
    for case in user.cases:
        spec = user.profile.build(case, f"probe-{case.id}")
        judge = functools.partial(user.profile.judge, case)
        (user.send if kind == "new" else user.old_send)(spec, judge)
    return _stats(env)


def main() -> None:
    host, dead, path = sys.argv[1:4]
    opts = argument_parser.parse_options(["-f", __file__, "--headless", "--stampede-timeout", "5"])
    out: dict[str, Any] = {}
    for kind in ("new", "old"):
        events: list[dict[str, Any]] = []
        out[f"{kind}_stats_live"] = _send_all(kind, host, opts, events)
        out[f"{kind}_stats_dead"] = _send_all(kind, dead, opts, events)
        out[f"{kind}_events"] = events
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    assert locust  # imported first: Locust's monkey-patching before anything else
    main()
