"""A fake agent: POST /investigate stores a record; /metrics in the agent's names.

``python fake_agent.py PORT`` serves on 127.0.0.1:PORT until stopped.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

store: dict[str, Any] = {}
lock = threading.Lock()
counts = {"complete": 0}


class Handler(BaseHTTPRequestHandler):
    """The three routes the suite uses, plus /healthz and /metrics."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            return self._send(200, {"ok": True})
        if self.path == "/metrics":
            text = (
                "# TYPE agent_requests_total counter\n"
                f'agent_requests_total{{outcome="complete"}} {counts["complete"]}\n'
                "# TYPE agent_breaker_state gauge\n"
                'agent_breaker_state{dependency="llm"} 0\n'
                "# TYPE agent_in_flight gauge\nagent_in_flight 1\n"
            )
            return self._send(200, text, "text/plain; version=0.0.4")
        if self.path.startswith("/investigations/"):
            key = self.path.rsplit("/", 1)[1]
            if key in store:
                return self._send(200, store[key])
            return self._send(404, {"detail": "not found"})
        return self._send(404, {"detail": "no route"})

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(size) or b"{}")
        key = uuid.uuid4().hex
        with lock:
            store[key] = body
            counts["complete"] += 1
        self._send(200, {"investigation_id": key, "status": "complete"})


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
