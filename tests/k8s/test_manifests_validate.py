"""Every rendered object is valid Kubernetes for the kind node's version, in strict mode.

kubernetes-validate is called from Python on purpose: its command line only *warns* when it has
no schema for an apiVersion/kind, so a typo such as ``apps/v1beta9`` would pass. ``validate()``
raises instead, and these tests prove it does.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tests.k8s import support


def validate_strict(obj: dict[str, Any]) -> None:
    """Raise when ``obj`` is not a valid object of the pinned Kubernetes version."""
    kubernetes_validate.validate(obj, support.KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", sorted(support.KUSTOMIZATIONS))
def test_every_rendered_object_passes_strict_schema_validation(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    assert objects, f"{name} rendered nothing"
    failures = []
    for obj in objects:
        try:
            validate_strict(obj)
        except (
            kubernetes_validate.ValidationError,
            kubernetes_validate.SchemaNotFoundError,
        ) as exc:
            failures.append(f"{support.key(obj)}: {getattr(exc, 'message', exc)}")
    assert not failures, "\n".join(failures)


def test_the_pinned_version_has_schemas() -> None:
    """The pinned version is one kubernetes-validate ships (else validation silently drifts)."""
    major_minor = ".".join(support.KUBERNETES_VERSION.split(".")[:2])
    assert major_minor in {
        ".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()
    }


GOOD: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "x"},
    "spec": {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "x", "image": "x:1"}]},
        },
    },
}


def test_a_known_good_object_validates() -> None:
    validate_strict(copy.deepcopy(GOOD))


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("apps/v1beta9", "Deployment"), ("apps/v1", "Deploymnet"), ("stampede.dev/v1", "Thing")],
    ids=["bogus-apiVersion", "misspelled-kind", "unknown-group"],
)
def test_an_unknown_api_version_or_kind_fails(api_version: str, kind: str) -> None:
    bad = {**copy.deepcopy(GOOD), "apiVersion": api_version, "kind": kind}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate_strict(bad)


def test_a_misspelled_field_fails_in_strict_mode() -> None:
    bad = copy.deepcopy(GOOD)
    container = bad["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicie"] = "IfNotPresent"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicie"):
        validate_strict(bad)
    # ...and the same object passes when not strict: strict mode is what catches it.
    kubernetes_validate.validate(bad, support.KUBERNETES_VERSION, strict=False)


def test_a_wrongly_typed_field_fails() -> None:
    bad = copy.deepcopy(GOOD)
    bad["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(bad)
