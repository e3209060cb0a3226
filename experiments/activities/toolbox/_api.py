"""The toolbox fault API as the activities use it: one call, errors as ActivityFailed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from chaoslib.exceptions import ActivityFailed

from experiments.activities import _local

if TYPE_CHECKING:
    from stampede.stack import StackState

TIMEOUT_S = 5.0


def call(state: StackState, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """``method path`` on the toolbox with the stack's admin token; the JSON answer."""
    url = _local.local_url(state.toolbox.url, "toolbox")
    what = f"{method} {url}{path}"
    try:
        with _local.http_client(TIMEOUT_S) as client:
            response = client.request(
                method,
                f"{url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {state.admin_token}"},
            )
    except httpx.HTTPError as exc:
        raise ActivityFailed(f"{what}: no answer ({type(exc).__name__}: {exc})") from exc
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ActivityFailed(f"{what}: expected HTTP 200, got {response.status_code}: {detail}")
    try:
        return response.json()
    except ValueError as exc:
        raise ActivityFailed(f"{what}: answer is not JSON: {response.text[:200]!r}") from exc


def active_faults(state: StackState) -> dict[str, Any]:
    """Target -> fault of every unexpired fault."""
    answer = call(state, "GET", "/faults")
    faults = answer.get("faults") if isinstance(answer, dict) else None
    if not isinstance(faults, dict):
        raise ActivityFailed(f"GET {state.toolbox.url}/faults: no 'faults' object in {answer!r}")
    return faults
