"""A minimal locustfile with the suite's ``--stampede-*`` options and a requests.csv recorder.

Run by Locust (``locust -f <this file>``) in the suite tests; not imported by the tests.
"""

from __future__ import annotations

import csv
import time
from typing import Any

from locust import HttpUser, constant, events, task

from stampede.contract import REQUEST_COLUMNS

COLUMNS = list(REQUEST_COLUMNS)  # the fake fills the first eleven; the rest (pass^k) are empty
out: dict[str, Any] = {}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--stampede-requests-csv", default="")
    parser.add_argument("--stampede-experiment", default="")
    parser.add_argument("--stampede-shape", default="steady")
    parser.add_argument("--stampede-seed", default="0")
    parser.add_argument("--stampede-arrival-rate", default="")


@events.init.add_listener
def _open(environment: Any, **kwargs: Any) -> None:
    handle = open(environment.parsed_options.stampede_requests_csv, "w", newline="")  # noqa: SIM115
    writer = csv.writer(handle)
    writer.writerow(COLUMNS)
    out.update(handle=handle, writer=writer, exp=environment.parsed_options.stampede_experiment)


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **kwargs: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    cells = [f"{start_time or time.time():.6f}", f"{response_time:.3f}", name, status,
             "correct" if exception is None else "error", 10, 0.001, 0, "fake", out["exp"],
             str(exception or "")]  # fmt: skip
    out["writer"].writerow(cells + [""] * (len(COLUMNS) - len(cells)))
    out["handle"].flush()


class Investigator(HttpUser):
    """One investigation every 0.2 s."""

    wait_time = constant(0.2)

    def on_start(self) -> None:
        self.client.trust_env = False  # loopback: proxy variables must not reroute it

    @task
    def investigate(self) -> None:
        self.client.post("/investigate", json={"alert_type": "x", "service": "y"})
