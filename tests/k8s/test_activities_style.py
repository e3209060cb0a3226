"""The k8s activities as Chaos Toolkit discovers them: exported names, signatures, docstrings."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest

MODULES = ("experiments.activities.k8s.actions", "experiments.activities.k8s.probes")


def _exported() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            found.append((f"{name}.{attr}", getattr(module, attr)))
    return found


EXPORTED = _exported()
IDS = [name for name, _ in EXPORTED]


def test_modules_export_exactly_their_public_functions() -> None:
    for name in MODULES:
        module = importlib.import_module(name)
        public = {
            attr
            for attr, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == name and not attr.startswith("_")
        }
        assert sorted(module.__all__) == sorted(public), name


def test_chaos_toolkit_discovery_lists_every_exported_activity() -> None:
    from chaoslib.discovery.discover import discover_activities

    for name, kind in zip(MODULES, ("action", "probe"), strict=True):
        found = discover_activities(name, kind)
        assert sorted(a["name"] for a in found) == sorted(importlib.import_module(name).__all__)


@pytest.mark.parametrize(("name", "func"), EXPORTED, ids=IDS)
def test_signature_is_positional_or_keyword_with_configuration_and_secrets_last(
    name: str, func: Callable[..., Any]
) -> None:
    params = list(inspect.signature(func).parameters.values())
    assert [p.name for p in params[-2:]] == ["configuration", "secrets"], name
    for param in params:
        assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, f"{name}({param.name})"
        assert param.default is not inspect.Parameter.empty, f"{name}({param.name}) needs a default"
        assert param.default is None or isinstance(param.default, (bool, int, float, str))


@pytest.mark.parametrize(("name", "func"), EXPORTED, ids=IDS)
def test_first_docstring_line_says_what_it_does_and_when_it_raises(
    name: str, func: Callable[..., Any]
) -> None:
    first = (func.__doc__ or "").strip().splitlines()[0]
    assert first.endswith(".") and len(first) <= 100, first
    assert "raise" in first, f"{name}: first line must say when it raises: {first!r}"
    verb_or_question = first.split()[0]
    assert verb_or_question in {"Return", "Drain", "Uncordon", "Terminate"}, first


@pytest.mark.parametrize(
    ("name", "func"), [e for e in EXPORTED if ".probes." in e[0]], ids=lambda x: str(x)
)
def test_probes_read_as_questions_and_actions_as_verbs(name: str, func: Callable[..., Any]) -> None:
    short = name.rsplit(".", 1)[1]
    # Probes: a state or a question (…_allowed, …_can_scale, counts), never an imperative.
    assert not short.startswith(("set_", "drain_", "uncordon_", "scale_", "kill_")), short


def test_actions_are_verb_object() -> None:
    from experiments.activities.k8s import actions

    for short in actions.__all__:
        verb = short.split("_", 1)[0]
        assert verb in {"drain", "uncordon", "terminate"}, short  # chaosk8s: terminate_pods
