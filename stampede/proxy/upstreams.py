"""Routing: which configured upstream a request path goes to, and the URL it becomes.

Routes (the agent is pointed at the proxy by its own configuration)::

    /llm/<rest>               -> <llm URL>/<rest>            e.g. OPENAI_BASE_URL=http://proxy/llm
    /tools/<name>[/<rest>]    -> <tool:<name> URL>[/<rest>]  e.g. a tool base URL http://proxy

So with ``llm=http://up:8100/v1``, ``POST /llm/chat/completions`` goes to
``http://up:8100/v1/chat/completions``; with ``tool:get_logs=http://up:8100/tools/get_logs``,
``POST /tools/get_logs`` goes to ``http://up:8100/tools/get_logs`` (the reference agent, whose
tool client posts to ``{toolbox_url}/tools/<name>``, needs only ``toolbox_url=http://proxy``).

Only configured upstreams are reachable: the scheme, host and port of every forwarded URL are
those of the configuration (a path can neither name another host nor climb out of the base
path with ``..``); anything else is refused with ``RouteError`` (404 or 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from stampede.proxy.config import LLM, TOOL_PREFIX

LLM_PREFIX = "/llm"
TOOLS_PREFIX = "/tools/"


class RouteError(Exception):
    """A request the proxy does not forward; ``status`` is what the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upstream:
    """One configured upstream: its fault target (``llm``, ``tool:<name>``) and base URL."""

    target: str
    base: httpx.URL

    @property
    def is_llm(self) -> bool:
        return self.target == LLM

    def url(self, rest: str, query: bytes) -> httpx.URL:
        """The upstream URL for ``rest`` (the raw path after the route prefix) and ``query``."""
        segments = [unquote(part) for part in rest.split("/")]
        if any(part in ("..", ".") for part in segments):
            raise RouteError(400, f"path segments '.' and '..' are not forwarded ({self.target})")
        base_path = self.base.raw_path.split(b"?")[0].rstrip(b"/")
        raw = base_path + (b"/" + rest.encode() if rest else b"")
        if query:
            raw += b"?" + query
        url = self.base.copy_with(raw_path=raw or b"/")
        if (url.scheme, url.host, url.port) != (self.base.scheme, self.base.host, self.base.port):
            raise RouteError(400, f"refusing to leave upstream {self.target}")
        return url


class Routes:
    """The configured upstreams by target, and the path -> upstream mapping."""

    def __init__(self, upstreams: Mapping[str, str]) -> None:
        self.by_target = {name: Upstream(name, httpx.URL(url)) for name, url in upstreams.items()}

    @property
    def tool_targets(self) -> tuple[str, ...]:
        return tuple(t for t in self.by_target if t.startswith(TOOL_PREFIX))

    def _known(self) -> str:
        return ", ".join(self.by_target) or "none"

    def _get(self, target: str) -> Upstream:
        upstream = self.by_target.get(target)
        if upstream is None:
            raise RouteError(404, f"no upstream {target} configured (configured: {self._known()})")
        return upstream

    def resolve(self, raw_path: str) -> tuple[Upstream, str] | None:
        """(upstream, rest of the path) for a proxied path, None for a path we do not route."""
        if raw_path == LLM_PREFIX or raw_path.startswith(LLM_PREFIX + "/"):
            return self._get(LLM), raw_path[len(LLM_PREFIX) :].lstrip("/")
        if raw_path.startswith(TOOLS_PREFIX):
            name, _, rest = raw_path[len(TOOLS_PREFIX) :].partition("/")
            return self._get(f"{TOOL_PREFIX}{unquote(name)}"), rest
        return None
