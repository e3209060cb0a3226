"""Asynchronous-API load: submit cases to ``POST /investigations`` and poll for the answers.

    locust -f loadtests/async_locustfile.py --headless -u 20 -r 5 -t 30s \
        --host http://127.0.0.1:8000

Rows and SLIs: loadtests/async_user.py, reports/runs.py, docs/durable.md.
"""

from __future__ import annotations

from locust import between, task

from loadtests.async_user import AsyncAgentUser
from loadtests.shapes import StampedeShape  # noqa: F401  (Locust picks it up; `none` removes it)


class AsyncInvestigator(AsyncAgentUser):
    wait_time = between(0.5, 1.5)

    @task
    def investigate(self) -> None:
        self.investigate_async()
