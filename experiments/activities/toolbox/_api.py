"""The fault APIs the activities talk to, where each fault goes, and their errors as ActivityFailed.

Two kinds of fault:

* **transport and content faults** (latency, errors, hang, rate limits, corrupt bodies, JSON
  rules, LLM rewrites, stream faults): any fault API applies them, the toolbox's or a fault
  proxy's;
* **world faults** (`WORLD_FIELDS`: ``lie``, ``hallucinate``): only the toolbox can apply them,
  since its answer key decides per incident what a plausible lie is. A proxy cannot know the
  truth and refuses them with 422.

Where a fault goes (`apis`), first found:

1. the stack of an explicit ``state_file`` argument: its toolbox;
2. ``$STAMPEDE_FAULT_API_URL`` with ``$STAMPEDE_FAULT_API_TOKEN`` (the suite's targets set them:
   the fault proxy's when the target has one, else the toolbox's), so one experiment works
   against the toolbox, a proxy in front of the reference agent, or anyone's agent's proxy;
3. the stack found as every local activity finds it (``_local.state_path``): its toolbox.

A spec with a world field goes whole to the toolbox of the stack when there is one: with (2),
when the URL is the fault proxy of the stack found as in (3) (``stack.json``'s ``proxy``), the
world fault goes to that stack's toolbox behind it. With no such stack it goes to the URL, and a
refusal there says what to use instead (`world_fault_refused`).

Clearing and listing act on every fault API of the stack (its toolbox and its proxy) when there
is one, else on the URL's alone. Every URL must be on 127.0.0.1/localhost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from chaoslib.exceptions import ActivityFailed

from experiments.activities import _local
from faults.client import FaultApiError, FaultClient
from faults.model import FaultSpec
from stampede.stack import StackState

TIMEOUT_S = 5.0
URL_ENV = "STAMPEDE_FAULT_API_URL"
TOKEN_ENV = "STAMPEDE_FAULT_API_TOKEN"
#: Spec fields only the toolbox can apply (its answer key knows the truth of each incident).
WORLD_FIELDS: tuple[str, ...] = ("lie", "hallucinate")
#: What to use through a fault proxy instead of a world fault.
INSTEAD = "through a proxy use json_rules / llm_content (see docs/proxy.md)"

T = TypeVar("T")


@dataclass(frozen=True)
class FaultApis:
    """Where faults go: ``faults`` takes transport/content faults, ``world`` world faults.

    ``world`` is None when no stack is behind ``faults`` (``no_world`` says why); ``others``
    are the stack's other fault APIs, cleared and listed too.
    """

    faults: FaultClient
    world: FaultClient | None
    others: tuple[FaultClient, ...] = ()
    no_world: str = ""

    def every(self) -> list[FaultClient]:
        """Each distinct fault API once: ``faults``, then ``world``, then ``others``."""
        seen: dict[tuple[str, str, int | None], FaultClient] = {}
        for api in (self.faults, self.world, *self.others):
            if api is not None:
                seen.setdefault(_key(api.base_url), api)
        return list(seen.values())


def toolbox_client(state: StackState) -> FaultClient:
    """The fault API client of the stack's toolbox (127.0.0.1 only), with its admin token."""
    url = _local.local_url(state.toolbox.url, "toolbox")
    return FaultClient(url, state.admin_token, timeout_s=TIMEOUT_S)


def proxy_client(state: StackState) -> FaultClient | None:
    """The fault API client of the stack's fault proxy (127.0.0.1 only); None without one."""
    if state.proxy is None:
        return None
    url = _local.local_url(state.proxy.url, "fault proxy")
    return FaultClient(url, state.proxy.admin_token, timeout_s=TIMEOUT_S)


def env_client() -> FaultClient | None:
    """The client of ``$STAMPEDE_FAULT_API_URL`` (127.0.0.1 only) with its token; None if unset."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise ActivityFailed(f"${URL_ENV} is {url!r} but ${TOKEN_ENV} is empty or unset")
    return FaultClient(_local.local_url(url, f"${URL_ENV}"), token, timeout_s=TIMEOUT_S)


def _key(url: str) -> tuple[str, str, int | None]:
    """What makes two fault API URLs the same server (localhost is 127.0.0.1)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme, "127.0.0.1" if host == "localhost" else host, parts.port


def _stack_apis(state: StackState) -> FaultApis:
    """A stack's fault APIs: faults and world faults on its toolbox, its proxy cleared too."""
    toolbox, proxy = toolbox_client(state), proxy_client(state)
    return FaultApis(toolbox, toolbox, () if proxy is None else (proxy,))


