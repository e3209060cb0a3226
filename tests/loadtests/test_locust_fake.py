"""Locust (a real subprocess) against a fake agent: outcomes, counts, shapes, open model, SIGTERM,
distributed mode.

The fake answers each incident with a fixed behaviour named in ``X-Served-By`` (see
fake_agent.py), so each recorded row can be checked against the outcome it must have. All the
Locust processes of this module start together (their start-up, seconds each on a busy machine,
overlaps); each test then checks one of them.
"""

from __future__ import annotations

import csv
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from loadtests.merge import merge_request_files, worker_files
from reports.catalogue import SliParams
from reports.load import read_requests
from reports.slis import ScopeSlis, percentile, request_slis
from stampede import procs
from stampede.cases import reference_cases
from stampede.cases.files import as_entries
from tests.loadtests.fake_agent import EXPECTED
from tests.loadtests.support import (
    LOCUST,
    LOCUSTFILE,
    LocustRun,
    locust_cmd,
    spawn_fake_agent,
    started,
    wait_fake_agent,
)

pytestmark = pytest.mark.timeout(180)
ALL_OUTCOMES = {"correct", "degraded", "wrong", "shed", "error"}
STALL_S = 2.0  # the "stall" fake agent blocks for this long, once


def _wait_for(path: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)


def _case_files(base: Path) -> tuple[Path, Path]:
    """A case file of the first two reference cases (fake modes correct, wrong), a broken one."""
    first, second = as_entries(reference_cases()[:2])
    cases = base / "two.yaml"
    cases.write_text(yaml.safe_dump({"cases": [first, second]}), encoding="utf-8")
    broken = base / "broken.jsonl"
    broken.write_text(json.dumps(first) + "\n" + '{"id": "x", "input": {}}\n', encoding="utf-8")
    return cases, broken


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LocustRun]]:
    """Every Locust run of this module, started at once and finished (bounded)."""
    base = tmp_path_factory.mktemp("fake-runs")
    agents = {
        "mixed": spawn_fake_agent(base),
        "half": spawn_fake_agent(base, FAKE_AGENT_DELAY_S="0.5", FAKE_AGENT_MODE="correct"),
        "stall": spawn_fake_agent(
            base, FAKE_AGENT_MODE="correct", FAKE_AGENT_STALL_S=str(STALL_S),
            FAKE_AGENT_STALL_AFTER_S="3",
        ),
    }  # fmt: skip
    try:
        for url, proc in agents.values():
            wait_fake_agent(url, proc)
        mixed, half, stall = agents["mixed"][0], agents["half"][0], agents["stall"][0]
        cases, bad_cases = _case_files(base)
        closed = f"http://{procs.LOCALHOST}:{procs.free_port()}"
        port = str(procs.free_port())
        commands = {
            # name: (command, output dir, log)
            "steady": locust_cmd(base / "steady", mixed, "--stampede-shape", "steady",
                                 "--stampede-users", "30", "--stampede-duration", "5s",
                                 "--stampede-experiment", "mixed", "--csv-full-history"),
            # no -t: stopped by SIGTERM, as the suite runner may do
            "closed": locust_cmd(base / "closed", closed, "-u", "2", "-r", "2"),
            "slow": locust_cmd(base / "slow", half, "-u", "3", "-r", "3", "-t", "2s",
                               "--stampede-timeout", "0.2"),
            "open": locust_cmd(base / "open", half, "--stampede-shape", "open",
                               "--stampede-arrival-rate", "20", "--stampede-arrivals", "uniform",
                               "--stampede-max-in-flight", "4", "--stampede-duration", "4s"),
            # one connection, as wrk2 per connection: arrivals wait for it during the stall
            "stall": locust_cmd(base / "stall", stall, "--stampede-shape", "open",
                                "--stampede-arrival-rate", "30", "--stampede-duration", "9s",
                                "--stampede-open-connections", "1"),
            "bad": locust_cmd(base / "bad", mixed, "-t", "5s", "--stampede-shape", "open"),
            "cases": locust_cmd(base / "cases", mixed, "-u", "2", "-r", "2", "-t", "2s",
                                "--stampede-cases", str(cases)),
            "badcases": locust_cmd(base / "badcases", mixed, "-t", "5s",
                                   "--stampede-cases", str(bad_cases)),
            "dist": locust_cmd(base / "dist", mixed, "--master", "--master-bind-host",
                               procs.LOCALHOST, "--master-bind-port", port, "--expect-workers",
                               "1", "--expect-workers-max-wait", "60", "-u", "6", "-r", "6",
                               "-t", "4s", "--stampede-experiment", "dist"),
            "worker": [LOCUST, "-f", LOCUSTFILE, "--worker", "--master-host", procs.LOCALHOST,
                       "--master-port", port],
        }  # fmt: skip
        outs = {name: base / ("dist" if name == "worker" else name) for name in commands}
        logs = {name: outs[name] / f"{name}.log" for name in commands}
        with ExitStack() as stack:
            popens = {
                name: stack.enter_context(started(cmd, logs[name]))
                for name, cmd in commands.items()
            }
            _wait_for(logs["closed"], "All users spawned", 90)
            time.sleep(2)
            popens["closed"].send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 120
            codes = {
                name: popen.wait(max(0.1, deadline - time.monotonic()))
                for name, popen in popens.items()
            }
        yield {
            name: LocustRun(outs[name], codes[name], logs[name].read_text(errors="replace"))
            for name in commands
        }
    finally:
        for _, proc in agents.values():
            procs.stop(proc)


