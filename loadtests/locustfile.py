"""Default Stampede load: put cases to the agent, now and then look an answer up again.

    locust -f loadtests/locustfile.py --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000

Shapes (--stampede-shape steady|ramp|spike|open), profiles and the requests CSV: docs/loadtests.md.
"""

from __future__ import annotations

from locust import between, task

from loadtests.agent_user import AgentUser
from loadtests.shapes import StampedeShape  # noqa: F401  (Locust picks it up; `none` removes it)


class Investigator(AgentUser):
    wait_time = between(0.5, 1.5)

    @task(9)
    def investigate(self) -> None:
        self.investigate_incident()

    @task(1)
    def look_up(self) -> None:
        self.look_up_investigation()
