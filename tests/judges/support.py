"""Cases for judge tests, built in one line each."""

from __future__ import annotations

from typing import Any

from stampede.cases import Case, Expect


def case(case_id: str = "c1", **expect: Any) -> Case:
    """A case with ``input`` {"q": "?"} and the given ``expect`` fields."""
    if "aliases" in expect:
        expect["aliases"] = tuple(expect["aliases"])
    return Case(case_id, {"q": "?"}, Expect(**expect))
