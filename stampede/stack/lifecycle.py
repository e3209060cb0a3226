"""Bringing the whole stack up (or keeping a running one) and down again."""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from pathlib import Path

from stampede.errors import HarnessError
from stampede.stack import components, health
from stampede.stack.config import StackConfig
from stampede.stack.lock import locked
from stampede.stack.state import (
    COMPONENTS,
    Component,
    Draft,
    StackState,
    read_draft,
    read_state,
    state_path,
    write,
)
from stampede.stack.stopping import stop_all

logger = logging.getLogger(__name__)


def _fresh_dirs(state_dir: Path) -> Path:
    """Empty logs (one per component) and an empty Prometheus multiprocess dir (returned)."""
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for name in COMPONENTS:
        (logs / f"{name}.log").write_bytes(b"")
    for stale in state_dir.glob(f"{components.CHECKPOINTS}*"):  # the database, -wal and -shm
        stale.unlink()
    prom_dir = state_dir / "prometheus"
    shutil.rmtree(prom_dir, ignore_errors=True)
    prom_dir.mkdir(parents=True)
    return prom_dir


def _record(draft: Draft, path: Path, name: str, comp: Component) -> Draft:
    """``draft`` with ``comp`` as component ``name``, written to stack.json at once."""
    draft = draft.model_copy(update={name: comp})
    write(draft, path)
    return draft


def _spawn_all(config: StackConfig, draft: Draft, prom_dir: Path) -> Draft:
    """Start Redis (ready), then spawn the toolbox, the proxy (if asked) and the agent."""
    path = draft.path
    port = components.pick_port("redis", config.redis_port)
    redis = components.start_redis(draft, port, config.ready_timeout_s)
    draft = _record(draft, path, "redis", redis)
    logger.info("redis   pid %d on %s", redis.pid, redis.url)

    port = components.pick_port("toolbox", config.toolbox_port)
    toolbox = components.spawn_toolbox(draft, port, config)
    draft = _record(draft, path, "toolbox", toolbox)
    logger.info("toolbox pid %d on %s", toolbox.pid, toolbox.url)

    proxy = None
    if config.proxy:
        port = components.pick_port("proxy", config.proxy_port)
        proxy = components.spawn_proxy(draft, port, config, toolbox)
        draft = _record(draft, path, "proxy", proxy)
        logger.info("proxy   pid %d on %s", proxy.pid, proxy.url)

    env = components.agent_env(config, redis, toolbox, prom_dir, proxy)
    agent = components.spawn_agent(draft, config, env)
    draft = _record(draft, path, "agent", agent)
    logger.info("agent   pid %d on %s (%d workers)", agent.pid, agent.url, agent.workers)
    return draft


def _start(config: StackConfig, path: Path) -> StackState:
    """Start every component, recording each in stack.json as soon as it runs; wait for all."""
    prom_dir = _fresh_dirs(path.parent)
    draft = Draft(started_at=time.time(), admin_token=secrets.token_urlsafe(24))
    write(draft, path)
    try:
        draft = _spawn_all(config, draft, prom_dir)
        health.wait(draft, config.ready_timeout_s, starting=True)
    except BaseException:
        logger.info("start-up failed: stopping what was started")
        # stack.json has every component recorded so far (`_spawn_all` writes each at once).
        stop_all(read_draft(path) if path.exists() else draft, drain_timeout_s=5.0)
        path.unlink(missing_ok=True)
        raise
    return read_state(path)


def _differences(state: StackState, config: StackConfig) -> list[str]:
    """What ``config`` asks for that the running stack does not have."""
    diffs = []
    if (state.proxy is not None) != config.proxy:
        runs = "a fault proxy" if state.proxy is not None else "no fault proxy"
        diffs.append(f"{runs} (asked proxy={config.proxy})")
    if state.agent.workers != config.workers:
        diffs.append(f"workers {state.agent.workers} (asked {config.workers})")
    if (state.agent.weakness or None) != (config.weakness or None):
        diffs.append(f"weakness {state.agent.weakness} (asked {config.weakness})")
    for name, have, want in (
        ("agent port", state.agent.port, config.agent_port),
        ("toolbox port", state.toolbox.port, config.toolbox_port),
        ("redis port", state.redis.port, config.redis_port),
        ("proxy port", state.proxy.port if state.proxy else 0, config.proxy_port),
    ):
        if want and have != want:
            diffs.append(f"{name} {have} (asked {want})")
    diffs += [
        f"env {key}" for key, value in config.env.items() if state.agent.env.get(key) != value
    ]
    return diffs


def _keep(state: StackState, config: StackConfig) -> StackState:
    """Every process of the recorded stack runs: wait until it serves, and say what differs."""
    try:
        health.wait(state, config.ready_timeout_s)
    except HarnessError as exc:
        raise HarnessError(
            f"{exc}\nThe stack in {state.path.parent} runs but does not get ready; "
            "`stampede up --restart` replaces it."
        ) from exc
    logger.info("stack already running (%s): keeping it", state.path)
    diffs = _differences(state, config)
    if diffs:
        logger.warning("the running stack differs: %s; use --restart to apply", "; ".join(diffs))
    return state


def up(config: StackConfig) -> StackState:
    """Start Redis, the toolbox, the fault proxy (if asked) and the agent; wait until all serve.

    Idempotent: when every process of the stack recorded in the state dir still runs, it is kept
    (``up`` waits until it serves and returns it) unless ``config.restart``; a stale or
    half-dead one (some process gone) is stopped and replaced. If a process dies during
    start-up, everything started is stopped and HarnessError carries the tail of its log.
    InputError for a bad config.
    """
    config.validate()
    path = state_path(config.state_dir)  # absolute: logs and dirs in stack.json work anywhere
    with locked(path.parent):
        if path.exists():
            draft = read_draft(path)
            alive = not draft.missing() and all(comp.proc.alive() for _, comp in draft.components())
            if alive and not config.restart:
                return _keep(read_state(path), config)
            why = "restart requested" if alive else "stale state (some processes are gone)"
            logger.info("%s: stopping what is left of the stack in %s", why, path.parent)
            stop_all(draft)
            path.unlink(missing_ok=True)
        return _start(config, path)


def down(state_dir: str | Path | None = None, drain_timeout_s: float | None = None) -> None:
    """Stop everything the stack started and remove stack.json; a no-op when nothing runs.

    Works after a crash or with a stale state file: dead PIDs are skipped, a PID now used by
    another process (different create_time) is never signalled. The agent gets SIGTERM first and
    up to ``drain_timeout_s`` to drain before SIGKILL (default: its graceful shutdown plus its
    flush, `stampede.stack.shutdown`). InputError if stack.json is malformed.
    """
    path = state_path(state_dir)
    with locked(path.parent):
        if not path.exists():
            logger.info("no local stack at %s: nothing to stop", path)
            return
        stop_all(read_draft(path), drain_timeout_s)
        path.unlink(missing_ok=True)
