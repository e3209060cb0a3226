"""Cases: the questions put to an agent and what a correct answer contains.

* :class:`Case`, :class:`Expect` — the model (``model.py``).
* :func:`load_cases` — a case file, JSON Lines or YAML (``files.py``).
* :func:`reference_cases` — the reference agent's catalogue as cases (``reference.py``).
* :class:`JsonPath` — ``expect.json_path``, in the profiles' dialect (jsonpath-ng; ``jsonpath.py``).
"""

from __future__ import annotations

from stampede.cases.files import load_cases, parse_cases
from stampede.cases.jsonpath import JsonPath, PathError, PathMissing
from stampede.cases.model import Case, Expect
from stampede.cases.reference import reference_cases

__all__ = [
    "Case",
    "Expect",
    "JsonPath",
    "PathError",
    "PathMissing",
    "load_cases",
    "parse_cases",
    "reference_cases",
]