def check_counts(run: LocustRun) -> list[dict[str, str]]:
    """Clean exit, rows == Locust's Aggregated count, failures == wrong + error rows."""
    run.check_clean()
    rows = run.rows()
    requests, failures = run.aggregated()
    assert len(rows) == requests > 0, run.log[-2000:]
    assert sum(r["outcome"] in ("wrong", "error") for r in rows) == failures
    return rows


def test_every_outcome_is_recorded_once_per_locust_request(runs: dict[str, LocustRun]) -> None:
    """A steady shape of 30 users: rows == Locust's count, each row has its mode's outcome."""
    run = runs["steady"]
    rows = check_counts(run)
    assert len(rows) > 60
    for row in rows:
        assert row["experiment"] == "mixed"
        if row["name"] == "POST /investigate":
            mode = row["replica"].removeprefix("fake-")
            assert row["outcome"] == EXPECTED[mode], row
        else:
            assert row["name"] == "GET /investigations/{id}"
            assert (row["outcome"], row["status"], row["tokens"]) == ("correct", "200", "0"), row
    assert set(Counter(r["outcome"] for r in rows)) == ALL_OUTCOMES
    errors = " ".join(f["Error"] for f in run.failures())
    assert "root cause '" in errors and "' != expected '" in errors
    assert "HTTP 503 without Retry-After" in errors
    with open(run.out / "locust_stats_history.csv", newline="") as handle:
        users = {int(r["User Count"]) for r in csv.DictReader(handle)}
    assert max(users) == 30, users  # the shape, not -u, set the users
    # the closed model sends a request when it is due: the schedule columns repeat ts, latency
    assert all(r["scheduled_ts"] == r["ts"] for r in rows), rows[0]
    assert all(r["user_latency_ms"] == r["latency_ms"] for r in rows), rows[0]


def check_schedule(row: dict[str, str]) -> tuple[float, float]:
    """(service, user-seen) latency of an open-model row, after checking how they relate."""
    ts, scheduled = float(row["ts"]), float(row["scheduled_ts"])
    service, user = float(row["latency_ms"]), float(row["user_latency_ms"])
    assert scheduled <= ts, row
    assert user == pytest.approx((ts - scheduled) * 1000 + service, abs=0.002), row
    return service, user


def test_connection_errors_are_status_0_errors_and_sigterm_keeps_counts(
    runs: dict[str, LocustRun],
) -> None:
    """Plain -u/-r against a closed port, stopped by SIGTERM: every request an error, counted."""
    assert "Got SIGTERM" in runs["closed"].log
    rows = check_counts(runs["closed"])
    assert runs["closed"].aggregated()[1] == len(rows)
    assert {(r["status"], r["outcome"]) for r in rows} == {("0", "error")}
    assert all("Connection" in r["error"] or "refused" in r["error"] for r in rows), rows[0]


def test_timeouts_are_errors(runs: dict[str, LocustRun]) -> None:
    """Plain -u/-r/-t, a 0.5 s agent with --stampede-timeout 0.2: timeout errors after ~0.2 s."""
    rows = check_counts(runs["slow"])
    assert all(r["outcome"] == "error" and "timeout after 0.2 s" in r["error"] for r in rows), rows
    assert all(float(r["latency_ms"]) < 1500 for r in rows)


