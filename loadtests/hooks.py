"""Stampede's Locust wiring, in one place: options, fail-fast checks, shape choice, recorder.

:func:`install` is idempotent and is called when ``loadtests.agent_user`` or
``loadtests.shapes`` is imported, so a locustfile only imports its User and shape classes.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gevent
from locust import events
from locust import stats as locust_stats
from locust.runners import STATE_INIT, STATE_RUNNING, STATE_SPAWNING

from loadtests import recorder
from loadtests.profile import ProfileError, load_profile
from loadtests.settings import LoadSettings, add_arguments

logger = logging.getLogger(__name__)
_installed: list[recorder.RequestRecorder] = []


def _on_init(environment: Any, **_: Any) -> None:
    # gevent timers count from the loop's cached "now", stale by however long the imports took
    # (seconds on a busy machine): without this, -t 10s can stop the test after 7 s.
    gevent.get_hub().loop.update_now()
    options = environment.parsed_options
    if options is None or getattr(options, "worker", False):
        return  # workers get the master's --stampede-* options with each spawn message
    try:
        settings = LoadSettings.from_options(options)
        load_profile(settings.profile)
    except (ValueError, ProfileError) as exc:
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


def _on_quitting(environment: Any, **_: Any) -> None:
    """Make the counts final, then close the recorder.

    On SIGTERM Locust fires ``quitting`` while users still run, so stop them first: no request
    completes after the recorder closes. Locust's ``--csv`` files are rewritten only every
    ``CSV_STATS_INTERVAL_SEC`` and closed right after ``quitting`` (locust#2299), so wait one
    interval: the stats CSV then holds the same request count as the requests CSV.
    """
    runner = environment.runner
    if runner is not None and runner.state in (STATE_INIT, STATE_SPAWNING, STATE_RUNNING):
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
        events.quitting.add_listener(_on_quitting)
        _installed.append(recorder.attach(events))
    return _installed[0]
