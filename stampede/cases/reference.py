"""The reference case set: the reference agent's incident catalogue as a case file.

``reference.jsonl`` ships with the package: one case per incident, ``input`` is the alert the
agent is sent (so the request body is ``dict(case.input)``) and ``expect.label`` is the true
root cause. It is generated from the toolbox's catalogue, and a test keeps the two equal
(``tests/cases/test_reference.py``); the harness reads the ground truth only from here.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from stampede.cases.files import parse_cases
from stampede.cases.model import Case

__all__ = ["REFERENCE_FILE", "reference_cases"]

#: The file's name inside the ``stampede.cases`` package.
REFERENCE_FILE = "reference.jsonl"


@lru_cache(maxsize=1)
def reference_cases() -> tuple[Case, ...]:
    """The reference cases, in catalogue order (read once per process)."""
    source = resources.files("stampede.cases").joinpath(REFERENCE_FILE)
    return parse_cases(
        source.read_text(encoding="utf-8"), f"stampede/cases/{REFERENCE_FILE}", "jsonl"
    )
