"""The tool client: ``POST {toolbox}/tools/{name}`` with httpx, errors translated at the edge."""

from __future__ import annotations

from typing import Any

import httpx

from target_agent.agent.resilience.errors import (
    AttemptTimeout,
    DependencyClientError,
    DependencyUnavailable,
    NotFound,
    parse_retry_after,
)


def _is_transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


class ToolClient:
    """Calls one tool for one service; returns the tool's answer or raises a DependencyError."""

    def __init__(self, http: httpx.AsyncClient, toolbox_url: str) -> None:
        self.http = http
        self.toolbox_url = toolbox_url.rstrip("/")

    async def call(self, tool: str, service: str, timeout_s: float) -> dict[str, Any]:
        dependency = f"tool:{tool}"
        try:
            response = await self.http.post(
                f"{self.toolbox_url}/tools/{tool}",
                json={"service": service},
                timeout=timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise AttemptTimeout(
                dependency, f"{type(exc).__name__} after {timeout_s:.2f} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(dependency, f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError as exc:
                raise DependencyUnavailable(dependency, "answer is not JSON", status=200) from exc
            if not isinstance(body, dict) or not isinstance(body.get("findings"), list):
                raise DependencyUnavailable(dependency, "answer has no findings list", status=200)
            return body
        if status == 404:
            raise NotFound(dependency, f"404 for service {service!r}", status=404)
        if _is_transient(status):
            raise DependencyUnavailable(
                dependency,
                f"HTTP {status}",
                status=status,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        raise DependencyClientError(dependency, f"HTTP {status}", status=status)
