"""The per-request recorder: one ``requests.csv`` row per Locust request event.

The row count equals Locust's request count because both come from the same place: the
``request`` event. Locust counts every fired event (successes, failures, connection errors) and
:func:`attach` writes one row for each. The outcome reaches the event in its ``context`` dict
under :data:`CONTEXT_KEY` (``AgentUser`` puts a :class:`~loadtests.profile.Verdict` there before
it fires the request's event); an event without one — a request some other
user class made — is recorded as ``error`` when Locust saw an exception, else ``correct``. In the
open model the context also holds the arrival's scheduled start (:data:`SCHEDULED_KEY`): the row
gets ``scheduled_ts`` and ``user_latency_ms`` from it (without one, the request was due when
sent: ``ts`` and ``latency_ms`` again).

Rows are buffered and written every :data:`FLUSH_ROWS` rows or :data:`FLUSH_S` seconds, and at
``test_stop``; ``close()`` (at ``quitting``, see ``loadtests.hooks``) writes the rest, and a
request reported after that is appended directly. In distributed mode every worker writes its own
``<stem>.worker-<index>.csv`` beside the configured path; the master writes nothing
(``loadtests.merge`` joins the worker files).

No Locust import: :func:`attach` receives Locust's ``events`` object.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from pathlib import Path
from typing import IO, Any

from loadtests.profile import Verdict
from loadtests.settings import LoadSettings
from stampede.contract import REQUEST_COLUMNS, Outcome
from stampede.rundir.safe import open_stream

COLUMNS = REQUEST_COLUMNS
CONTEXT_KEY = "stampede"
#: Open model: the request context's scheduled start of the arrival (epoch s, see agent_user).
SCHEDULED_KEY = "stampede_scheduled"
FLUSH_ROWS = 1000
FLUSH_S = 5.0
MAX_ERROR_CHARS = 300

logger = logging.getLogger(__name__)
_CORRECT, _ERROR = Outcome.CORRECT, Outcome.ERROR


def worker_path(path: str | Path, worker_index: int) -> Path:
    """Where a worker writes: ``runs/x/requests.csv``, 3 -> ``runs/x/requests.worker-3.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.worker-{worker_index}{path.suffix or '.csv'}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 9))
    return str(value)


def _one_line(text: str) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


class _Quoter:
    """The csv module's line for a row that needs quoting (the rare case, see :func:`lines`)."""

    def __init__(self) -> None:
        self._out = io.StringIO()
        self._writer = csv.writer(self._out)

    def line(self, row: list[str]) -> str:
        self._out.seek(0)
        self._out.truncate()
        self._writer.writerow(row)
        return self._out.getvalue()


_quoter = _Quoter()


def lines(rows: list[list[str]]) -> str:
    """``rows`` as ``csv.writer`` writes them (QUOTE_MINIMAL, CRLF), several times faster.

    A row none of whose cells holds a comma, a quote, CR or LF is its cells joined by commas
    (what the csv module writes for it); any other row goes through the csv module.
    """
    out = []
    for row in rows:
        joined = ",".join(row)
        if (
            joined.count(",") != len(row) - 1
            or '"' in joined
            or "\n" in joined
            or "\r" in joined
            or (len(row) == 1 and not joined)
        ):
            out.append(_quoter.line(row))
        else:
            out.append(joined + "\r\n")
    return "".join(out)


