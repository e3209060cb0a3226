"""Errors of dependency calls, translated from library errors at each client's boundary.

::

    DependencyError                  a call to llm / tool:<name> / redis did not give a result
     ├── DependencyUnavailable       transient (timeout, 5xx, 429, connection): retryable,
     │    │                          counts as a breaker failure; may carry ``retry_after``
     │    └── AttemptTimeout         one attempt ran out of its timeout
     ├── DependencyRejected          refused here, without calling the dependency
     │    ├── BreakerOpen            the circuit breaker is open (or its probe is busy)
     │    ├── NoCapacity             no concurrency slot freed up before the deadline
     │    └── DeadlineExceeded       the request deadline left no time for an attempt
     └── DependencyClientError       a 4xx that retrying cannot fix (not a breaker failure)
          └── NotFound               404, e.g. a service the tools do not know

The clients (``tools.py``, ``llm.py``, ``store.py``) raise these ``from`` the library error.
"""

from __future__ import annotations


class DependencyError(Exception):
    """A call to a dependency gave no result; ``kind`` is a bounded label for metrics."""

    kind = "error"

    def __init__(self, dependency: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{dependency}: {message}")
        self.dependency = dependency
        self.status = status


class DependencyUnavailable(DependencyError):
    """A transient failure; ``retry_after`` (seconds) when the dependency said when to retry."""

    def __init__(
        self,
        dependency: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(dependency, message, status=status)
        self.retry_after = retry_after


class AttemptTimeout(DependencyUnavailable):
    kind = "timeout"


class DependencyRejected(DependencyError):
    kind = "rejected"


class BreakerOpen(DependencyRejected):
    kind = "breaker_open"


class NoCapacity(DependencyRejected):
    kind = "no_capacity"


class DeadlineExceeded(DependencyRejected):
    kind = "deadline"


class DependencyClientError(DependencyError):
    kind = "client_error"


class NotFound(DependencyClientError):
    kind = "not_found"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in delta-seconds form; None if absent or a date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
