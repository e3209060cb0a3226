"""The extension as Chaos Toolkit sees it: discovery finds every module, signatures fit."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest

from experiments.activities import activity_modules, discover
from experiments.activities.toolbox import _api
from tests.experiments.conftest import REPO, chaos

ACTIVITIES = REPO / "experiments" / "activities"
#: Targets of the local stack (k8s has its own tests and conventions).
LOCAL_TARGETS = ("process", "redis", "toolbox", "slo")
LOCAL_ACTIVITIES = [
    a
    for a in discover(discover_system=False)["activities"]
    if a["mod"].split(".")[2] in LOCAL_TARGETS
]
#: Fault-model fields whose default is None (no limit, no rewrite): ``X | None`` is "object" to
#: Chaos Toolkit's discovery, which has no name for an optional value.
OPTIONAL_FAULT_FIELDS = {name for name, default in _api.spec_fields().items() if default is None}


def test_discovery_lists_every_actions_and_probes_module_on_disk() -> None:
    """A new <target>/actions.py or probes.py is discovered without registering it anywhere."""
    on_disk = sorted(
        (".".join(p.relative_to(REPO).with_suffix("").parts), p.stem)
        for p in ACTIVITIES.glob("*/*.py")
        if p.stem in ("actions", "probes")
    )
    kinds = {"actions": "action", "probes": "probe"}
    assert sorted(activity_modules()) == sorted((mod, kinds[stem]) for mod, stem in on_disk)
    for target in LOCAL_TARGETS:
        assert (f"experiments.activities.{target}.actions", "action") in activity_modules()
        assert (f"experiments.activities.{target}.probes", "probe") in activity_modules()


def test_discovery_returns_every_exported_function_of_every_module() -> None:
    """What each module exports in __all__ is exactly what discovery lists for it."""
    found = discover(discover_system=False)["activities"]
    for module_name, kind in activity_modules():
        module = importlib.import_module(module_name)
        listed = sorted(a["name"] for a in found if a["mod"] == module_name)
        assert listed == sorted(module.__all__), module_name
        assert all(a["type"] == kind for a in found if a["mod"] == module_name)
        for name in module.__all__:
            assert inspect.isfunction(getattr(module, name)), f"{module_name}.{name}"


def test_chaos_discover_cli_finds_the_extension(tmp_path: Path) -> None:
    """Chaos Toolkit's discover command on the distribution lists what discover() lists."""
    out = tmp_path / "discovery.json"
    done = chaos(
        "discover",
        "--no-install",
        "--no-system-info",
        "--discovery-path",
        str(out),
        "stampede",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(out.read_text())["activities"]
    expected = discover(discover_system=False)["activities"]
    assert sorted((a["mod"], a["name"]) for a in listed) == sorted(
        (a["mod"], a["name"]) for a in expected
    )


@pytest.mark.parametrize("activity", LOCAL_ACTIVITIES, ids=lambda a: f"{a['mod']}.{a['name']}")
def test_local_activity_signature_follows_the_house_style(activity: dict) -> None:
    """Positional-or-keyword params, simple defaults, state_file/configuration/secrets last."""
    func = getattr(importlib.import_module(activity["mod"]), activity["name"])
    params = list(inspect.signature(func).parameters.values())
    assert [p.name for p in params[-3:]] == ["state_file", "configuration", "secrets"]
    assert [p.default for p in params[-3:]] == ["", None, None]
    for param in params:
        assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, param.name
        if param.default is not inspect.Parameter.empty:
            assert param.default is None or isinstance(param.default, (int, float, str, bool))
    typed = {arg["name"]: arg.get("type") for arg in activity["arguments"]}
    loose = {n for n, t in typed.items() if t == "object"} - {"configuration", "secrets"}
    optional = OPTIONAL_FAULT_FIELDS | {"json_rules"}  # json_rules: None is no rule
    assert loose <= optional, f"discovery sees untyped parameters {loose - optional}"
    assert activity["return_type"] in ("boolean", "integer", "mapping")


@pytest.mark.parametrize("activity", LOCAL_ACTIVITIES, ids=lambda a: f"{a['mod']}.{a['name']}")
def test_local_activity_docstring_says_what_and_when_it_raises(activity: dict) -> None:
    first = (activity["doc"] or "").splitlines()[0]
    assert first.endswith(".") and len(first) <= 100, first
    assert "raise" in first, f"first docstring line must say when it raises: {first!r}"
