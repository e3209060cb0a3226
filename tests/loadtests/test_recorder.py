"""The recorder writes one contract row per request event, buffered, one file per worker."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from loadtests.profile import Attempt, Verdict
from loadtests.recorder import (
    COLUMNS,
    CONTEXT_KEY,
    SCHEDULED_KEY,
    RequestRecorder,
    attach,
    build_row,
    lines,
    worker_path,
)
from stampede.contract import Outcome


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_verdict_fields_make_the_row() -> None:
    reason = "root cause 'a' != expected 'b'"
    verdict = Verdict(Outcome.WRONG, reason, 200, 10, 0.25, 1, "pod-1", "i")
    row = build_row(name="POST /investigate", start_time=1700000000.5, response_time=12.3456,
                    context={CONTEXT_KEY: verdict}, experiment="exp")  # fmt: skip
    assert dict(zip(COLUMNS, row, strict=True)) == {
        "ts": "1700000000.500000",
        "latency_ms": "12.346",
        "name": "POST /investigate",
        "status": "200",
        "outcome": "wrong",
        "tokens": "10",
        "cost_usd": "0.25",
        "retries": "1",
        "replica": "pod-1",
        "experiment": "exp",
        "error": "root cause 'a' != expected 'b'",
        "case_id": "",
        "trial": "",
        "attempt": "",
        "repeat": "",
        "answer_key": "",
        "scheduled_ts": "1700000000.500000",  # closed model: due when sent
        "user_latency_ms": "12.346",
    }


def test_an_attempt_fills_the_trial_columns() -> None:
    """A trial group's ask writes case, group, attempt, K and the answer's key."""
    ask = Attempt("capital-fr", "ab12cd-w0-u3-7", 2, 4)
    verdict = Verdict(Outcome.CORRECT, "", 200, answer_key="f00d", attempt=ask)
    row = dict(zip(COLUMNS, build_row(name="n", start_time=1.0, response_time=1.0,
                                      context={CONTEXT_KEY: verdict}), strict=True))  # fmt: skip
    got = {c: row[c] for c in ("case_id", "trial", "attempt", "repeat", "answer_key")}
    assert got == {"case_id": "capital-fr", "trial": "ab12cd-w0-u3-7", "attempt": "2",
                   "repeat": "4", "answer_key": "f00d"}  # fmt: skip


def test_correct_rows_have_no_error_and_unknowns_are_empty() -> None:
    row = build_row(name="n", start_time=1.0, response_time=1.0,
                    context={CONTEXT_KEY: Verdict(Outcome.CORRECT, "", 200)})  # fmt: skip
    assert row[4:] == ["correct", "", "", "", "", "", "", "", "", "", "", "", "1.000000", "1.000"]


def test_a_scheduled_start_makes_the_user_seen_latency() -> None:
    """Open model: sent 0.25 s after its schedule, 12 ms of service -> 262 ms as the user saw it."""
    verdict = Verdict(Outcome.CORRECT, "", 200)
    context = {CONTEXT_KEY: verdict, SCHEDULED_KEY: 1700000000.25}
    row = dict(zip(COLUMNS, build_row(name="n", start_time=1700000000.5, response_time=12.0,
                                      context=context), strict=True))  # fmt: skip
    got = {c: row[c] for c in ("ts", "latency_ms", "scheduled_ts", "user_latency_ms")}
    assert got == {"ts": "1700000000.500000", "latency_ms": "12.000",
                   "scheduled_ts": "1700000000.250000", "user_latency_ms": "262.000"}  # fmt: skip
    # a schedule after the send (a clock step) is taken as "due when sent", never negative
    context[SCHEDULED_KEY] = 1700000001.0
    row = dict(zip(COLUMNS, build_row(name="n", start_time=1700000000.5, response_time=12.0,
                                      context=context), strict=True))  # fmt: skip
    assert (row["scheduled_ts"], row["user_latency_ms"]) == ("1700000000.500000", "12.000")


CELL = st.text(alphabet=st.sampled_from(list('ab ,"\r\n\té')), max_size=6)


@given(st.lists(st.lists(CELL, min_size=1, max_size=18), max_size=5))
def test_lines_are_what_the_csv_module_writes(rows_: list[list[str]]) -> None:
    """The recorder's fast CSV writer gives the csv module's bytes, quoting included."""
    expected = io.StringIO()
    csv.writer(expected).writerows(rows_)
    assert lines(rows_) == expected.getvalue()


def test_events_without_a_verdict_are_judged_by_the_exception() -> None:
    response = SimpleNamespace(status_code=502)
    failed = build_row(name="GET /x", start_time=1.0, response_time=2.0, response=response,
                       context={}, exception=ConnectionError("bad\ngateway"))  # fmt: skip
    assert (failed[3], failed[4], failed[10]) == ("502", "error", "ConnectionError: bad gateway")
    fine = build_row(name="GET /x", start_time=1.0, response_time=2.0, response=None, context=None)
    assert (fine[3], fine[4]) == ("0", "correct")


def test_long_errors_are_cut_to_one_line() -> None:
    verdict = Verdict(Outcome.ERROR, "x" * 1000 + "\n", 500)
    row = build_row(name="n", start_time=1.0, response_time=1.0, context={CONTEXT_KEY: verdict})
    assert len(row[10]) == 300 and row[10].endswith("...")


def test_rows_are_buffered_until_flush_and_stragglers_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "requests.csv"
    recorder = RequestRecorder(flush_rows=3, flush_s=3600)
    recorder.record(["0"] * 11)  # not open yet: ignored
    recorder.open(path)
    for n in range(2):
        recorder.record([str(n)] * 11)
    assert rows(path) == []  # buffered
    recorder.record(["2"] * 11)
    assert len(rows(path)) == 3  # flushed at 3 rows
    recorder.record(["3"] * 11)
    recorder.close()
    recorder.record(["4"] * 11)  # after close: appended directly
    assert [r["ts"] for r in rows(path)] == ["0", "1", "2", "3", "4"]
    assert recorder.rows_written == 5
    recorder.open(path)  # a new test truncates
    recorder.close()
    assert rows(path) == []


class Hook:
    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def add_listener(self, fn: Any) -> None:
        self.listeners.append(fn)

    def fire(self, **kwargs: Any) -> None:
        for fn in self.listeners:
            fn(**kwargs)


def fake_events() -> SimpleNamespace:
    return SimpleNamespace(test_start=Hook(), request=Hook(), test_stop=Hook())


def environment(tmp_path: Path, **options: Any) -> SimpleNamespace:
    parsed = SimpleNamespace(
        stampede_requests_csv=str(tmp_path / "requests.csv"), stampede_experiment="exp", **options
    )
    return SimpleNamespace(parsed_options=parsed, runner=SimpleNamespace(worker_index=2))


def fire_request(events: SimpleNamespace, outcome: str) -> None:
    events.request.fire(request_type="POST", name="POST /investigate", response_time=5.0,
                        response_length=0, response=None, exception=None, start_time=10.0,
                        context={CONTEXT_KEY: Verdict(Outcome(outcome), "", 200)},
                        url="/")  # fmt: skip


def test_attach_records_every_request_event_of_a_test(tmp_path: Path) -> None:
    events = fake_events()
    recorder = attach(events)
    fire_request(events, "correct")  # before test_start: no file yet
    events.test_start.fire(environment=environment(tmp_path))
    for outcome in ("correct", "shed", "error"):
        fire_request(events, outcome)
    events.test_stop.fire(environment=None)
    got = rows(tmp_path / "requests.csv")
    assert [r["outcome"] for r in got] == ["correct", "shed", "error"]
    assert {r["experiment"] for r in got} == {"exp"}
    recorder.close()


def test_workers_write_their_own_file_and_the_master_none(tmp_path: Path) -> None:
    events = fake_events()
    recorder = attach(events)
    events.test_start.fire(environment=environment(tmp_path, master=True))
    assert not recorder.is_open
    events.test_start.fire(environment=environment(tmp_path, worker=True))
    fire_request(events, "degraded")
    recorder.close()
    assert recorder.path == worker_path(tmp_path / "requests.csv", 2)
    assert recorder.path.name == "requests.worker-2.csv"
    assert [r["outcome"] for r in rows(recorder.path)] == ["degraded"]
    assert not (tmp_path / "requests.csv").exists()


def test_without_a_path_nothing_is_written(tmp_path: Path) -> None:
    events = fake_events()
    recorder = attach(events)
    env = environment(tmp_path)
    env.parsed_options.stampede_requests_csv = ""
    events.test_start.fire(environment=env)
    fire_request(events, "correct")
    assert not recorder.is_open and list(tmp_path.iterdir()) == []


def test_pure_modules_do_not_import_locust() -> None:
    """Locust monkey-patches on import: only agent_user, shapes and hooks may import it."""
    code = (
        "import sys\n"
        "import loadtests.profile, loadtests.shape_math, loadtests.settings, loadtests.recorder\n"
        "import loadtests.merge, loadtests.examples.diagnosis_profile\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
