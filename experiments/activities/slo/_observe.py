"""Hold a fault for a stated time while watching the agent: paced investigations + readiness.

What one ``observe`` saw is also kept in this process (``recorded()``): a Chaos Toolkit run is one
process, so the steady-state hypothesis *after* the method can judge the fault window the
method observed (Chaos Toolkit only sets ``deviated`` from the hypothesis).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from experiments.activities import _local
from experiments.activities.slo import _window
from stampede.cases import reference_cases

TICK_S = 0.02
#: A /readyz that does not answer within this is counted not ready (generous: a busy CI box)
READY_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Observation:
    """One observed window: the investigations and the readiness samples (True = 200)."""

    samples: tuple[_window.Sample, ...]
    ready: tuple[bool, ...]
    held_s: float


_lock = threading.Lock()
_recorded: list[Observation] = []


def recorded() -> list[Observation]:
    """Every window observed in this process, oldest first."""
    with _lock:
        return list(_recorded)


def forget() -> None:
    """Drop the record (tests)."""
    with _lock:
        _recorded.clear()


def _sample_readiness(
    agent_url: str, interval_s: float, stop: threading.Event, out: list[bool]
) -> None:
    with _local.http_client(READY_TIMEOUT_S) as client:
        while not stop.is_set():
            try:
                out.append(client.get(f"{agent_url}/readyz").status_code == 200)
            except httpx.HTTPError:
                out.append(False)
            stop.wait(interval_s)


def observe(
    agent_url: str,
    seconds: float,
    rate_per_s: float,
    concurrency: int,
    request_timeout_s: float,
    ready_interval_s: float,
    profile_spec: str = "reference",
) -> Observation:
    """Watch for ``seconds``: investigations at ``rate_per_s`` (<= ``concurrency`` in flight)
    and /readyz every ``ready_interval_s``. In-flight investigations are awaited at the end
    (each is bounded by ``request_timeout_s``). The observation is recorded and returned.
    """
    judge = _window.profile(profile_spec)
    cases = reference_cases()
    queue = itertools.islice(itertools.cycle(cases), random.randrange(len(cases)), None)
    samples: list[_window.Sample] = []
    ready: list[bool] = []
    stop = threading.Event()
    interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
    started = time.monotonic()
    deadline = started + seconds
    with (
        _local.http_client(request_timeout_s) as client,
        ThreadPoolExecutor(max_workers=concurrency + 1) as pool,
    ):
        watcher = pool.submit(_sample_readiness, agent_url, ready_interval_s, stop, ready)
        in_flight: set[Future[_window.Sample]] = set()
        next_send = started
        try:
            while (now := time.monotonic()) < deadline:
                for done in [f for f in in_flight if f.done()]:
                    in_flight.discard(done)
                    samples.append(done.result())
                if interval and now >= next_send and len(in_flight) < concurrency:
                    case = next(queue)
                    in_flight.add(pool.submit(_window.investigate, client, agent_url, judge, case))
                    next_send = now + interval
                time.sleep(TICK_S)
        finally:
            stop.set()
            samples.extend(f.result() for f in in_flight)
            watcher.result()
    observation = Observation(tuple(samples), tuple(ready), round(time.monotonic() - started, 2))
    with _lock:
        _recorded.append(observation)
    return observation


def figures(observations: list[Observation]) -> dict[str, Any]:
    """The investigation figures plus readiness over ``observations`` taken together."""
    samples = [s for o in observations for s in o.samples]
    ready = [r for o in observations for r in o.ready]
    result = _window.summarize(samples)
    result["ready_samples"] = len(ready)
    result["not_ready_samples"] = ready.count(False)
    result["ready_ratio"] = round(ready.count(True) / len(ready), 3) if ready else 1.0
    result["held_s"] = round(sum(o.held_s for o in observations), 2)
    return result
