"""Resilience mechanisms, one module each, composed per dependency by :class:`Dependency`."""

from target_agent.agent.resilience.dependency import CallStats, Dependency
from target_agent.agent.resilience.errors import (
    AttemptTimeout,
    BreakerOpen,
    DeadlineExceeded,
    DependencyClientError,
    DependencyError,
    DependencyRejected,
    DependencyUnavailable,
    NoCapacity,
    NotFound,
)
from target_agent.agent.resilience.timeouts import Deadline

__all__ = [
    "AttemptTimeout",
    "BreakerOpen",
    "CallStats",
    "Deadline",
    "DeadlineExceeded",
    "Dependency",
    "DependencyClientError",
    "DependencyError",
    "DependencyRejected",
    "DependencyUnavailable",
    "NoCapacity",
    "NotFound",
]