def _behind(url_api: FaultClient, configuration: Any) -> FaultApis:
    """``$STAMPEDE_FAULT_API_URL``'s API, with the stack behind it when it is that stack's."""
    path = _local.state_path("", configuration)
    if not path.exists():
        return FaultApis(url_api, None, no_world=f"no local stack state at {path}")
    try:
        state = _local.load("", configuration)
    except ActivityFailed as exc:
        return FaultApis(url_api, None, no_world=str(exc))
    stack = _stack_apis(state)
    if any(_key(api.base_url) == _key(url_api.base_url) for api in stack.every()):
        return FaultApis(url_api, stack.faults, stack.others)
    return FaultApis(
        url_api,
        None,
        no_world=f"${URL_ENV} is neither the toolbox nor the fault proxy of the stack {path}",
    )


def apis(state_file: str = "", configuration: Any = None) -> FaultApis:
    """The fault APIs to act on (see the module docstring for the order)."""
    if not state_file:
        from_env = env_client()
        if from_env is not None:
            return _behind(from_env, configuration)
    return _stack_apis(_local.load(state_file, configuration))


def world_fields(spec: Mapping[str, Any]) -> list[str]:
    """The world fields (`WORLD_FIELDS`) ``spec`` sets to something other than their default."""
    return [name for name in WORLD_FIELDS if spec.get(name, False)]


def world_fault_refused(fields: list[str], exc: FaultApiError, no_world: str) -> str:
    """Why a world fault was refused by a fault API that is not a toolbox, and what instead."""
    what = " / ".join(fields)
    return (
        f"{what} is a toolbox world fault; {INSTEAD}. {exc} (no toolbox to send it to: {no_world})"
    )


def set_fault(
    target: str, spec: Mapping[str, Any], state_file: str = "", configuration: Any = None
) -> dict[str, Any]:
    """Set (replace) the fault on ``target``: world faults on the toolbox, the rest on ``faults``.

    The fault as the fault API stored it, plus ``fault_api`` (the URL it was set on).
    """
    found = apis(state_file, configuration)
    world = world_fields(spec)
    api = found.world if world and found.world is not None else found.faults
    try:
        stored = api.set(target, spec)
    except FaultApiError as exc:
        unsupported = [name for name in world if f"{name} is not supported" in exc.detail]
        if found.world is None and exc.status == 422 and unsupported:
            raise ActivityFailed(world_fault_refused(unsupported, exc, found.no_world)) from exc
        raise ActivityFailed(str(exc)) from exc
    return {**stored, "fault_api": api.base_url}


def _on_every(found: FaultApis, call: Callable[[FaultClient], T]) -> list[tuple[FaultClient, T]]:
    """``call`` on every fault API, all tried; ActivityFailed naming each failure after."""
    done: list[tuple[FaultClient, T]] = []
    failed: list[str] = []
    for api in found.every():
        try:
            done.append((api, call(api)))
        except FaultApiError as exc:
            failed.append(str(exc))
    if failed:
        reached = ", ".join(api.base_url for api, _ in done) or "none"
        raise ActivityFailed(f"{'; '.join(failed)} (done on: {reached})")
    return done


def _union(lists: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(target for found in lists for target in found))


def active_faults(state_file: str = "", configuration: Any = None) -> dict[str, dict[str, Any]]:
    """Target -> fault of every unexpired fault on every fault API, each with its ``fault_api``.

    A target with a fault on two APIs is listed twice: the second as ``<target>@<its URL>``.
    """
    merged: dict[str, dict[str, Any]] = {}
    for api, faults in _on_every(apis(state_file, configuration), FaultClient.active):
        for target, fault in faults.items():
            key = target if target not in merged else f"{target}@{api.base_url}"
            merged[key] = {**fault, "fault_api": api.base_url}
    return merged


def clear_fault(target: str, state_file: str = "", configuration: Any = None) -> list[str]:
    """Clear the fault on ``target`` on every fault API; the targets that had one."""
    found = apis(state_file, configuration)
    return _union([cleared for _, cleared in _on_every(found, lambda api: api.clear(target))])


def clear_all_faults(state_file: str = "", configuration: Any = None) -> list[str]:
    """Clear every fault on every fault API; the targets that had one."""
    found = apis(state_file, configuration)
    return _union([cleared for _, cleared in _on_every(found, FaultClient.clear_all)])


def spec_fields() -> dict[str, Any]:
    """Every field of the fault model with its default (what `inject_fault` takes)."""
    return {name: field.default for name, field in FaultSpec.model_fields.items()}


def spec_body(given: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``given`` that differ from the fault model's defaults, and ``ttl_s``.

    An empty or missing ``json_rules`` (None, ``[]``) counts as the default; a name that is
    not a field of the model is a KeyError (a bug in the caller, not an experiment's).
    """
    defaults = spec_fields()
    body = {}
    for name, value in given.items():
        default = defaults[name]
        if name == "ttl_s" or not (value == default or (name == "json_rules" and not value)):
            body[name] = value
    return body
