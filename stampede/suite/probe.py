"""The suite's own requests to the agent: the lost-investigation probe, and priming.

Locust's recorder keeps no investigation ids (requests.csv has none), so the suite asks for its
own small sample during each experiment (:class:`InvestigationProbe`). Priming sends a few
investigations to a freshly started agent so the first baseline measures the agent, not its
cold start.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from stampede.rundir import LostInvestigation, ProbeChecks
from stampede.targets.base import Say

PROBE_INTERVAL_S = 1.0
PROBE_MAX_IDS = 200
PRIME_REQUESTS = 8
LOST_SHOWN = 20  # lost ids listed in run.json (the count is complete)


class InvestigationProbe:
    """Sends ~1 investigation/s during an experiment, then checks each answered id is stored.

    Every POST /investigate answered 200 gives an id; after the cool-down each is read back with
    GET /investigations/{id}. A 404 is a lost investigation. The count is a lower bound over a
    sample, reported with its size, never a claim about every request.
    """

    def __init__(
        self,
        agent_url: str,
        alerts: list[dict[str, Any]],
        experiment: str,
        skipped: str = "skipped: the target offers no probe requests",
    ) -> None:
        self.agent_url = agent_url
        self.alerts = alerts
        self.skipped = skipped  # run.json's checks.method when there are no alerts
        self.experiment = experiment
        self.ids: list[str] = []
        self.sent_at: dict[str, float] = {}  # id -> when its POST started (epoch s)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"probe-{experiment}", daemon=True)

    def start(self) -> InvestigationProbe:
        """Start sending in a background thread (not at all when there are no alerts)."""
        if self.alerts:
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending; waits for the request in hand."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _send_one(self, client: httpx.Client) -> None:
        alert = self.alerts[self.sent % len(self.alerts)]
        self.sent += 1
        sent_at = time.time()
        try:
            response = client.post(
                f"{self.agent_url}/investigate",
                json=alert,
                headers={"Idempotency-Key": f"stampede-probe-{uuid.uuid4()}"},
            )
            found = response.json().get("investigation_id") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return  # a failed probe request is Locust's to count, not the store check's
        if found:
            self.ids.append(str(found))
            self.sent_at[str(found)] = sent_at

    def _loop(self) -> None:
        with httpx.Client(timeout=12.0, trust_env=False) as client:
            while not self._stop.is_set() and len(self.ids) < PROBE_MAX_IDS:
                self._send_one(client)
                self._stop.wait(PROBE_INTERVAL_S)

    def verify(self, deadline_s: float = 20.0) -> ProbeChecks:
        """Read every answered id back: how many the agent lost, out of how many sampled."""
        if not self.alerts:
            return ProbeChecks(method=self.skipped)
        lost: list[str] = []
        unverified = 0
        deadline = time.monotonic() + deadline_s
        with httpx.Client(timeout=3.0, trust_env=False) as client:
            for inv_id in self.ids:
                if time.monotonic() > deadline:
                    unverified += 1
                    continue
                try:
                    code = client.get(f"{self.agent_url}/investigations/{inv_id}").status_code
                except httpx.HTTPError:
                    unverified += 1
                    continue
                if code == 404:
                    lost.append(inv_id)
                elif code != 200:
                    unverified += 1
        return ProbeChecks(
            lost_investigations=len(lost) if self.ids else None,
            sampled=len(self.ids),
            probe_requests=self.sent,
            unverified=unverified,
            # The first lost ids with the time their POST started: before, during or after the
            # fault tells a wiped store (e.g. a Redis restarted without persistence) from a
            # write-behind buffer that did not flush.
            lost=tuple(
                LostInvestigation(i, round(self.sent_at.get(i, 0.0), 3)) for i in lost[:LOST_SHOWN]
            ),
            method=(
                f"suite probe: ~{1 / PROBE_INTERVAL_S:g} POST /investigate per s during the "
                "experiment; each 200's id read back after the cool-down (404 = lost)"
            ),
        )


def prime(agent_url: str, alerts: list[dict[str, Any]], say: Say) -> None:
    """A few investigations on a freshly started agent (not recorded), so the first experiment's
    baseline measures the agent, not its cold start (imports, connection pools)."""
    alerts = alerts[:PRIME_REQUESTS]
    if not alerts:
        return
    started = time.monotonic()

    def post(alert: dict[str, Any]) -> int:
        try:
            return httpx.post(
                f"{agent_url}/investigate", json=alert, timeout=15, trust_env=False
            ).status_code
        except httpx.HTTPError:
            return 0

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(post, alerts))
    say(
        f"primed the agent: {codes.count(200)}/{len(codes)} investigations answered in "
        f"{time.monotonic() - started:.1f} s (not recorded)"
    )
