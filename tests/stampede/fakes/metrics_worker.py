"""The agent's own ``Metrics`` in prometheus multiprocess mode, as a worker or a scraper.

``python metrics_worker.py N``: set the metrics of worker N, print ``ready``, stay alive until
signalled. ``python metrics_worker.py scrape``: print the exposition of every live worker.
Both need ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import signal
import sys

from target_agent.agent.metrics import Metrics


def work(n: int) -> None:
    """Worker ``n``: its counters and gauges, then wait for a signal."""
    m = Metrics()
    m.requests.labels("complete").inc(n)
    m.retries.labels("tool:get_logs").inc(n)
    m.set_breaker("tool:get_logs", "opened" if n == 2 else "closed")
    m.in_flight.set(n)
    m.write_behind_depth.set(10 * n)
    print("ready", flush=True)
    signal.pause()


if __name__ == "__main__":
    if sys.argv[1] == "scrape":
        print(Metrics().exposition().decode(), flush=True)
    else:
        work(int(sys.argv[1]))
