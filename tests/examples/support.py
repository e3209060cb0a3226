"""Start the helpdesk example (scripted LLM, tools, agent) as real processes on free ports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from loadtests.declarative import DeclarativeProfile
from loadtests.profile import Reply, Verdict
from stampede import procs
from stampede.cases import Case

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "helpdesk"
#: The helpdesk's tools (examples/helpdesk/tools.py), one proxy upstream each.
TOOLS = ("lookup_service", "get_oncall")


@dataclass(frozen=True)
class Service:
    """A process a test started and its base URL."""

    url: str
    proc: procs.Proc


def start_app(
    app: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready: str = "/healthz",
    timeout_s: float = 30.0,
) -> Service:
    """``uvicorn <app>`` on a free 127.0.0.1 port, cwd = the repository; waits for ``ready``."""
    port = procs.free_port()
    cmd = procs.python_cmd(
        "-m", "uvicorn", app, "--host", procs.LOCALHOST, "--port", str(port), "--no-access-log"
    )
    proc = procs.spawn(cmd, log, env=dict(env or {}), cwd=ROOT)
    url = f"http://{procs.LOCALHOST}:{port}"
    try:
        procs.wait_http_ok(url + ready, proc, timeout_s=timeout_s, what=app)
    except BaseException:
        procs.stop(proc)
        raise
    return Service(url, proc)


def start_llm(log_dir: Path, env: Mapping[str, str] | None = None) -> Service:
    return start_app("examples.helpdesk.fake_llm:app", log_dir / "fake_llm.log", env)


def start_tools(log_dir: Path, knowledge: Path | None = None, name: str = "tools") -> Service:
    env = {"HELPDESK_KNOWLEDGE": str(knowledge)} if knowledge else {}
    return start_app("examples.helpdesk.tools:app", log_dir / f"{name}.log", env)


def start_agent(
    log_dir: Path, llm_url: str, tools_url: str, name: str = "agent", **settings: str
) -> Service:
    """The helpdesk agent; ``settings`` are extra ``HELPDESK_*`` values (lower-case names) and
    win over the URLs (``llm_base_url="http://proxy/llm"``)."""
    env = {
        "HELPDESK_LLM_BASE_URL": f"{llm_url}/v1",
        "HELPDESK_TOOLS_URL": tools_url,
        "HELPDESK_REPLICA": name,
        **{f"HELPDESK_{k.upper()}": v for k, v in settings.items()},
    }
    return start_app("examples.helpdesk.agent:app", log_dir / f"{name}.log", env, "/readyz", 60.0)


def start_proxy(log_dir: Path, llm_url: str, tools_url: str, admin_token: str) -> Service:
    """``stampede proxy --config examples/helpdesk/proxy.yaml`` with this test's free ports."""
    port = procs.free_port()
    upstreams = {
        "llm": f"{llm_url}/v1",
        **{f"tool:{tool}": f"{tools_url}/tools/{tool}" for tool in TOOLS},
    }
    config = ("--config", str(EXAMPLE / "proxy.yaml"))
    proc = procs.spawn_proxy(port, log_dir / "proxy.log", admin_token, upstreams, *config)
    try:
        procs.wait_ready(proc, procs.proxy_ready(port), "fault proxy", 30.0)
    except BaseException:
        procs.stop(proc)
        raise
    return Service(f"http://{procs.LOCALHOST}:{port}", proc)


def start_agent_via_proxy(
    log_dir: Path, proxy_url: str, name: str = "agent", **settings: str
) -> Service:
    """The helpdesk agent with its LLM (``/llm``) and tools (``/tools/<name>``) behind a proxy."""
    return start_agent(
        log_dir, proxy_url, proxy_url, name, llm_base_url=f"{proxy_url}/llm", **settings
    )


def ask(
    client: httpx.Client, base_url: str, profile: DeclarativeProfile, case: Case, key: str = "k"
) -> Verdict:
    """Send the profile's request for ``case`` and judge the reply, as Locust would."""
    spec = profile.build(case, key)
    try:
        response = client.request(
            spec.method, base_url + spec.path, json=spec.json, headers=dict(spec.headers)
        )
    except httpx.HTTPError as exc:
        return profile.judge(case, Reply(0, error=f"{type(exc).__name__}: {exc}"))
    headers = {k.lower(): v for k, v in response.headers.items()}
    return profile.judge(case, Reply(response.status_code, response.content, headers))


def lying_knowledge(path: Path, team: str, primary: str) -> Path:
    """A copy of the helpdesk's knowledge where ``team``'s primary on call is ``primary``."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLE / "knowledge.yaml").read_text())
    data["oncall"][team]["primary"] = primary
    path.write_text(json.dumps(data))  # JSON is YAML
    return path