def test_open_model_keeps_its_rate_and_records_dropped_arrivals(
    runs: dict[str, LocustRun],
) -> None:
    """20 arrivals/s against a 0.5 s agent with at most 4 in flight: ~8/s sent, rest dropped."""
    rows = check_counts(runs["open"])
    names = Counter(r["name"] for r in rows)
    sent = names["POST /investigate"] + names["GET /investigations/{id}"]
    dropped = names["POST /investigate (dropped)"]
    # arrivals follow the schedule, not the responses: ~20/s x 4 s, whatever the latency
    assert 55 <= sent + dropped <= 110, names  # the shape stops at its first tick after 4 s
    assert 10 <= sent <= 60, names  # <= 4 investigations in flight for 0.5 s each, + look-ups
    assert dropped >= 30, names
    for row in rows:
        check_schedule(row)
        if row["name"].endswith("(dropped)"):
            assert (row["outcome"], row["status"]) == ("error", "0")
            assert row["error"].startswith("dropped: 4 requests already in flight")
        else:
            assert row["outcome"] == "correct", row


def test_open_model_measures_latency_from_the_schedule_through_a_stall(
    runs: dict[str, LocustRun],
) -> None:
    """30 arrivals/s on one connection, the agent stalls 2 s once (tests/loadtests/fake_agent).

    Arrivals keep coming during the stall and wait for the connection: their user-seen latency
    (from the schedule) holds the wait, their service time (from the send) does not. Only the
    one request on the connection when the stall began has a service time that long. The
    latency SLIs (reports.slis) take the user-seen column.
    """
    run = runs["stall"]
    rows = check_counts(run)
    assert {r["outcome"] for r in rows} == {"correct"}, Counter(r["outcome"] for r in rows)
    service, user = zip(*(check_schedule(r) for r in rows), strict=True)
    stall_ms = STALL_S * 1000
    assert sum(u >= stall_ms / 2 for u in user) >= 15, sorted(user)[-20:]  # ~30/s wait
    assert sum(s >= stall_ms / 2 for s in service) <= 1, sorted(service)[-5:]
    user_p99, service_p99 = percentile(user, 99), percentile(service, 99)
    assert user_p99 is not None and service_p99 is not None
    assert user_p99 >= 0.75 * stall_ms, (user_p99, service_p99)
    assert service_p99 < stall_ms / 2, (user_p99, service_p99)
    scope = ScopeSlis("stall", "all", 0.0, 1.0)
    request_slis(scope, read_requests(run.requests_csv), SliParams())
    assert scope.values["latency_p99_ms"] == pytest.approx(user_p99, abs=0.001)


def test_bad_options_exit_2_naming_the_option(runs: dict[str, LocustRun]) -> None:
    run = runs["bad"]
    assert run.returncode == 2, run.log[-2000:]
    assert "--stampede-shape open needs --stampede-arrival-rate > 0" in run.log


def test_distributed_worker_files_merge_to_the_masters_count(runs: dict[str, LocustRun]) -> None:
    """--master + 1 --worker: the worker writes requests.worker-0.csv; merged rows == count."""
    master, worker = runs["dist"], runs["worker"]
    assert worker.returncode in (0, 1), worker.log[-3000:]
    assert "Traceback" not in worker.log, worker.log[-3000:]
    out = master.out
    assert not (out / "requests.csv").exists()  # the master records nothing itself
    files = worker_files(out / "requests.csv")
    assert [f.name for f in files] == ["requests.worker-0.csv"]
    merged = merge_request_files(files, out / "requests.csv")
    rows = check_counts(master)
    assert merged == len(rows)
    assert [float(r["ts"]) for r in rows] == sorted(float(r["ts"]) for r in rows)
    assert {r["experiment"] for r in rows} == {"dist"}  # the master's options reach the worker


def test_a_case_file_chooses_the_questions(runs: dict[str, LocustRun]) -> None:
    """--stampede-cases, two cases: every investigation asks one of them (modes correct, wrong)."""
    rows = check_counts(runs["cases"])
    asked = {r["replica"] for r in rows if r["name"] == "POST /investigate"}
    assert asked and asked <= {"fake-correct", "fake-wrong"}, asked


def test_a_malformed_case_file_exits_2_naming_file_line_and_field(
    runs: dict[str, LocustRun],
) -> None:
    run = runs["badcases"]
    assert run.returncode == 2, run.log[-2000:]
    assert "broken.jsonl:2: case 'x': expect: Field required" in run.log
    assert "Traceback" not in run.log
