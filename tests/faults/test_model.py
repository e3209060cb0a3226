"""The shared fault spec: bounds and cross-field rules (a 422 on the API), store fit checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from faults.model import FaultSpec, InvalidFault
from faults.store import FaultStore

STORE_TARGETS = ("llm", "tools", "tool:a")


@pytest.mark.parametrize(
    "body",
    [
        {"latency_dist": "pareto"},
        {"latency_dist": "fixed", "jitter_ms": 5},
        {"jitter_sigma": 0},
        {"jitter_sigma": 3.5},
        {"retry_after_format": "rfc850"},
        {"rate_limit_tpm": 0},
        {"rate_limit_tpm": 1e9},
        {"corrupt_body": "shuffle"},
        {"json_rules": [{"path": "findings", "value": 1}]},
        {"json_rules": [{"path": "$.a[", "value": 1}]},
        {"json_rules": [{"path": "$ .", "value": 1}]},
        {"json_rules": [{"path": "$.a * 2", "value": 1}]},
        {"json_rules": [{"path": "$.a", "op": "delete"}]},
        {"json_rules": [{"path": "$.a"}] * 17},
        {"llm_tool_name": "get_logs"},
        {"stream_token_ms": 10_001},
        {"stream_first_token_ms": -1},
        {"stream_cut_after": -1},
        {"stream_malformed_chunk": 0},
    ],
    ids=lambda body: ",".join(f"{k}={str(v)[:20]}" for k, v in body.items()),
)
def test_out_of_bounds_specs_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultSpec.model_validate(body)


def test_every_knob_within_bounds_is_accepted() -> None:
    spec = FaultSpec.model_validate(
        {
            "latency_ms": 5,
            "jitter_ms": 10,
            "latency_dist": "lognormal",
            "jitter_sigma": 2,
            "retry_after_format": "http-date",
            "json_rules": [{"path": '$.a[0]["b c"][*]', "value": {"x": 1}, "op": "replace"}],
            "llm_tool_arguments": {"service": "x"},
            "llm_tool_name": "get_logs",
            "stream_cut_after": 0,
        }
    )
    assert spec.needs_body and spec.shapes_stream and spec.rewrites_llm
    assert not FaultSpec(latency_ms=5, stream_token_ms=0).needs_body


@pytest.mark.parametrize(
    ("target", "body", "message"),
    [
        ("tool:a", {"rate_limit_tpm": 100}, "rate_limit_tpm applies to the llm target"),
        ("tools", {"llm_content": "x"}, "llm_content applies to the llm target"),
        ("tool:a", {"llm_tool_arguments": {}}, "llm_tool_arguments applies to the llm target"),
        ("llm", {"lie": True}, "lie applies to tool targets"),
    ],
    ids=["tpm-on-tool", "content-on-tools", "arguments-on-tool", "lie-on-llm"],
)
def test_store_refuses_fields_that_do_not_fit_the_target(
    target: str, body: dict[str, object], message: str
) -> None:
    store = FaultStore(STORE_TARGETS, max_ttl_s=60)
    with pytest.raises(InvalidFault, match=message):
        store.put(target, FaultSpec.model_validate(body))


def test_store_refuses_what_the_server_cannot_apply() -> None:
    store = FaultStore(STORE_TARGETS, max_ttl_s=60, unsupported={"lie": "no answer key here"})
    with pytest.raises(InvalidFault, match="lie is not supported here: no answer key here"):
        store.put("tools", FaultSpec(lie=True))
    assert store.put("tools", FaultSpec(lie=False)).target == "tools"


def test_ttl_ceiling_names_the_setting() -> None:
    store = FaultStore(STORE_TARGETS, max_ttl_s=60, ttl_setting="--max-fault-ttl-s")
    with pytest.raises(InvalidFault, match=r"ttl_s 61 exceeds --max-fault-ttl-s \(60 s\)"):
        store.put("llm", FaultSpec(ttl_s=61))
