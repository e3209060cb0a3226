"""Locust load shapes: one class that delegates to the shape chosen by ``--stampede-shape``.

Locust uses the first ``LoadTestShape`` a locustfile exposes, so a locustfile exposes just
:class:`StampedeShape`; with ``--stampede-shape none`` (the default) the init hook removes it and
plain ``-u/-r/-t`` apply. The math is in :mod:`loadtests.shape_math`.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadtests import hooks
from loadtests.settings import LoadSettings
from loadtests.shape_math import users_at

hooks.install()


class StampedeShape(LoadTestShape):
    """steady / ramp / spike / open, parametrised by the ``--stampede-*`` options (and -u/-r/-t)."""

    is_stampede_shape = True
    use_common_options = True  # -u/-r/-t are the defaults of users, spawn rate and duration

    _settings: LoadSettings | None = None

    def configure(self, settings: LoadSettings) -> None:
        """Use ``settings`` (the init hook passes the ones it validated)."""
        self._settings = settings

    def settings(self) -> LoadSettings:
        if self._settings is None:
            options = self.runner.environment.parsed_options if self.runner else None
            self._settings = LoadSettings.from_options(options)
        return self._settings

    def tick(self) -> tuple[int, float] | None:
        settings = self.settings()
        return users_at(settings.shape, self.get_run_time(), settings.shape_params)
