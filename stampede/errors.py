"""Errors the CLI turns into one line and exit code 2 (bad input or harness failure).

StampedeError
├── InputError      a file, field or argument the user gave is wrong
└── HarnessError    the harness itself could not do its job (a process died, a port is taken)
"""

from __future__ import annotations


class StampedeError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class InputError(StampedeError):
    """A file, field or argument is wrong: the message names which and why."""


class HarnessError(StampedeError):
    """The harness could not do its job (a process died, a port is taken, a timeout)."""
