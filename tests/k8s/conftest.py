"""Fixtures for tests/k8s: rendered manifests (once per session) and a kmock Kubernetes API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s import support


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Base, kind overlay and loadgen rendered by `kubectl kustomize` (skip without kubectl)."""
    if support.kubectl() is None:
        pytest.skip("kubectl is not on PATH: cannot render the kustomizations")
    return {name: support.render(path) for name, path in support.KUSTOMIZATIONS.items()}


@pytest.fixture(scope="session")
def kind_objects(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered["kind"]


@pytest.fixture(scope="session")
def kind_config() -> dict[str, Any]:
    data = yaml.safe_load(support.KIND_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------------------------
# kmock: a fake Kubernetes API in a background thread (the kubernetes client is synchronous)


class FakeCluster:
    """kmock's KubernetesEmulator served on 127.0.0.1 from its own event loop thread.

    Evictions are answered here as the API server itself would (kmock runs no controllers and
    stores any POST as a new object): 201 and the pod is gone, or 429 for the pods named in
    ``refuse`` (a PodDisruptionBudget saying "not now"), that many times. The pod proxy
    (``GET .../pods/<pod>:<port>/proxy/metrics``) answers ``pod_metrics[<pod>]``, or 503 as the
    API server does when it cannot reach the pod.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.refuse: dict[str, int] = {}
        self.pod_metrics: dict[str, str] = {}
        self.url = ""
        self.km: Any = None
        self._thread = threading.Thread(target=self._serve, name="kmock", daemon=True)
        self._thread.start()
        assert self._ready.wait(20), "kmock did not start"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        import kmock

        fake = self

        class Emulator(kmock.KubernetesEmulator):
            async def _handle(self, request: Any) -> Any:
                if request.subresource == "eviction" and str(request.method.value) == "POST":
                    return await fake._evict(self, request)
                if request.subresource == "proxy/metrics":
                    return fake._proxy(request)
                return await super()._handle(request)

        self._stop = asyncio.Event()
        async with Emulator() as km, kmock.Server(km) as server:
            self.km = km
            self.url = str(server.url).rstrip("/")
            # Resources the activities list even when no object of that kind exists.
            for resource, namespaced in (
                ("autoscaling/v2/horizontalpodautoscalers", True),
                ("apps/v1/deployments", True),
                ("v1/pods", True),
                ("v1/nodes", False),
            ):
                km.resources[resource] = kmock.ResourceInfo(namespaced=namespaced)
            self._ready.set()
            await self._stop.wait()

    async def _evict(self, km: Any, request: Any) -> Any:
        import aiohttp.web

        left = self.refuse.get(request.name, 0)
        if left > 0:
            self.refuse[request.name] = left - 1
            return aiohttp.web.json_response(
                {
                    "apiVersion": "v1",
                    "kind": "Status",
                    "status": "Failure",
                    "reason": "TooManyRequests",
                    "message": "Cannot evict pod as it would violate the pod's disruption budget.",
                    "code": 429,
                },
                status=429,
            )
        km.objects[request.resource, request.namespace, request.name].delete()
        return aiohttp.web.json_response(
            {"apiVersion": "v1", "kind": "Status", "status": "Success", "code": 201}, status=201
        )

    def _proxy(self, request: Any) -> Any:
        import aiohttp.web

        pod = str(request.name).split(":", 1)[0]
        if pod not in self.pod_metrics:
            return aiohttp.web.Response(status=503, text=f"error trying to reach service: {pod}")
        return aiohttp.web.Response(text=self.pod_metrics[pod], content_type="text/plain")

    def add(self, resource: str, namespace: str | None, obj: dict[str, Any]) -> None:
        self.km.objects[resource, namespace, obj["metadata"]["name"]] = obj

    def requests(self) -> list[Any]:
        return list(self.km)

    def calls(self) -> list[str]:
        """``METHOD /path`` of every request, in order."""
        return [f"{r.method.value} {r.url.path}" for r in self.requests()]

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)


@pytest.fixture
def fake_cluster() -> Iterator[FakeCluster]:
    cluster = FakeCluster()
    try:
        yield cluster
    finally:
        cluster.close()


def write_kubeconfig(path: Path, server: str, contexts: list[str], current: str | None) -> Path:
    """A kubeconfig whose every context points at ``server`` (the fake API)."""
    data: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "fake", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": c, "context": {"cluster": "fake", "user": "fake"}} for c in contexts],
    }
    if current is not None:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_cluster: FakeCluster) -> Any:
    """``kubeconfig(contexts, current)``: write one pointing at the fake API and use it."""
    for var in ("KUBERNETES_CONTEXT", "STAMPEDE_KUBE_CONTEXTS", "CHAOSTOOLKIT_IN_POD"):
        monkeypatch.delenv(var, raising=False)

    def make(contexts: list[str], current: str | None) -> Path:
        path = write_kubeconfig(tmp_path / "kubeconfig", fake_cluster.url, contexts, current)
        monkeypatch.setenv("KUBECONFIG", str(path))
        # chaosk8s loads the kubeconfig through this import-time default: keep it in step.
        import kubernetes.config.kube_config as kube_config

        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
        return path

    return make
