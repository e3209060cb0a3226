"""Choose a target profile: a name, a ``module:attr`` path or a declarative ``PATH.yaml``.

Its own module because it sits above both kinds of profile: ``loadtests.declarative`` builds on
``loadtests.profile``, and this module imports both (``profile`` cannot import ``declarative``).
"""

from __future__ import annotations

import importlib
from typing import Any

from loadtests.declarative import load_declarative_profile
from loadtests.profile import ProfileError, TargetProfile

__all__ = ["PROFILES", "YAML_SUFFIXES", "load_profile"]

#: Profiles selectable by name; anything else is a ``module:attr`` path or a YAML file.
PROFILES: dict[str, type[TargetProfile]] = {"reference": TargetProfile}

#: A spec ending in one of these is a declarative profile file (docs/byo-agent.md).
YAML_SUFFIXES = (".yaml", ".yml")


def load_profile(spec: str) -> TargetProfile:
    """A profile by name (``reference``), by ``package.module:attr`` or from ``PATH.yaml``.

    ``attr`` (dotted attributes allowed) may be a profile instance, a profile class or a
    zero-argument factory. Raises ProfileError saying what was wrong; a profile file that
    cannot be read or does not validate raises ``ProfileFileError`` (an ``InputError``) naming
    the file, the line and the field.
    """
    spec = (spec or "reference").strip()
    if spec in PROFILES:
        return PROFILES[spec]()
    if spec.lower().endswith(YAML_SUFFIXES):
        return load_declarative_profile(spec)
    if ":" not in spec:
        known = ", ".join(sorted(PROFILES))
        raise ProfileError(
            f"unknown profile '{spec}': expected one of {known}, module:attr or PATH.yaml"
        )
    module_name, _, attr_path = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProfileError(f"profile '{spec}': cannot import '{module_name}': {exc}") from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ProfileError(f"profile '{spec}': '{module_name}' has no '{attr_path}'") from exc
    if isinstance(obj, type) or (callable(obj) and not _is_profile(obj)):
        try:
            obj = obj()
        except TypeError as exc:
            raise ProfileError(f"profile '{spec}': cannot call {attr_path}(): {exc}") from exc
    if not _is_profile(obj):
        raise ProfileError(
            f"profile '{spec}' is a {type(obj).__name__}, expected a profile "
            "(methods build, judge, lookup, judge_lookup; subclass loadtests.profile.TargetProfile)"
        )
    return obj


def _is_profile(obj: Any) -> bool:
    return not isinstance(obj, type) and all(
        callable(getattr(obj, m, None)) for m in ("build", "judge", "lookup", "judge_lookup")
    )
