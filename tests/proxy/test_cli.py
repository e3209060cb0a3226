"""``stampede proxy`` configuration: bad input is one line naming the field and exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from stampede import procs
from tests.proxy.conftest import Running, start_proxy


def run_proxy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        procs.python_cmd("-m", "stampede.cli", "proxy", *args),
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "db=http://x"], "upstreams: db: upstream name 'db': expected 'llm'"),
        (["--upstream", "llm=ftp://x"], "upstreams: llm: 'ftp://x': expected http(s)://host"),
        (["--upstream", "llm"], "--upstream 'llm': expected NAME=URL"),
        (["--upstream", "tool:a=http://x?q=1"], "a base URL takes no query"),
        ([], "upstreams: Dictionary should have at least 1 item"),
        (["--upstream", "llm=http://x", "--listen", "8200"], "listen: '8200': expected host:port"),
        (
            ["--upstream", "llm=http://x", "--listen", "0.0.0.0:8200"],
            "listen: 0.0.0.0 is not a loopback address; pass --allow-remote",
        ),
        (["--upstream", "llm=http://x", "--max-fault-ttl-s", "0"], "max_fault_ttl_s: Input"),
    ],
    ids=["bad-name", "bad-scheme", "no-url", "query", "none", "bad-listen", "remote", "ttl"],
)
def test_bad_flags_exit_2_naming_the_field(args: list[str], message: str) -> None:
    result = run_proxy(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("stampede: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("upstreams: [1, 2]\n", "upstreams: expected a mapping NAME: URL"),
        ("- a\n", "expected a mapping at the top, got list"),
        ("upstreams: {llm: 'http://x'}\nport_: 1\n", "port_: Extra inputs are not permitted"),
        ("upstreams: {llm: 'http://x'}\nadmin_token_env: NOPE_NOT_SET\n", "$NOPE_NOT_SET"),
        ("upstreams: {\n", "not valid YAML"),
    ],
    ids=["list-upstreams", "not-a-mapping", "unknown-key", "missing-env", "bad-yaml"],
)
def test_bad_yaml_exits_2_naming_the_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text(text)
    result = run_proxy("--config", str(config))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"stampede: error: {config}:"), result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_yaml_config_serves_and_flags_win(tmp_path: Path, upstream: Running) -> None:
    port = procs.free_port()
    config = tmp_path / "proxy.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\nadmin_token_env: PROXY_TEST_TOKEN\n"
        f"upstreams:\n  tool:raw: {upstream.url}\n  llm: http://127.0.0.1:9/v1\n"
    )
    proc = procs.spawn(
        procs.python_cmd("-m", "stampede.cli", "proxy", "--config", str(config)),
        tmp_path / "proxy.log",
        env={"PROXY_TEST_TOKEN": "from-env"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_http_ok(f"{url}/healthz", proc, what="proxy")
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as http:
            assert http.get("/tools/raw/bytes/3").status_code == 200
            faults = http.get("/faults", headers={"Authorization": "Bearer from-env"})
            assert faults.json() == {"faults": {}}
            down = http.post("/llm/chat/completions", json={})
            assert down.status_code == 502
            assert down.json()["error"]["message"].startswith("upstream llm (http://127.0.0.1:9")
    finally:
        procs.stop(proc)


def test_a_taken_port_exits_2(tmp_path: Path, upstream: Running) -> None:
    running = start_proxy(tmp_path / "a.log", {"tool:raw": upstream.url}, "t")
    try:
        port = running.url.rsplit(":", 1)[1]
        result = run_proxy(
            "--upstream", f"tool:raw={upstream.url}", "--listen", f"127.0.0.1:{port}"
        )
        assert result.returncode == 2
        assert result.stderr.startswith(f"stampede: error: cannot listen on 127.0.0.1:{port}")
    finally:
        procs.stop(running.proc)
