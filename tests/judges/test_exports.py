"""The packages export exactly their public names, and each one exists."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["stampede.cases", "stampede.judges", "stampede.contract"])
def test_all_lists_public_names_that_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert sorted(exported) == sorted(set(exported))
    assert all(hasattr(module, n) for n in exported)
    public = {n for n, v in vars(module).items() if not n.startswith("_")}
    defined_here = {
        n for n in public if getattr(vars(module)[n], "__module__", "").startswith(name)
    }
    assert defined_here <= set(exported), defined_here - set(exported)
