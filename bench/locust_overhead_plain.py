"""Plain ``FastHttpUser`` for ``bench/locust_overhead.py``: the same POST, nothing else."""

from __future__ import annotations

import locust_overhead_probe  # noqa: F401  (CPU and requests of the run; Locust puts bench/ on sys.path)
from locust import FastHttpUser, constant, task

BODY = {
    "alert_type": "high_latency",
    "service": "checkout",
    "severity": "warning",
    "summary": "high latency on checkout",
}


class PlainUser(FastHttpUser):
    """One ``POST /investigate`` after another, no wait, no judging, no recorder."""

    wait_time = constant(0)

    @task
    def investigate(self) -> None:
        self.client.post("/investigate", json=BODY)
