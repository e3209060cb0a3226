"""A typed client of the fault API (``GET/PUT/DELETE /faults[/{target}]``, bearer token).

The one client of the API the toolbox serves (and, later, the fault proxy): used by the suite's
targets to heal, and by the chaos activities to inject and clear. Imports nothing of the
project, like the rest of ``faults``.

Errors::

    FaultApiError   no answer, a status other than 200, or an answer of the wrong shape;
                    the message names the call, the URL, the status and the server's detail:
                    ``PUT http://127.0.0.1:8001/faults/llm: expected HTTP 200, got 422: ...``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_TIMEOUT_S = 5.0


class FaultApiError(Exception):
    """A fault API call that failed: what was asked, where, the HTTP status, the detail."""

    def __init__(self, what: str, url: str, status: int | None, detail: str) -> None:
        self.what = what
        self.url = url
        self.status = status
        self.detail = detail
        if status is None:
            problem = f"no answer ({detail})"
        elif status != 200:
            problem = f"expected HTTP 200, got {status}: {detail}"
        else:
            problem = f"HTTP 200 but {detail}"
        super().__init__(f"{what} {url}: {problem}")


class FaultClient:
    """Set, list and clear faults on one fault API (``base_url`` without ``/faults``).

    One call, one connection: no keep-alive (an API whose process restarted is reached on
    the next call), no proxies from the environment, bounded timeouts.
    """

    def __init__(self, base_url: str, token: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"FaultClient({self.base_url!r}, timeout_s={self.timeout_s:g})"

    def active(self) -> dict[str, dict[str, Any]]:
        """Target -> fault (with ``expires_at``, epoch s) of every unexpired fault."""
        answer = self._call("GET", "/faults")
        faults = answer.get("faults")
        if not isinstance(faults, dict) or not all(isinstance(f, dict) for f in faults.values()):
            raise self._shape_error("GET", "/faults", "'faults' object of objects", answer)
        return {str(target): dict(fault) for target, fault in faults.items()}

    def set(self, target: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Set (replace) the fault on ``target``; the fault as stored, with ``expires_at``."""
        return self._call("PUT", f"/faults/{_quoted(target)}", dict(spec))

    def clear(self, target: str) -> list[str]:
        """Clear the fault on ``target`` (idempotent); the targets that had one."""
        return self._cleared("DELETE", f"/faults/{_quoted(target)}")

    def clear_all(self) -> list[str]:
        """Clear every fault (idempotent); the targets that had one."""
        return self._cleared("DELETE", "/faults")

    # -- plumbing
    def _cleared(self, method: str, path: str) -> list[str]:
        answer = self._call(method, path)
        cleared = answer.get("cleared")
        if not isinstance(cleared, list):
            raise self._shape_error(method, path, "'cleared' list", answer)
        return [str(target) for target in cleared]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            with httpx.Client(
                timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 2.0)),
                limits=httpx.Limits(max_keepalive_connections=0),
                trust_env=False,
            ) as client:
                response = client.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {self._token}"}
                )
        except httpx.HTTPError as exc:
            raise FaultApiError(method, url, None, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise FaultApiError(method, url, response.status_code, _detail(response))
        try:
            answer = response.json()
        except ValueError as exc:
            raise FaultApiError(
                method, url, 200, f"the answer is not JSON: {response.text[:200]!r}"
            ) from exc
        if not isinstance(answer, dict):
            raise self._shape_error(method, path, "JSON object", answer)
        return answer

    def _shape_error(self, method: str, path: str, expected: str, answer: Any) -> FaultApiError:
        detail = f"no {expected} in the answer: {repr(answer)[:200]}"
        return FaultApiError(method, f"{self.base_url}{path}", 200, detail)


def _quoted(target: str) -> str:
    return quote(target, safe=":")


def _detail(response: httpx.Response) -> str:
    """The server's ``detail`` (FastAPI's error body), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or "empty body"
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:200]
