"""Locust (a real subprocess) against a fake agent: every outcome, counts, shapes, open model.

The fake answers each incident with a fixed behaviour named in ``X-Served-By`` (see
fake_agent.py), so each recorded row can be checked against the outcome it must have.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.merge import merge_request_files, worker_files
from stampede import procs
from tests.loadtests.fake_agent import EXPECTED
from tests.loadtests.support import (
    LOCUST,
    LOCUSTFILE,
    LocustRun,
    locust_cmd,
    run_locust,
    run_locusts,
    spawn_fake_agent,
    started,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake_agent(tmp_path: Path) -> Iterator[str]:
    url, proc = spawn_fake_agent(tmp_path)
    yield url
    procs.stop(proc)


def test_every_outcome_is_recorded_once_per_locust_request(fake_agent: str, tmp_path: Path) -> None:
    """A steady shape of 30 users: rows == Locust's count, each row has its mode's outcome."""
    run = run_locust(tmp_path / "run", fake_agent, "--stampede-shape", "steady",
                     "--stampede-users", "30", "--stampede-duration", "5s",
                     "--stampede-experiment", "mixed", "--csv-full-history")  # fmt: skip
    run.check_clean()
    rows = run.rows()
    requests, failures = run.aggregated()
    assert len(rows) == requests > 60
    assert sum(r["outcome"] in ("wrong", "error") for r in rows) == failures
    for row in rows:
        assert row["experiment"] == "mixed"
        if row["name"] == "POST /investigate":
            mode = row["replica"].removeprefix("fake-")
            assert row["outcome"] == EXPECTED[mode], row
        else:
            assert row["name"] == "GET /investigations/{id}"
            assert (row["outcome"], row["status"], row["tokens"]) == ("correct", "200", "0"), row
    assert set(Counter(r["outcome"] for r in rows)) == {"correct", "degraded", "wrong", "shed",
                                                        "error"}  # fmt: skip
    errors = " ".join(f["Error"] for f in run.failures())
    assert "root cause '" in errors and "' != expected '" in errors
    assert "HTTP 503 without Retry-After" in errors
    with open(run.out / "locust_stats_history.csv", newline="") as handle:
        users = {int(r["User Count"]) for r in csv.DictReader(handle)}
    assert max(users) == 30, users  # the shape, not -u, set the users


def test_connection_errors_and_timeouts_are_errors(tmp_path: Path) -> None:
    """Plain -u/-r/-t: a closed port gives status-0 errors, a slow agent gives timeouts."""
    closed = f"http://{procs.LOCALHOST}:{procs.free_port()}"
    slow_url, slow = spawn_fake_agent(tmp_path, FAKE_AGENT_DELAY_S="2", FAKE_AGENT_MODE="correct")
    try:
        refused, timed_out = run_locusts(
            [
                (tmp_path / "closed", closed, ["-u", "2", "-r", "2", "-t", "2s"]),
                (tmp_path / "slow", slow_url,
                 ["-u", "3", "-r", "3", "-t", "2s", "--stampede-timeout", "0.3"]),
            ]
        )  # fmt: skip
    finally:
        procs.stop(slow)
    for run in (refused, timed_out):
        run.check_clean()
        assert len(run.rows()) == run.aggregated()[0] == run.aggregated()[1] > 0
    rows = refused.rows()
    assert {(r["status"], r["outcome"]) for r in rows} == {("0", "error")}
    assert all("Connection" in r["error"] or "refused" in r["error"] for r in rows), rows[0]
    rows = timed_out.rows()
    assert all(r["outcome"] == "error" and "timeout after 0.3 s" in r["error"] for r in rows), rows
    assert all(float(r["latency_ms"]) < 1500 for r in rows)


def test_open_model_keeps_its_rate_and_records_dropped_arrivals(tmp_path: Path) -> None:
    """20 arrivals/s against a 0.5 s agent with at most 4 in flight: ~8/s sent, rest dropped."""
    url, proc = spawn_fake_agent(tmp_path, FAKE_AGENT_DELAY_S="0.5", FAKE_AGENT_MODE="correct")
    try:
        run = run_locust(tmp_path / "open", url, "--stampede-shape", "open",
                         "--stampede-arrival-rate", "20", "--stampede-arrivals", "uniform",
                         "--stampede-max-in-flight", "4", "--stampede-duration", "4s")  # fmt: skip
    finally:
        procs.stop(proc)
    run.check_clean()
    rows = run.rows()
    assert len(rows) == run.aggregated()[0]
    names = Counter(r["name"] for r in rows)
    sent, dropped = names["POST /investigate"], names["POST /investigate (dropped)"]
    # arrivals follow the schedule, not the responses: ~20/s x 4 s, whatever the latency
    assert 55 <= sent + dropped + names["GET /investigations/{id}"] <= 90, names
    assert 15 <= sent + names["GET /investigations/{id}"] <= 40, names  # <= 4 in flight / 0.5 s
    assert dropped >= 30, names
    for row in rows:
        if row["name"].endswith("(dropped)"):
            assert (row["outcome"], row["status"]) == ("error", "0")
            assert row["error"].startswith("dropped: 4 requests already in flight")
        else:
            assert row["outcome"] == "correct", row


def test_distributed_worker_files_merge_to_the_masters_count(
    fake_agent: str, tmp_path: Path
) -> None:
    """--master + 1 --worker: the worker writes requests.worker-0.csv; merged rows == count."""
    port = procs.free_port()
    out = tmp_path / "dist"
    master = locust_cmd(out, fake_agent, "--master", "--master-bind-host", procs.LOCALHOST,
                        "--master-bind-port", str(port), "--expect-workers", "1",
                        "--expect-workers-max-wait", "60", "-u", "6", "-r", "6", "-t", "4s",
                        "--stampede-experiment", "dist")  # fmt: skip
    worker = [LOCUST, "-f", LOCUSTFILE, "--worker", "--master-host", procs.LOCALHOST,
              "--master-port", str(port)]  # fmt: skip
    with started(master, out / "master.log") as m, started(worker, out / "worker.log") as w:
        master_code = m.wait(90)
        worker_code = w.wait(30)
    master_log = (out / "master.log").read_text()
    assert master_code in (0, 1), master_log[-3000:]
    assert worker_code in (0, 1), (out / "worker.log").read_text()[-3000:]
    assert not (out / "requests.csv").exists()  # the master records nothing itself
    files = worker_files(out / "requests.csv")
    assert [f.name for f in files] == ["requests.worker-0.csv"]
    merged = merge_request_files(files, out / "requests.csv")
    run = LocustRun(out, master_code, master_log)
    requests, failures = run.aggregated()
    rows = run.rows()
    assert merged == len(rows) == requests > 0
    assert sum(r["outcome"] in ("wrong", "error") for r in rows) == failures
    assert [float(r["ts"]) for r in rows] == sorted(float(r["ts"]) for r in rows)
    assert {r["experiment"] for r in rows} == {"dist"}  # the master's options reach the worker
