"""The namespace and the toolbox admin token (Secret toolbox-admin); the token never hits argv."""

from __future__ import annotations

import base64
import json
import secrets

from stampede.errors import HarnessError
from stampede.kind.layout import NAMESPACE, TOOLBOX_SECRET, TOOLBOX_SECRET_KEY
from stampede.kind.tools import kubectl, tail


def read_admin_token(context: str, namespace: str = NAMESPACE) -> str | None:
    """The toolbox admin token from Secret toolbox-admin, or None when there is no such Secret."""
    proc = kubectl(
        context,
        "--namespace",
        namespace,
        "get",
        "secret",
        TOOLBOX_SECRET,
        "--output",
        f"jsonpath={{.data.{TOOLBOX_SECRET_KEY}}}",
        check=False,
    )
    if proc.returncode != 0:
        if "NotFound" in proc.stderr or "not found" in proc.stderr:
            return None
        raise HarnessError(
            f"cannot read Secret {namespace}/{TOOLBOX_SECRET}: {tail(proc.stderr) or 'no output'}"
        )
    encoded = proc.stdout.strip()
    return base64.b64decode(encoded).decode() if encoded else None


def ensure_admin_token(context: str, namespace: str = NAMESPACE) -> str:
    """Keep the existing toolbox token, or create a random one (the value never hits argv)."""
    token = read_admin_token(context, namespace)
    if token:
        return token
    token = secrets.token_urlsafe(24)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": TOOLBOX_SECRET,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "stampede"},
        },
        "type": "Opaque",
        "stringData": {TOOLBOX_SECRET_KEY: token},
    }
    kubectl(context, "apply", "--filename", "-", stdin=json.dumps(manifest))
    return token


def ensure_namespace(context: str, namespace: str = NAMESPACE) -> None:
    """Create the namespace if needed (the Secret must exist before the toolbox starts)."""
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    kubectl(context, "apply", "--filename", "-", stdin=json.dumps(manifest))
