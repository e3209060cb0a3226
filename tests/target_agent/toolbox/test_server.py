"""Against the real uvicorn process: LangChain's ChatOpenAI speaks to it, and hangs really hang."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from target_agent.toolbox.catalogue import ALERT_TYPES, PLAYBOOK, catalogue
from tests.conftest import Server
from tests.target_agent.toolbox.support import parse_calls


@tool
def check_pods(service: str) -> str:
    """Pod phases, readiness and restarts of a service."""
    raise NotImplementedError


@tool
def get_metrics(service: str) -> str:
    """Key metrics of a service."""
    raise NotImplementedError


@tool
def get_logs(service: str) -> str:
    """Recent error patterns in a service's logs."""
    raise NotImplementedError


@tool
def get_deploys(service: str) -> str:
    """Recent deploys and config changes of a service."""
    raise NotImplementedError


def admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_token}"}


def test_langchain_chatopenai_plans_and_reasons(toolbox_server: Server) -> None:
    """One incident per alert type: tool_calls parsed by LangChain, true root cause returned;
    an injected 429 reaches LangChain as ``openai.RateLimitError`` carrying ``Retry-After``."""
    model = ChatOpenAI(
        base_url=f"{toolbox_server.url}/v1",
        api_key=SecretStr("x"),
        model="stampede-sim",
        max_retries=0,
    ).bind_tools([check_pods, get_metrics, get_logs, get_deploys])
    firsts = [next(i for i in catalogue(0) if i.alert_type == t) for t in ALERT_TYPES]
    with httpx.Client(base_url=toolbox_server.url, timeout=5, trust_env=False) as http:
        for incident in firsts:
            messages: list[BaseMessage] = [
                SystemMessage("You investigate alerts."),
                HumanMessage(f"Alert: {json.dumps(incident.alert())}"),
            ]
            plan = model.invoke(messages)
            assert [c["name"] for c in plan.tool_calls] == list(PLAYBOOK[incident.alert_type])
            assert all(c["args"] == {"service": incident.service} for c in plan.tool_calls)
            assert plan.usage_metadata is not None and plan.usage_metadata["input_tokens"] > 0
            messages.append(plan)
            for n, call in enumerate(plan.tool_calls):
                answer = http.post(f"/tools/{call['name']}", json=call["args"]).text
                content: str | list[str | dict[str, str]] = answer
                if n == 0:
                    content = [{"type": "text", "text": answer}]
                messages.append(ToolMessage(content=content, tool_call_id=call["id"]))
            verdict = json.loads(str(model.invoke(messages).content))
            assert verdict["root_cause"] == incident.root_cause, incident.service
            assert len(verdict["cited_evidence"]) >= 2

    httpx.put(
        f"{toolbox_server.url}/faults/llm",
        json={"error_rate": 1, "error_status": 429, "retry_after_s": 4, "ttl_s": 30},
        headers=admin(toolbox_server),
        trust_env=False,
    ).raise_for_status()
    with pytest.raises(openai.RateLimitError) as caught:
        model.invoke([HumanMessage(json.dumps(firsts[0].alert()))])
    assert caught.value.response.headers["Retry-After"] == "4", "the agent can honour it"


def test_hang_gives_nothing_within_the_client_timeout(toolbox_server: Server) -> None:
    """The client times out; the server notices the disconnect long before the fault's TTL."""
    url = toolbox_server.url
    httpx.put(
        f"{url}/faults/tool:get_logs",
        json={"hang": True, "ttl_s": 60},
        headers=admin(toolbox_server),
        trust_env=False,
    ).raise_for_status()
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{url}/tools/get_logs", json={"service": "checkout"}, timeout=0.5, trust_env=False
        )
    assert time.monotonic() - started < 5
    fast = httpx.post(
        f"{url}/tools/get_metrics", json={"service": "checkout"}, timeout=2, trust_env=False
    )
    assert fast.status_code == 200, "one hanging tool does not block the others"

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        counts = parse_calls(httpx.get(f"{url}/metrics", timeout=2, trust_env=False).text)
        if counts[("tool:get_logs", "hang")] == 1:
            break
        time.sleep(0.1)
    assert counts[("tool:get_logs", "hang")] == 1, "the hang ended when the client left"
    assert counts[("tool:get_metrics", "ok")] == 1
    listed = httpx.get(
        f"{url}/faults", headers=admin(toolbox_server), timeout=2, trust_env=False
    ).json()
    assert "tool:get_logs" in listed["faults"], "the fault itself is still in force"
