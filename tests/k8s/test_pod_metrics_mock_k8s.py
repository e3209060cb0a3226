"""Per-pod scraping on kind, against a MOCKED Kubernetes API server (a tiny HTTP server).

`AgentPods` lists the ready agent pods and reads each one's /metrics through the API server's
pod proxy; the merged exposition labels samples by pod, and the sampler folds them as it folds
the local target's workers: counters and in-flight summed over pods, breaker state by max.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml

from stampede.kind.podmetrics import AgentPods, merge_expositions
from stampede.sampler import read_exposition

POD_TEXT = {
    pod: f'agent_requests_total{{outcome="complete"}} {done}\n'
    f'agent_breaker_state{{dependency="llm"}} {breaker}\nagent_in_flight {busy}\n'
    for pod, done, breaker, busy in (("agent-a", 5, 0, 2), ("agent-b", 7, 2, 1))
}
READY = {"agent-a": True, "agent-b": True, "agent-c": False}


def _pod(name: str, ready: bool) -> dict[str, Any]:
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    return {
        "metadata": {"name": name, "namespace": "stampede"},
        "status": {"conditions": [condition]},
    }


class FakeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down: set[str] = set()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: FakeApi

    def do_GET(self) -> None:
        self.server.calls.append(unquote(self.path))
        url = urlparse(unquote(self.path))
        prefix = "/api/v1/namespaces/stampede/pods"
        if url.path == prefix:
            if parse_qs(url.query).get("labelSelector") != ["app.kubernetes.io/name=agent"]:
                self._send(400, '{"kind":"Status","code":400}', "application/json")
                return
            items = [_pod(n, r) for n, r in READY.items()]
            self._send(200, json.dumps({"kind": "PodList", "apiVersion": "v1", "items": items}),
                       "application/json")  # fmt: skip
            return
        name = url.path.removeprefix(prefix + "/").split(":")[0]
        if (
            url.path.endswith(":8000/proxy/metrics")
            and name in POD_TEXT
            and name not in self.server.down
        ):
            self._send(200, POD_TEXT[name], "text/plain")
            return
        self._send(503, '{"kind":"Status","code":503}', "application/json")

    def _send(self, status: int, body: str, kind: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    server = FakeApi()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _pods(fake_api: FakeApi, tmp_path: Path) -> AgentPods:
    url = f"http://127.0.0.1:{fake_api.server_address[1]}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-stampede",
        "clusters": [{"name": "k", "cluster": {"server": url}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-stampede", "context": {"cluster": "k", "user": "u"}}],
    }))  # fmt: skip
    return AgentPods("kind-stampede", "stampede", kubeconfig=str(kubeconfig))


def test_mocked_k8s_every_ready_pod_is_scraped_and_folded(
    fake_api: FakeApi, tmp_path: Path
) -> None:
    pods = _pods(fake_api, tmp_path)
    text = pods.fetch()
    assert 'pod="agent-a"' in text and 'pod="agent-b"' in text
    scraped = [c for c in fake_api.calls if "/proxy/" in c]
    assert sorted(scraped) == [
        "/api/v1/namespaces/stampede/pods/agent-a:8000/proxy/metrics",
        "/api/v1/namespaces/stampede/pods/agent-b:8000/proxy/metrics",
    ], "not-ready agent-c is not scraped"
    values = read_exposition(text).values
    assert values[("requests_total", "complete")] == 12  # summed over pods
    assert values[("in_flight", "")] == 3
    assert values[("breaker_state", "llm")] == 2  # worst pod


def test_mocked_k8s_a_pod_that_does_not_answer_is_left_out(
    fake_api: FakeApi, tmp_path: Path
) -> None:
    pods = _pods(fake_api, tmp_path)
    fake_api.down = {"agent-b"}
    values = read_exposition(pods.fetch()).values
    assert values[("requests_total", "complete")] == 5
    assert pods.last.read == ["agent-a"] and list(pods.last.failed) == ["agent-b"]
    fake_api.down = {"agent-a", "agent-b"}
    with pytest.raises(RuntimeError, match="no agent pod answered"):
        pods.fetch()


def test_merged_exposition_keeps_types_and_escapes_labels() -> None:
    text = merge_expositions({"p": '# TYPE x counter\nx_total{a="q\\"uote"} 1\n'})
    assert "# TYPE x counter" in text
    assert 'x_total{a="q\\"uote",pod="p"} 1.0' in text