def build_row(
    *,
    name: str,
    start_time: float | None,
    response_time: float | None,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: BaseException | None = None,
    experiment: str = "",
) -> list[str]:
    """The CSV cells (in :data:`COLUMNS` order) for one request event.

    Runs once per request inside Locust's event loop, so it avoids calls it does not need.
    """
    verdict = context.get(CONTEXT_KEY) if context else None
    if isinstance(verdict, Verdict):
        status = str(verdict.status)
        outcome = verdict.outcome
        tokens, cost, retries, replica = (
            verdict.tokens,
            verdict.cost_usd,
            verdict.retries,
            verdict.replica,
        )
        error = _one_line(verdict.reason) if outcome != _CORRECT else ""
        key = verdict.answer_key
        ask = verdict.attempt
        if ask is not None:
            trial = [ask.case_id, ask.trial, str(ask.attempt), str(ask.repeat)]
        else:
            trial = ["", "", "", ""]  # case_id, trial, attempt, repeat (TRIAL_COLUMNS)
    else:
        status = str(int(getattr(response, "status_code", 0) or 0))
        outcome = _ERROR if exception is not None else _CORRECT
        tokens = cost = retries = replica = None
        error = "" if exception is None else _one_line(f"{type(exception).__name__}: {exception}")
        key = ""
        trial = ["", "", "", ""]
    ts = start_time if start_time is not None else time.time()
    latency = response_time or 0.0
    ts_cell, latency_cell = f"{ts:.6f}", f"{latency:.3f}"
    scheduled = context.get(SCHEDULED_KEY) if context else None
    if scheduled is None or scheduled >= ts:  # closed model (or a clock step): due when sent
        scheduled_cell, user_cell = ts_cell, latency_cell
    else:
        scheduled_cell, user_cell = f"{scheduled:.6f}", f"{(ts - scheduled) * 1000 + latency:.3f}"
    return [
        ts_cell,
        latency_cell,
        name,
        status,
        str(outcome),
        "" if tokens is None else _cell(tokens),
        "" if cost is None else _cell(cost),
        "" if retries is None else _cell(retries),
        "" if replica is None else _cell(replica),
        experiment,
        error,
        *trial,
        key,
        scheduled_cell,
        user_cell,
    ]


class RequestRecorder:
    """Buffered CSV writer with the contract's header; ``open`` truncates, ``close`` flushes."""

    def __init__(self, flush_rows: int = FLUSH_ROWS, flush_s: float = FLUSH_S) -> None:
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.path: Path | None = None
        self.rows_written = 0
        self._buffer: list[list[str]] = []
        self._file: IO[str] | None = None
        self._last_flush = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def open(self, path: str | Path) -> None:
        self.close()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open_stream(self.path, "w", newline="")
        self._file.write(lines([list(COLUMNS)]))
        self._file.flush()
        self.rows_written = 0
        self._last_flush = time.monotonic()

    def record(self, row: list[str]) -> None:
        if self._file is None:
            if self.path is not None:  # a straggler after close(): append it, lose nothing
                with open_stream(self.path, "a", newline="") as handle:
                    handle.write(lines([row]))
                self.rows_written += 1
            return
        self._buffer.append(row)
        if (
            len(self._buffer) >= self.flush_rows
            or time.monotonic() - self._last_flush >= self.flush_s
        ):
            self.flush()

    def flush(self) -> None:
        if self._file is None:
            return
        if self._buffer:
            self._file.write(lines(self._buffer))
            self.rows_written += len(self._buffer)
            self._buffer.clear()
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        self._file.close()
        self._file = None


def _role(environment: Any) -> tuple[str, int]:
    """``("master"|"worker"|"local", worker_index)`` of this Locust process."""
    options = getattr(environment, "parsed_options", None)
    if getattr(options, "master", False):
        return "master", -1
    runner = getattr(environment, "runner", None)
    if getattr(options, "worker", False):
        return "worker", int(getattr(runner, "worker_index", -1))
    return "local", 0


def attach(events: Any, recorder: RequestRecorder | None = None) -> RequestRecorder:
    """Record every request event into ``recorder`` (opened at test start); returns it.

    The caller closes it at quitting (``loadtests.hooks`` does, after stopping the runner).
    """
    recorder = recorder or RequestRecorder()
    state: dict[str, str] = {"experiment": ""}

    def on_test_start(environment: Any, **_: Any) -> None:
        settings = LoadSettings.from_options(environment.parsed_options)
        role, index = _role(environment)
        if not settings.requests_csv or role == "master":
            return
        path = Path(settings.requests_csv)
        if role == "worker":
            if index < 0:
                index = 0
                logger.warning("worker index unknown, writing %s", worker_path(path, index))
            path = worker_path(path, index)
        state["experiment"] = settings.experiment
        recorder.open(path)
        logger.info("recording requests to %s", path)

    def on_request(
        request_type: str = "",
        name: str = "",
        response_time: float | None = None,
        response: Any = None,
        context: dict[str, Any] | None = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        recorder.record(
            build_row(
                name=name,
                start_time=start_time,
                response_time=response_time,
                response=response,
                context=context,
                exception=exception,
                experiment=state["experiment"],
            )
        )

    def on_test_stop(**_: Any) -> None:
        recorder.flush()

    events.test_start.add_listener(on_test_start)
    events.request.add_listener(on_request)
    events.test_stop.add_listener(on_test_stop)
    return recorder
