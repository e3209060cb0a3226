"""The one shell-out helper of the kind target: ``require``, ``run``, ``kubectl``, Docker checks.

Every external command goes through ``run`` (one place for timeouts, missing tools and error
text). A missing ``kind``/``docker``/``kubectl`` is an ``InputError`` that says what to install;
a command that fails or hangs is a ``HarnessError`` that names it. kubectl is always given
``--context kind-<name>``: nothing here depends on, or changes, the user's current context.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence

from stampede.errors import HarnessError, InputError
from stampede.kind.layout import KUBECTL_TIMEOUT_S

Say = Callable[[str], None]

INSTALL_HINTS = {
    "kind": "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "docker": "install Docker (Engine or Desktop): https://docs.docker.com/get-docker/",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
}


def quiet(_: str) -> None:
    """Default ``say``: library calls print nothing unless the caller asks."""


def require(tool: str) -> str:
    """The path of ``tool`` on PATH; raises InputError saying what to install when missing."""
    found = shutil.which(tool)
    if not found:
        hint = INSTALL_HINTS.get(tool, f"install {tool}")
        raise InputError(f"`{tool}` not found on PATH: {hint}")
    return found


def run(
    cmd: Sequence[str],
    *,
    timeout_s: float = KUBECTL_TIMEOUT_S,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (text in and out, bounded); raises HarnessError if it fails or hangs."""
    argv = [require(cmd[0]), *cmd[1:]]
    shown = " ".join(cmd)
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"`{shown}` did not finish within {timeout_s:g} s") from exc
    except OSError as exc:
        raise HarnessError(f"`{shown}` could not start: {exc}") from exc
    if check and proc.returncode != 0:
        detail = tail(proc.stderr) or tail(proc.stdout) or "no output"
        raise HarnessError(f"`{shown}` failed (exit {proc.returncode}): {detail}")
    return proc


def tail(text: str, lines: int = 3) -> str:
    """The last ``lines`` non-empty lines of a command's output, joined by `` | ``."""
    kept = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def kubectl(
    context: str,
    *args: str,
    timeout_s: float = KUBECTL_TIMEOUT_S,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``kubectl --context <context> ...``: always explicit, never the current context."""
    if not context.startswith("kind-"):
        raise InputError(f"stampede.kind only drives kind contexts (kind-*), got {context!r}")
    return run(
        ["kubectl", "--context", context, *args], timeout_s=timeout_s, stdin=stdin, check=check
    )


def docker_engine_problem() -> str | None:
    """None when a Docker engine answers ``docker info``, else why not (for skips and errors)."""
    if shutil.which("docker") is None:
        return f"`docker` not found on PATH: {INSTALL_HINTS['docker']}"
    try:
        proc = run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout_s=20, check=False)
    except HarnessError as exc:
        return str(exc)
    if proc.returncode != 0:
        why = tail(proc.stderr, 1) or "docker info failed"
        return f"the Docker engine is not running ({why}): start Docker and retry"
    return None


def require_docker_engine() -> None:
    """Raise HarnessError when docker is installed but no engine answers (InputError if absent)."""
    require("docker")
    problem = docker_engine_problem()
    if problem:
        raise HarnessError(problem)
