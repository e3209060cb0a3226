"""The namespace and the Secrets kept out of the manifests; their values never hit argv.

``deploy`` calls :func:`ensure_secret` for each of ``GENERATED_SECRETS`` (the toolbox admin
token, the checkpoint database's password): an existing value is kept, else a random one is
created and sent to ``kubectl apply`` on stdin.
"""

from __future__ import annotations

import base64
import json
import secrets

from stampede.errors import HarnessError
from stampede.kind.layout import NAMESPACE, TOOLBOX_SECRET, TOOLBOX_SECRET_KEY
from stampede.kind.tools import kubectl, tail

RANDOM_BYTES = 24


def read_secret(context: str, name: str, key: str, namespace: str = NAMESPACE) -> str | None:
    """The value of ``key`` in Secret ``name``, or None when there is no such Secret or key."""
    proc = kubectl(
        context,
        "--namespace",
        namespace,
        "get",
        "secret",
        name,
        "--output",
        f"jsonpath={{.data.{key}}}",
        check=False,
    )
    if proc.returncode != 0:
        if "NotFound" in proc.stderr or "not found" in proc.stderr:
            return None
        raise HarnessError(
            f"cannot read Secret {namespace}/{name}: {tail(proc.stderr) or 'no output'}"
        )
    encoded = proc.stdout.strip()
    return base64.b64decode(encoded).decode() if encoded else None


def ensure_secret(context: str, name: str, key: str, namespace: str = NAMESPACE) -> str:
    """Keep the existing value of Secret ``name``/``key``, or create a random one.

    The value is ``secrets.token_urlsafe`` (letters, digits, ``-`` and ``_``): it goes into URLs
    (the agent's ``postgresql://agent:$(PASSWORD)@...`` DSN) without escaping.
    """
    value = read_secret(context, name, key, namespace)
    if value:
        return value
    value = secrets.token_urlsafe(RANDOM_BYTES)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "stampede"},
        },
        "type": "Opaque",
        "stringData": {key: value},
    }
    kubectl(context, "apply", "--filename", "-", stdin=json.dumps(manifest))
    return value


def read_admin_token(context: str, namespace: str = NAMESPACE) -> str | None:
    """The toolbox admin token from Secret toolbox-admin, or None when there is no such Secret."""
    return read_secret(context, TOOLBOX_SECRET, TOOLBOX_SECRET_KEY, namespace)


def ensure_namespace(context: str, namespace: str = NAMESPACE) -> None:
    """Create the namespace if needed (the Secrets must exist before the pods that mount them)."""
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    kubectl(context, "apply", "--filename", "-", stdin=json.dumps(manifest))
