"""A Prometheus page in another agent's names (helpdesk-like), for metric-map tests.

``python metrics_page.py PORT`` serves ``GET /metrics`` on 127.0.0.1:PORT until stopped: a
breaker per dependency (``dep`` label, 1 = open), tool retries that grow by one per scrape, and
an in-flight gauge. No queue-depth series: a map naming one must report it absent.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

scrapes = 0
lock = threading.Lock()


def page(n: int) -> str:
    """The exposition of the ``n``-th scrape."""
    return (
        "# TYPE other_breaker_open gauge\n"
        'other_breaker_open{dep="kb"} 1\n'
        'other_breaker_open{dep="llm"} 0\n'
        "# TYPE other_tool_retries_total counter\n"
        f'other_tool_retries_total{{tool="lookup"}} {n}\n'
        "# TYPE other_inflight gauge\n"
        "other_inflight 2\n"
    )


class Handler(BaseHTTPRequestHandler):
    """``/metrics`` only."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        global scrapes
        if self.path != "/metrics":
            self.send_error(404)
            return
        with lock:
            scrapes += 1
            body = page(scrapes).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
