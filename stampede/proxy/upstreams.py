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
from urllib.parse import unquote

import httpx
from yarl import URL

from stampede.proxy.config import LLM, TOOL_PREFIX

LLM_PREFIX = "/llm"
TOOLS_PREFIX = "/tools/"


class RouteError(Exception):
    """A request the proxy does not forward; ``status`` is what the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Upstream:
    """One configured upstream: its fault target (``llm``, ``tool:<name>``) and base URL.

    Everything a call needs is computed here once (the hot path only joins strings).
    """

    __slots__ = ("_origin", "_prefix", "base", "host_header", "is_llm", "target")

    def __init__(self, target: str, base: str) -> None:
        parsed = httpx.URL(base)  # validated by the configuration already
        self.target = target
        self.base = base
        self.is_llm = target == LLM
        #: The ``Host`` header the upstream gets (host[:port] as configured).
        self.host_header = parsed.netloc.decode("ascii")
        base_path = parsed.raw_path.split(b"?")[0].rstrip(b"/").decode("ascii")
        self._prefix = f"{parsed.scheme}://{self.host_header}{base_path}"
        self._origin = _origin(URL(self._prefix + "/", encoded=True))

    def __repr__(self) -> str:
        return f"Upstream({self.target!r}, {self.base!r})"

    def url(self, rest: str, query: bytes) -> URL:
        """The upstream URL for ``rest`` (the raw path after the route prefix) and ``query``."""
        # Only a path with '.' or '%' can have a segment '.' or '..' (or %2e%2e): check those.
        if ("." in rest or "%" in rest) and any(
            unquote(part) in ("..", ".") for part in rest.split("/")
        ):
            raise RouteError(400, f"path segments '.' and '..' are not forwarded ({self.target})")
        if "#" in rest:
            raise RouteError(400, f"a path with '#' is not forwarded ({self.target})")
        raw = f"{self._prefix}/{rest}" if rest or self._prefix.count("/") == 2 else self._prefix
        if query:
            raw += "?" + query.decode("latin-1")
        url = URL(raw, encoded=True)
        if _origin(url) != self._origin:
            raise RouteError(400, f"refusing to leave upstream {self.target}")
        return url


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.raw_host, url.port


class Routes:
    """The configured upstreams by target, and the path -> upstream mapping."""

    def __init__(self, upstreams: Mapping[str, str]) -> None:
        self.by_target = {name: Upstream(name, url) for name, url in upstreams.items()}

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
