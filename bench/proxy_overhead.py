"""Latency and CPU the fault proxy adds, with no fault set: toolbox direct vs through the proxy.

Starts the toolbox and ``stampede proxy`` (upstreams ``llm`` and ``tool:get_logs`` on that
toolbox) as their own processes, then from this process sends, in interleaved rounds, one
keep-alive httpx client's sequential calls of two kinds to each path:

* ``tool``: ``POST /tools/get_logs`` (a ~300-byte JSON answer);
* ``llm``: ``POST /v1/chat/completions`` vs ``/llm/chat/completions`` (a planner turn).

Per kind it reports the median over rounds of the per-call p50 (ms) direct and proxied, the
added p50 (goal <= 1 ms), and the proxy process's CPU per proxied call (user + system, from
psutil around each proxied batch).

    .venv/bin/python bench/proxy_overhead.py [--rounds 5] [--per-round 400] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from stampede import procs

GOAL_MS = 1.0
TOOL_BODY = {"service": "checkout"}
ALERT = {"alert_type": "high_error_rate", "service": "checkout"}
LLM_BODY = {"model": "m", "messages": [{"role": "user", "content": json.dumps(ALERT)}]}


def batch(client: httpx.Client, path: str, body: dict[str, Any], n: int) -> list[float]:
    """``n`` sequential calls; their latencies in ms (every answer must be a 200)."""
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.post(path, json=body)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:200]}")
    return latencies


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def measure(
    args: argparse.Namespace, toolbox: str, proxy: str, proxy_proc: psutil.Process
) -> dict[str, Any]:
    kinds: dict[str, tuple[str, str, dict[str, Any]]] = {
        "tool": ("/tools/get_logs", "/tools/get_logs", TOOL_BODY),
        "llm": ("/v1/chat/completions", "/llm/chat/completions", LLM_BODY),
    }
    results: dict[str, Any] = {}
    with (
        httpx.Client(base_url=toolbox, trust_env=False, timeout=10) as direct,
        httpx.Client(base_url=proxy, trust_env=False, timeout=10) as proxied,
    ):
        for kind, (direct_path, proxy_path, body) in kinds.items():
            batch(direct, direct_path, body, 50)  # warm-up: connections, caches
            batch(proxied, proxy_path, body, 50)
            rows: dict[str, list[float]] = {"direct": [], "proxied": [], "cpu_ms": []}
            for round_ in range(args.rounds):
                order = ["direct", "proxied"] if round_ % 2 == 0 else ["proxied", "direct"]
                for side in order:
                    if side == "direct":
                        p50 = statistics.median(batch(direct, direct_path, body, args.per_round))
                        rows["direct"].append(p50)
                        continue
                    before = cpu_s(proxy_proc)
                    p50 = statistics.median(batch(proxied, proxy_path, body, args.per_round))
                    rows["cpu_ms"].append((cpu_s(proxy_proc) - before) * 1000 / args.per_round)
                    rows["proxied"].append(p50)
            med = {key: round(statistics.median(values), 3) for key, values in rows.items()}
            results[kind] = {
                "p50_direct_ms": med["direct"],
                "p50_proxied_ms": med["proxied"],
                "added_p50_ms": round(med["proxied"] - med["direct"], 3),
                "proxy_cpu_ms_per_call": med["cpu_ms"],
                "rounds": {key: [round(v, 3) for v in values] for key, values in rows.items()},
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=400)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    token = secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="proxy-bench-") as tmp:
        toolbox_port, proxy_port = procs.free_port(), procs.free_port()
        toolbox_proc = procs.start_toolbox(toolbox_port, Path(tmp) / "toolbox.log", token)
        toolbox = f"http://{procs.LOCALHOST}:{toolbox_port}"
        upstreams = {"llm": f"{toolbox}/v1", "tool:get_logs": f"{toolbox}/tools/get_logs"}
        proxy_proc = procs.spawn_proxy(proxy_port, Path(tmp) / "proxy.log", token, upstreams)
        try:
            proxy = f"http://{procs.LOCALHOST}:{proxy_port}"
            procs.wait_http_ok(f"{proxy}/healthz", proxy_proc, what="proxy")
            live = proxy_proc.process()
            assert live is not None
            results = measure(args, toolbox, proxy, live)
        finally:
            procs.stop(proxy_proc)
            procs.stop(toolbox_proc)
    print(f"rounds={args.rounds} per_round={args.per_round} (interleaved, sequential keep-alive)")
    for kind, row in results.items():
        print(
            f"{kind:5s} p50 direct {row['p50_direct_ms']:.3f} ms, "
            f"proxied {row['p50_proxied_ms']:.3f} ms, added {row['added_p50_ms']:.3f} ms "
            f"(goal <= {GOAL_MS:g}); proxy CPU "
            f"{row['proxy_cpu_ms_per_call']:.3f} ms/call"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(row["added_p50_ms"] <= GOAL_MS for row in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
