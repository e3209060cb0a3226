"""Stampede's ``AgentUser`` for ``bench/locust_overhead.py``: the real path, no wait.

Run with ``--stampede-cases`` (a case the bench server's fixed answer is correct for) and
``--stampede-requests-csv``: every reply is judged against the case and recorded.
"""

from __future__ import annotations

import locust_overhead_probe  # noqa: F401  (CPU and requests of the run; Locust puts bench/ on sys.path)
from locust import constant, task

from loadtests.agent_user import AgentUser


class BenchInvestigator(AgentUser):
    """``investigate_incident`` in a loop: case, request, judge, verdict, recorder row."""

    wait_time = constant(0)

    @task
    def investigate(self) -> None:
        self.investigate_incident()
