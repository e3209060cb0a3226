"""Hypothesis strategies for hostile input: YAML token soup, bombs, deep nesting, bad numbers."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: One profile for every loader property: bounded examples, a generous per-example deadline
#: (a loader that takes seconds on a few hundred bytes fails it), no example database on disk.
BOUNDED = settings(
    max_examples=40,
    deadline=3000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_TOKENS = [
    "&a ", "&b ", "*a", "*b", "[", "]", "{", "}", ", ", ": ", "- ", "? ", "\n", "  ", "    ",
    "objectives", "sli", "op", "threshold", "scope", "experiment", "phase", "params", "version",
    "cases", "id", "input", "expect", "label", "request", "response", "path", "answer", "metrics",
    "series", "upstreams", "llm", "kind", "Cluster", "nodes", "extraPortMappings",
    "1", "-1", "0", "1e999", "-.inf", ".nan", "2001-02-30", "2001-02-03", "0x1F", "0o777", "~",
    "null", "true", "'", '"', "#", "!!binary ", "!!str ", "!!int ", "!!python/object:os.system ",
    "!!set ", "<<: ", "|\n", ">\n", "wrong_ratio", "<=", "==", "fault", "*", "---\n", "...\n",
    "%YAML 1.1\n", "\t", "é", "\x00", "\ufeff", "\r\n", "\\", "1" + "0" * 5000,
]  # fmt: skip


#: Token soup: fragments of YAML syntax, tags, aliases, odd values and the loaders' own keys.
soup = st.lists(st.sampled_from(_TOKENS) | st.text(max_size=4), max_size=50).map("".join)


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    """``depth`` levels of flow nesting."""
    return open_ * depth + close * depth


def alias_bomb(levels: int, fan_out: int) -> str:
    """The "billion laughs": each level an anchored list of ``fan_out`` aliases of the last."""
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan_out)}]")
    return "\n".join(lines) + "\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _dumped(value: object) -> str:
    return yaml.safe_dump(value, default_flow_style=None, allow_unicode=True)


def mutated(base: str) -> st.SearchStrategy[str]:
    """``base`` with a slice replaced by token soup (a valid file, broken somewhere)."""
    return st.tuples(st.integers(0, len(base)), st.integers(0, 20), soup).map(
        lambda t: base[: t[0]] + t[2] + base[t[0] + t[1] :]
    )


def hostile_yaml(*bases: str) -> st.SearchStrategy[str]:
    """Any text, leaning on what breaks YAML loaders: soup, mutated valid files, bombs, depth."""
    options = [
        soup,
        st.text(max_size=200),
        json_values.map(_dumped),
        st.integers(0, 20_000).map(nested),
        st.integers(0, 400).map(lambda n: nested(n, "{a: ", "}")),
        st.integers(0, 400).map(lambda n: "- " * n + "x\n"),
        st.tuples(st.integers(1, 9), st.integers(1, 12)).map(lambda t: alias_bomb(*t)),
        st.just("a: &a [*a]\n") | st.just("&a {b: *a}\n") | st.just("a: &a\n  b: *a\n"),
    ]
    options += [mutated(base) for base in bases]
    return st.one_of(options)
