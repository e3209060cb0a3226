"""The helpdesk's tool client: timeout, one retry with backoff, a breaker per dependency.

``ToolClient.call`` never raises for a dependency failure: it returns a :class:`ToolOutcome`
whose ``error`` says what failed, so the agent can answer honestly that it could not look
something up (status ``partial``).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from examples.helpdesk.metrics import HelpdeskMetrics


@dataclass
class Breaker:
    """Opens after ``failures`` consecutive failures; lets one call through after ``reset_s``."""

    failures: int = 5
    reset_s: float = 5.0
    consecutive: int = 0
    opened_at: float | None = None

    def allow(self) -> bool:
        """True when a call may go out (closed, or half-open after the reset time)."""
        return self.opened_at is None or time.monotonic() - self.opened_at >= self.reset_s

    def record(self, ok: bool) -> None:
        if ok:
            self.consecutive, self.opened_at = 0, None
            return
        self.consecutive += 1
        if self.consecutive >= self.failures:
            self.opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None


@dataclass(frozen=True)
class ToolOutcome:
    """A tool's answer (``data``) or why there is none (``error``), and the retries it took."""

    data: dict[str, Any] | None
    error: str = ""
    retries: int = 0

    def text(self) -> str:
        """What the model sees: the JSON result, or ``ERROR: ...``."""
        return json.dumps(self.data) if self.data is not None else f"ERROR: {self.error}"


@dataclass
class ToolClient:
    """Calls ``POST {tools_url}/tools/<name>`` (or ``{urls[name]}/tools/<name>``) as above."""

    http: httpx.AsyncClient
    metrics: HelpdeskMetrics
    retries: int = 1
    backoff_s: float = 0.05
    breaker_failures: int = 5
    breaker_reset_s: float = 5.0
    #: per-tool base URLs overriding the client's (e.g. one fault-proxy upstream per tool)
    urls: dict[str, str] = field(default_factory=dict)
    breakers: dict[str, Breaker] = field(default_factory=dict)

    def breaker(self, tool: str) -> Breaker:
        if tool not in self.breakers:
            self.breakers[tool] = Breaker(self.breaker_failures, self.breaker_reset_s)
        return self.breakers[tool]

    async def call(self, tool: str, payload: dict[str, Any]) -> ToolOutcome:
        """One tool call; a 404 is an answer (``not found``), other failures are errors."""
        breaker = self.breaker(tool)
        if not breaker.allow():
            self.metrics.tool_calls.labels(tool, "breaker_open").inc()
            return ToolOutcome(None, f"{tool} unavailable (circuit open)")
        error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.metrics.tool_retries.labels(tool).inc()
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            outcome = await self._once(tool, payload)
            if outcome.error == "":
                breaker.record(True)
                self._set_breaker(tool)
                self.metrics.tool_calls.labels(tool, "ok").inc()
                return ToolOutcome(outcome.data, retries=attempt)
            error = outcome.error
        breaker.record(False)
        self._set_breaker(tool)
        self.metrics.tool_calls.labels(tool, "error").inc()
        return ToolOutcome(None, error, retries=self.retries)

    async def _once(self, tool: str, payload: dict[str, Any]) -> ToolOutcome:
        try:
            base = self.urls.get(tool, "").rstrip("/")
            response = await self.http.post(f"{base}/tools/{tool}", json=payload)
        except httpx.HTTPError as exc:
            return ToolOutcome(None, f"{tool} failed: {type(exc).__name__}")
        if response.status_code == 404:
            return ToolOutcome({"not_found": _detail(response)})
        if response.status_code != 200:
            return ToolOutcome(None, f"{tool} failed: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            return ToolOutcome(None, f"{tool} failed: malformed JSON")
        if not isinstance(data, dict):
            return ToolOutcome(None, f"{tool} failed: expected a JSON object")
        return ToolOutcome(data)

    def _set_breaker(self, tool: str) -> None:
        self.metrics.breaker_open.labels(tool).set(1 if self.breaker(tool).is_open else 0)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", "not found"))
    except (ValueError, AttributeError):
        return "not found"
