"""Throughput of one Locust process: plain ``FastHttpUser`` vs Stampede's ``AgentUser`` + recorder.

Starts its own loopback server (``--serve``: a raw-HTTP asyncio server on uvloop that answers
every ``POST`` with one fixed, valid reference-agent answer; keep-alive, no parsing beyond the
request head and ``Content-Length``), then runs, alternating, ``--rounds`` rounds of two
headless Locust processes, each alone against it with the same users and duration:

* **plain**: ``bench/locust_overhead_plain.py``, ``self.client.post("/investigate", json=...)``;
* **agent**: ``bench/locust_overhead_agent.py``, ``AgentUser.investigate_incident`` with
  ``--stampede-cases`` (one case the fixed answer is correct for) and
  ``--stampede-requests-csv``: case draw, trial group, request build, judging, verdict in the
  request context, ``requests.csv`` row — the real Stampede path.

Per run: requests/s from Locust's own ``--csv`` Aggregated row, and the CPU share of the Locust
process and of the server (psutil, user + system over the run's wall time). The server is not
the bottleneck when its share stays well under one core while Locust's is near one. The agent
runs' rows are checked (row count = Locust's count, every row ``correct``), so a fast-but-broken
path cannot pass. Result: the median req/s of each kind and the ratio agent / plain (goal >= 0.8).

    .venv/bin/python bench/locust_overhead.py [--rounds 5] [--users 40] [--duration 10]
        [--baseline DIR]   # a third kind: the agent locustfile on DIR's code (before/after)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from stampede import procs

GOAL_RATIO = 0.8
HERE = Path(__file__).resolve().parent
LOCUST = str(Path(sys.executable).parent / "locust")
LOCUSTFILES = {
    "plain": HERE / "locust_overhead_plain.py",
    "agent": HERE / "locust_overhead_agent.py",
}
ROOT_CAUSE = "db_connection_exhaustion"
CASE = {
    "id": "BENCH-1",
    "input": {
        "alert_type": "high_latency",
        "service": "checkout",
        "severity": "warning",
        "summary": "high latency on checkout",
    },
    "expect": {"label": ROOT_CAUSE},
}
ANSWER = {
    "investigation_id": "inv-bench-0001",
    "status": "complete",
    "root_cause": ROOT_CAUSE,
    "suspected_root_cause": None,
    "evidence": {},
    "missing_evidence": [],
    "stale_evidence": [],
    "tokens": 492,
    "cost_usd": 0.000984,
    "retries": 0,
    "replica": "bench-0",
    "alert": CASE["input"],
    "created_at": 1795451359.34,
}


# -- the server -------------------------------------------------------------------------------


def _reply() -> bytes:
    body = json.dumps(ANSWER).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Served-By: bench-0\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Http(asyncio.Protocol):
    """Answer each request on the connection with the fixed reply (pipelining-safe)."""

    reply = _reply()

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            self.transport.write(self.reply)


def serve(port: int) -> None:
    """Run the bench server on 127.0.0.1:``port`` until killed (uvloop when installed)."""
    import uvloop  # lazy: only the server process needs it

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            _Http, procs.LOCALHOST, port, backlog=1024
        )
        await server.serve_forever()

    uvloop.run(main())


# -- the runs ---------------------------------------------------------------------------------


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def aggregated(stats_csv: Path) -> tuple[int, int, float]:
    """(requests, failures, requests/s) of the Aggregated row of Locust's stats CSV."""
    with stats_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                count, failures = int(row["Request Count"]), int(row["Failure Count"])
                return count, failures, float(row["Requests/s"])
    raise SystemExit(f"{stats_csv}: no Aggregated row")


def check_rows(requests_csv: Path, expected: int) -> None:
    """Every agent-run request is in requests.csv and judged correct."""
    with requests_csv.open(newline="") as handle:
        outcomes = [row["outcome"] for row in csv.DictReader(handle)]
    if len(outcomes) != expected:
        raise SystemExit(f"{requests_csv}: {len(outcomes)} rows, Locust counted {expected}")
    wrong = [o for o in outcomes if o != "correct"]
    if wrong:
        raise SystemExit(f"{requests_csv}: {len(wrong)} rows not correct, e.g. {wrong[0]!r}")


