"""Redis on Kubernetes keeps accepted records: AOF on a PersistentVolumeClaim, noeviction, and
the redis-outage experiment only scales the Deployment (the claim, and so the data, stays)."""

from __future__ import annotations

from typing import Any

from tests.k8s import support

Objects = list[dict[str, Any]]


def _flags(command: list[str]) -> dict[str, str]:
    return {
        command[i]: command[i + 1] for i in range(1, len(command) - 1) if command[i][:2] == "--"
    }


def test_redis_appends_to_a_file_on_a_persistent_volume_claim(kind_objects: Objects) -> None:
    deployment = support.one(kind_objects, "Deployment", "redis")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    flags = _flags(container["command"])
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] in {"everysec", "always"}
    assert flags["--maxmemory-policy"] == "noeviction"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in spec["volumes"] if v["name"] == mounts[flags["--dir"]])
    claim = support.one(
        kind_objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]
    )
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in claim["spec"], "kind's default StorageClass (standard)"
    # One writer on a ReadWriteOnce volume: the old pod is gone before the new one mounts it.
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert deployment["spec"]["replicas"] == 1


def test_the_outage_experiment_keeps_the_volume() -> None:
    """redis-outage scales Redis to 0 and back; nothing deletes the claim or the Deployment."""
    experiment = support.experiments()["redis-outage.json"]
    scaled: list[int] = []
    for activity in support.activities(experiment):
        provider = activity["provider"]
        func = str(provider.get("func", ""))
        assert not func.startswith(("delete", "remove")), activity["name"]
        assert "persistentvolumeclaim" not in str(provider).lower(), activity["name"]
        if func == "scale_deployment":
            assert provider["arguments"]["name"] == "redis"
            scaled.append(provider["arguments"]["replicas"])
    assert 0 in scaled and scaled[-1] == 1, scaled
