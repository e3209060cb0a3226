"""Stampede's Locust wiring, in one place.

- the ``--stampede-*`` options (``init_command_line_parser``);
- ``init``: fail fast on bad options, profile or case file, or a case the profile cannot ask
  or judge (``check_cases``): exit 2 with one line naming the file and field; drop
  ``StampedeShape`` for ``none``;
- ``test_stop`` on a master: every worker stops and reports before the master stops listening;
- ``quitting``: stop users still running, let Locust's CSV catch up, close the recorder.

:func:`install` is idempotent and is called when ``loadtests.agent_user`` or
``loadtests.shapes`` is imported, so a locustfile only imports its User and shape classes.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import gevent
from locust import events
from locust import stats as locust_stats
from locust.runners import (
    STATE_RUNNING,
    STATE_SPAWNING,
    MasterRunner,
    WorkerRunner,
)

from loadtests import recorder
from loadtests.profile import ProfileError, load_case_set
from loadtests.select import load_profile
from loadtests.settings import LoadSettings, add_arguments
from stampede.errors import InputError

logger = logging.getLogger(__name__)
_installed: list[recorder.RequestRecorder] = []
FLUSH, FLUSHED = "stampede_flush", "stampede_flushed"
FLUSH_WAIT_S = 10.0
_flushed: set[str] = set()


def _on_init(environment: Any, **_: Any) -> None:
    # gevent timers count from the loop's cached "now", stale by however long the imports took
    # (seconds on a busy machine): without this, -t 10s can stop the test after 7 s.
    gevent.get_hub().loop.update_now()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(FLUSH, _flush_for_master)
        return  # workers get the master's --stampede-* options with each spawn message
    if isinstance(runner, MasterRunner):
        runner.register_message(FLUSHED, lambda msg, **_: _flushed.add(msg.node_id))
    options = environment.parsed_options
    if options is None:
        return
    try:
        settings = LoadSettings.from_options(options)
        profile = load_profile(settings.profile)
        profile.check_cases(load_case_set(settings.cases))
    except (ValueError, ProfileError, InputError) as exc:
        logger.error("stampede: %s", exc)
        sys.exit(2)
    shape = environment.shape_class
    is_ours = getattr(shape, "is_stampede_shape", False)
    if settings.shape == "none":
        if is_ours:
            environment.shape_class = None  # plain -u/-r/-t
        return
    if not is_ours:
        logger.error(
            "stampede: --stampede-shape %s needs a locustfile exposing "
            "loadtests.shapes.StampedeShape (found %s)",
            settings.shape,
            type(shape).__name__ if shape is not None else "no shape class",
        )
        sys.exit(2)
    shape.configure(settings)  # now: Locust replaces a missing -r with 1 after init
    logger.info("stampede: shape %s %s", settings.shape, settings.shape_params)


def _flush_for_master(environment: Any, msg: Any, **_: Any) -> None:
    """Worker: stop the users, send the last stats, then confirm (see :func:`_on_test_stop`)."""
    runner = environment.runner
    runner.stop()
    data: dict[str, Any] = {}  # what WorkerRunner sends on "quit", done with public calls
    environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
    runner.send_message("stats", data)
    runner.send_message(FLUSHED)


def _on_test_stop(environment: Any, **_: Any) -> None:
    """Master: make every worker stop and report before the master stops listening.

    On quit the master sends "quit" and waits only 0.5 s for the workers' final stats; a busy
    worker misses that window, and the master's counts (and --csv) then lack requests the
    worker recorded. Each worker stops its users, sends its stats and confirms first (same
    ordered connection, so the stats are in when the confirmation is), bounded by FLUSH_WAIT_S.
    """
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    clients = {client.id for client in runner.clients.all}
    if not clients:
        return
    _flushed.clear()
    for client_id in clients:
        runner.send_message(FLUSH, None, client_id)
    deadline = time.monotonic() + FLUSH_WAIT_S
    while not clients <= _flushed and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if clients <= _flushed:
        logger.info("stampede: final reports from %d workers", len(clients))
    else:
        logger.warning("stampede: no final report from workers %s", sorted(clients - _flushed))


def _on_quitting(environment: Any, **_: Any) -> None:
    """Make the counts final, then close the recorder.

    On SIGTERM Locust fires ``quitting`` while users still run, so stop them first: no request
    completes after the recorder closes. Locust's ``--csv`` files are rewritten only every
    ``CSV_STATS_INTERVAL_SEC`` and closed right after ``quitting`` (locust#2299), so wait one
    interval: the stats CSV then holds the same request count as the requests CSV.
    """
    runner = environment.runner
    if runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING):
        runner.stop()
    options = environment.parsed_options
    if getattr(options, "csv_prefix", None) and not getattr(options, "worker", False):
        gevent.sleep(locust_stats.CSV_STATS_INTERVAL_SEC + 0.3)
    for rec in _installed:
        rec.close()
        if rec.path is not None:
            logger.info("stampede: recorded %d requests to %s", rec.rows_written, rec.path)


def install() -> recorder.RequestRecorder:
    """Register the listeners once per process; returns the process's recorder."""
    if not _installed:
        events.init_command_line_parser.add_listener(add_arguments)
        events.init.add_listener(_on_init)
        events.test_stop.add_listener(_on_test_stop)
        events.quitting.add_listener(_on_quitting)
        _installed.append(recorder.attach(events))
    return _installed[0]