def run_once(
    kind: str, args: argparse.Namespace, host: str, out: Path, server: psutil.Process
) -> dict[str, Any]:
    """One headless Locust run of ``kind``: its rate, its CPU per request, the CPU shares."""
    out.mkdir(parents=True)
    locustfile = LOCUSTFILES["agent" if kind == "baseline" else kind]
    cmd = [LOCUST, "-f", str(locustfile), "--headless", "--only-summary",
           "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s",
           "--host", host, "--csv", str(out / "locust"), "--loglevel", "WARNING"]  # fmt: skip
    if kind != "plain":
        cmd += ["--stampede-cases", str(out.parent / "cases.jsonl"),
                "--stampede-requests-csv", str(out / "requests.csv")]  # fmt: skip
    env = {**os.environ, "BENCH_PROBE_OUT": str(out / "probe.json")}
    if kind == "baseline":  # the same locustfile, another tree's loadtests/stampede
        env["PYTHONPATH"] = str(args.baseline)
    server_before = cpu_s(server)
    with open(out / "locust.log", "wb") as log:
        popen = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=out, env=env)
        try:
            code = popen.wait(args.duration + 90)
        finally:
            if popen.poll() is None:
                popen.kill()
    if code != 0:
        tail = (out / "locust.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"{kind}: locust exited {code}:\n{tail}")
    count, failures, rate = aggregated(out / "locust_stats.csv")
    if failures:
        raise SystemExit(f"{kind}: {failures} failures of {count}")
    if kind != "plain":
        check_rows(out / "requests.csv", count)
    probe = json.loads((out / "probe.json").read_text())
    return {
        "rps": round(rate, 1),
        "cpu_us_per_request": round(probe["cpu_s"] / probe["requests"] * 1e6, 1),
        "locust_cpu_share": round(probe["cpu_s"] / probe["wall_s"], 3),
        "server_cpu_share": round((cpu_s(server) - server_before) / probe["wall_s"], 3),
        "requests": count,
    }


def start_server(tmp: Path) -> tuple[procs.Proc, str]:
    """The bench server (``--serve``) on a free port, listening; its process and URL."""
    port = procs.free_port()
    proc = procs.spawn(
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)], tmp / "server.log"
    )
    deadline = time.monotonic() + 20
    while procs.port_is_free(port):
        if time.monotonic() > deadline or not proc.alive():
            procs.stop(proc)
            raise SystemExit(f"bench server did not start:\n{proc.log_tail()}")
        time.sleep(0.1)
    return proc, f"http://{procs.LOCALHOST}:{port}"


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians over rounds of req/s and CPU per request; the two ratios."""
    rps = {kind: statistics.median(r["rps"] for r in rows) for kind, rows in runs.items()}
    cpu = {
        kind: statistics.median(r["cpu_us_per_request"] for r in rows)
        for kind, rows in runs.items()
    }
    per_round = [a["rps"] / p["rps"] for a, p in zip(runs["agent"], runs["plain"], strict=True)]
    baseline = {}
    if runs.get("baseline"):
        baseline = {
            "baseline_rps": rps["baseline"],
            "baseline_ratio": round(rps["baseline"] / rps["plain"], 3),
            "baseline_cpu_us": cpu["baseline"],
            "baseline_cpu_ratio": round(cpu["plain"] / cpu["baseline"], 3),
        }
    return {
        **baseline,
        "plain_rps": rps["plain"],
        "agent_rps": rps["agent"],
        "ratio": round(rps["agent"] / rps["plain"], 3),
        "ratio_per_round": [round(r, 3) for r in per_round],
        "plain_cpu_us": cpu["plain"],
        "agent_cpu_us": cpu["agent"],
        "cpu_ratio": round(cpu["plain"] / cpu["agent"], 3),
        "runs": runs,
    }


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Alternating rounds of both kinds against one bench server."""
    server_proc, host = start_server(tmp)
    try:
        server = server_proc.process()
        assert server is not None
        (tmp / "cases.jsonl").write_text(json.dumps(CASE) + "\n")
        kinds = ["plain", "agent", "baseline"] if args.baseline else ["plain", "agent"]
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for round_ in range(args.rounds):
            order = kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]  # rotated
            for kind in order:
                result = run_once(kind, args, host, tmp / f"{kind}-{round_}", server)
                runs[kind].append(result)
                print(f"round {round_} {kind:5s} {result}", flush=True)
    finally:
        procs.stop(server_proc)
    return summarise(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--duration", type=int, default=10, help="seconds per Locust run")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also run the agent locustfile on this tree's code (a `git archive` of a commit)",
    )
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    print(f"load average before: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="locust-bench-") as tmp:
        result = measure(args, Path(tmp))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    print(
        f"rounds={args.rounds} users={args.users} duration={args.duration}s (alternating)\n"
        f"median req/s: plain {result['plain_rps']}, agent {result['agent_rps']}; ratio "
        f"{result['ratio']} (per round {result['ratio_per_round']}; goal >= {GOAL_RATIO})\n"
        f"median Locust CPU per request: plain {result['plain_cpu_us']} us, agent "
        f"{result['agent_cpu_us']} us; one-core throughput ratio {result['cpu_ratio']}"
    )
    if "baseline_rps" in result:
        print(
            f"baseline ({args.baseline}): median req/s {result['baseline_rps']}, ratio "
            f"{result['baseline_ratio']}; CPU per request {result['baseline_cpu_us']} us, "
            f"one-core throughput ratio {result['baseline_cpu_ratio']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if min(result["ratio"], result["cpu_ratio"]) >= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
