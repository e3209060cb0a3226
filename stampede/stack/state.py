"""The local stack's state file, ``<state_dir>/stack.json`` (docs/contracts.md, "Local stack").

Data and file I/O only: models, where the file lives, a strict reader that names the file and
the problem, and an atomic writer. While ``up`` runs the file is a *draft* (components appear as
they are spawned), so ``down`` after a crash mid-``up`` still finds what was started.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from stampede.errors import InputError
from stampede.procs import Proc

STATE_FILE = "stack.json"
#: Every component in start order (``down`` stops them in reverse); the proxy is optional.
COMPONENTS = ("redis", "toolbox", "proxy", "agent")
#: What every complete stack has (a stack.json without ``proxy`` is a stack without a proxy).
REQUIRED = ("redis", "toolbox", "agent")
#: Environment variable carried by every process of a stack: ``<state dir>@<started_at>``.
MARKER_ENV = "STAMPEDE_STACK"


def default_state_dir() -> Path:
    """``$STAMPEDE_STATE_DIR`` if set, else ``./.stampede``."""
    return Path(os.environ.get("STAMPEDE_STATE_DIR") or ".stampede")


def state_path(state_dir: str | Path | None) -> Path:
    """The absolute stack.json of ``state_dir`` (default: `default_state_dir`)."""
    return (Path(state_dir or default_state_dir()) / STATE_FILE).absolute()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Component(_Model):
    """What every component records: the process we started and its log."""

    pid: int
    create_time: float
    log: str

    @property
    def proc(self) -> Proc:
        """The process we started, guarded by create_time against PID reuse."""
        return Proc(self.pid, self.create_time, self.log)


class RedisState(Component):
    """The Redis server of the stack.

    ``password``: its ``requirepass`` (random per stack; empty in state files from before it
    had one). ``url`` carries no password (it is shown and recorded); `client_url` does.
    """

    host: str = "127.0.0.1"
    port: int
    url: str
    executable: str
    password: str = Field(default="", repr=False)

    @property
    def client_url(self) -> str:
        """``url`` with the password in it, for a client (the agent's ``AGENT_REDIS_URL``)."""
        if not self.password:
            return self.url
        return self.url.replace("redis://", f"redis://:{quote(self.password, safe='')}@", 1)


class ToolboxState(Component):
    """The toolbox (simulated LLM + tools + fault API), one uvicorn process."""

    port: int
    url: str


class ProxyState(Component):
    """The fault proxy between the agent and the toolbox (``stampede up --proxy``).

    ``admin_token`` is the proxy's own fault API token (not the toolbox's); ``upstreams`` maps
    ``llm`` / ``tool:<name>`` to the base URL each is forwarded to.
    """

    port: int
    url: str
    admin_token: str = Field(repr=False)
    upstreams: dict[str, str] = Field(default_factory=dict)

    @property
    def metrics_url(self) -> str:
        """The proxy's Prometheus endpoint (calls by upstream and result, faults injected)."""
        return f"{self.url}/metrics"


class AgentState(Component):
    """The agent: ``pid`` is the uvicorn master; ``workers`` how many workers it should run."""

    port: int
    url: str
    workers: int
    weakness: str | None = None
    env: dict[str, str] = Field(default_factory=dict, repr=False)


class Draft(_Model):
    """stack.json as written during ``up``: components may still be missing."""

    version: Literal[1] = 1
    started_at: float
    admin_token: str = Field(repr=False)
    redis: RedisState | None = None
    toolbox: ToolboxState | None = None
    proxy: ProxyState | None = None
    agent: AgentState | None = None
    _path: Path = PrivateAttr(default=Path(STATE_FILE))

    @property
    def path(self) -> Path:
        """The stack.json this state was read from or written to."""
        return self._path

    def components(self) -> list[tuple[str, Component]]:
        """``(name, state)`` of the components present, in start order."""
        found: list[tuple[str, Component]] = []
        for name in COMPONENTS:
            comp = getattr(self, name)
            if comp is not None:
                found.append((name, comp))
        return found

    def missing(self) -> list[str]:
        """The required components (`REQUIRED`) not recorded yet."""
        return [name for name in REQUIRED if getattr(self, name) is None]

    def stack_marker(self) -> str:
        """Value of `MARKER_ENV` in the environment of every process of this stack."""
        return f"{self.path.parent.resolve()}@{self.started_at!r}"


class StackState(Draft):
    """A complete stack.json: every required component was started (what ``up`` returns).

    ``proxy`` is None for a stack without the fault proxy (and for state files written before
    it existed).
    """

    redis: RedisState
    toolbox: ToolboxState
    agent: AgentState


def _with_path(model: Draft, path: Path) -> None:
    model._path = path


def _problem(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: no local stack state (run `stampede up`)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from exc


def read_draft(path: Path) -> Draft:
    """stack.json, complete or not. InputError naming the file and the problem."""
    try:
        draft = Draft.model_validate(_read_json(path))
    except ValidationError as exc:
        raise InputError(f"{path}: malformed stack state: {_problem(exc)}") from exc
    _with_path(draft, path)
    return draft


def read_state(path: Path) -> StackState:
    """A complete stack.json. InputError naming the file and the problem."""
    draft = read_draft(path)
    missing = draft.missing()
    if missing:
        raise InputError(
            f"{path}: incomplete stack state, no {', '.join(missing)} "
            "(an `up` failed or is still running)"
        )
    state = StackState.model_validate(draft.model_dump())
    _with_path(state, path)
    return state


def write(draft: Draft, path: Path) -> None:
    """Write ``draft`` to ``path`` atomically (temporary file + rename)."""
    data: dict[str, Any] = {
        "version": draft.version,
        "started_at": draft.started_at,
        "admin_token": draft.admin_token,
    }
    for name, comp in draft.components():
        fields = comp.model_dump()
        fields["log"] = fields.pop("log")  # last, as in docs/contracts.md
        data[name] = fields
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".stack-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _with_path(draft, path)


def load_state(path: str | Path | None = None) -> StackState:
    """Read a complete stack.json (default ``$STAMPEDE_STACK_STATE``, else the default state dir).

    Raises InputError naming the file and the problem when it is missing, not JSON, malformed
    or incomplete (an ``up`` failed or is still running).
    """
    chosen = path or os.environ.get("STAMPEDE_STACK_STATE") or state_path(None)
    return read_state(Path(chosen))


def current(state: StackState) -> StackState:
    """The state as stack.json has it now (another call may have restarted Redis since)."""
    return read_state(state.path) if state.path.exists() else state
