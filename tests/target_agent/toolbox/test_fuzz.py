"""Property: random bodies to the fault API, the tools and the LLM never get a 5xx.

Faults set by an example are cleared after it, so no example leaks into the next.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faults.model import FaultSpec
from target_agent.toolbox.catalogue import ALERT_TYPES, TOOLS, catalogue
from target_agent.toolbox.targets import FAULT_TARGETS
from tests.target_agent.toolbox.support import ADMIN

pytestmark = pytest.mark.anyio

FUZZ = settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
services = st.sampled_from([i.service for i in catalogue(0)]) | st.text(max_size=12)

fault_values = {
    "error_rate": st.floats(-0.5, 1.5, allow_nan=False) | json_values,
    "error_status": st.integers(100, 700) | json_values,
    "latency_ms": st.floats(-1, 200_000, allow_nan=False) | json_values,
    "jitter_ms": st.floats(-1, 200_000, allow_nan=False) | json_values,
    "hang": st.booleans() | json_values,
    "rate_limit_rps": st.none() | st.floats(-1, 20_000, allow_nan=False) | json_values,
    "retry_after_s": st.integers(-5, 5_000) | json_values,
    "lie": st.booleans() | json_values,
    "hallucinate": st.booleans() | json_values,
    "ttl_s": st.floats(0, 2_000, allow_nan=False) | json_values,
    "retry_after_format": st.sampled_from(["seconds", "http-date", "date"]) | json_values,
    "reset": st.booleans() | json_values,
    "latency_dist": st.sampled_from(["fixed", "uniform", "lognormal", "pareto"]) | json_values,
    "jitter_sigma": st.floats(-1, 5, allow_nan=False) | json_values,
    "rate_limit_tpm": st.none() | st.floats(-1, 2e8, allow_nan=False) | json_values,
    "corrupt_body": st.sampled_from([None, "truncate", "malformed", "x"]) | json_values,
    "json_rules": st.lists(
        st.fixed_dictionaries(
            {"path": st.sampled_from(["$", "$.a[0]", '$["b"][*]', "$..x", "a"]) | st.text()},
            optional={"value": json_values, "op": st.sampled_from(["set", "replace", "del"])},
        )
        | json_values,
        max_size=3,
    )
    | json_values,
    "llm_content": st.none() | st.text(max_size=20) | json_values,
    "llm_tool_arguments": st.none()
    | st.dictionaries(st.text(max_size=4), json_values)
    | json_values,
    "llm_tool_name": st.none() | st.sampled_from(TOOLS) | json_values,
    "stream_first_token_ms": st.floats(-1, 200_000, allow_nan=False) | json_values,
    "stream_token_ms": st.floats(-1, 20_000, allow_nan=False) | json_values,
    "stream_cut_after": st.none() | st.integers(-2, 2_000_000) | json_values,
    "stream_malformed_chunk": st.none() | st.integers(-2, 2_000_000) | json_values,
}
assert set(fault_values) == set(FaultSpec.model_fields)
fault_bodies = st.fixed_dictionaries({}, optional=fault_values) | json_values
fault_targets = st.sampled_from(FAULT_TARGETS) | st.text(max_size=16)

alert_texts = st.builds(
    lambda t, s, pre: pre + json.dumps({"alert_type": t, "service": s}),
    st.sampled_from(ALERT_TYPES) | st.text(max_size=8),
    services,
    st.text(max_size=10),
)
contents = (
    st.none()
    | st.text(max_size=40)
    | alert_texts
    | st.lists(
        st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=20) | alert_texts})
        | json_values,
        max_size=3,
    )
    | json_values
)
tool_calls = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=6) | json_values,
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {"name": st.sampled_from(TOOLS) | json_values, "arguments": st.text(max_size=20)}
            )
            | json_values,
        }
    )
    | json_values,
    max_size=3,
)
tool_answers = st.builds(
    lambda tool, supports: json.dumps(
        {"tool": tool, "service": "checkout", "findings": [{"supports": s} for s in supports]}
    ),
    st.sampled_from(TOOLS) | st.text(max_size=6),
    st.lists(st.text(max_size=6) | st.none(), max_size=3),
)
messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool", "bogus"]) | json_values},
    optional={
        "content": contents | tool_answers,
        "tool_call_id": st.text(max_size=6) | json_values,
        "tool_calls": tool_calls,
        "name": st.text(max_size=6) | json_values,
    },
)
chat_bodies = (
    st.fixed_dictionaries(
        {"messages": st.lists(messages, max_size=5) | json_values},
        optional={
            "model": st.text(max_size=8) | json_values,
            "stream": st.booleans() | json_values,
            "tools": json_values,
        },
    )
    | json_values
)


def assert_not_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if not response.is_redirect:
        response.json()


async def send_json_or_bytes(
    client: httpx.AsyncClient, method: str, url: str, body: Any, raw: bytes | None, **kw: Any
) -> httpx.Response:
    if raw is not None:
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return await client.request(method, url, content=raw, headers=headers, **kw)
    return await client.request(method, url, json=body, **kw)


#: Bodies Python's JSON parser accepts but strict JSON does not, plus invalid UTF-8.
NASTY = [b'{"latency_ms": 1e400}', b'{"error_rate": NaN}', b'{"service": -Infinity}', b"\xff\xfe{"]
raw_bytes = st.none() | st.sampled_from(NASTY) | st.binary(max_size=40)


@FUZZ
@given(target=fault_targets, body=fault_bodies, raw=st.none() | raw_bytes)
async def test_fault_api_never_5xx(
    client: httpx.AsyncClient, target: str, body: Any, raw: bytes | None
) -> None:
    url = f"/faults/{quote(target, safe='')}"
    try:
        assert_not_5xx(await send_json_or_bytes(client, "PUT", url, body, raw, headers=ADMIN))
        assert_not_5xx(await client.get("/faults", headers=ADMIN))
        assert_not_5xx(await client.delete(url, headers=ADMIN))
    finally:
        await client.delete("/faults", headers=ADMIN)


@FUZZ
@given(
    name=st.sampled_from(TOOLS) | st.text(max_size=12),
    body=st.fixed_dictionaries({}, optional={"service": services | json_values}) | json_values,
    raw=raw_bytes,
)
async def test_tools_never_5xx(
    client: httpx.AsyncClient, name: str, body: Any, raw: bytes | None
) -> None:
    url = f"/tools/{quote(name, safe='')}"
    assert_not_5xx(await send_json_or_bytes(client, "POST", url, body, raw))


@FUZZ
@given(body=chat_bodies, raw=raw_bytes)
async def test_chat_completions_never_5xx(
    client: httpx.AsyncClient, body: Any, raw: bytes | None
) -> None:
    assert_not_5xx(await send_json_or_bytes(client, "POST", "/v1/chat/completions", body, raw))
