"""Case files read JSON paths in the declarative profiles' dialect (jsonpath-ng ``ext``)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonpath_ng.ext import parse

from stampede.cases import JsonPath, PathError, PathMissing

DATA: dict[str, Any] = {
    "answer": {"causes": [{"name": "oom", "score": 0.2}, {"name": "disk", "score": 0.9}]},
    "odd key": [1, 2, 3],
    "n": None,
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$.answer.causes[0].name", "oom"),
        ("answer.causes[1].name", "disk"),  # $ optional
        ("$['odd key'][-1]", 3),
        ("$.answer.causes[?(@.score > 0.5)].name", "disk"),  # a filter (ext)
        ("$..name", "oom"),  # several values: the first, as a profile reads it
        ("$.n", None),
    ],
    ids=["dotted", "no-root", "quoted-negative", "filter", "descendants-first", "null"],
)
def test_a_path_reads_what_a_profile_reads(path: str, value: Any) -> None:
    assert JsonPath(path).get(DATA) == value
    assert parse(path).find(DATA)[0].value == value  # the declarative profiles' reader


def test_missing_steps_and_bad_paths_are_named() -> None:
    with pytest.raises(PathMissing, match=r"^\$\.answer\.why\.x: no key 'why' at \$\.answer$"):
        JsonPath("$.answer.why.x").get(DATA)
    with pytest.raises(PathMissing, match=r"no item \[5\] at \$\.answer\.causes$"):
        JsonPath("$.answer.causes[5]").get(DATA)
    with pytest.raises(PathError, match=r"JSON path '\$\.\.\[': cannot read it"):
        JsonPath("$..[")
    with pytest.raises(PathError, match="empty JSON path"):
        JsonPath("  ")
