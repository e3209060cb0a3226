"""The LangGraph checkpointer every worker shares: SQLite (WAL) by default, PostgreSQL on kind.

``AGENT_CHECKPOINT_BACKEND=sqlite`` (default): ``langgraph-checkpoint-sqlite``'s
``AsyncSqliteSaver`` on one file (``AGENT_CHECKPOINT_PATH``; the local stack puts it in its
state dir). The saver turns WAL on, so the uvicorn workers of one host read while one writes;
``busy_timeout`` makes a writer wait for another instead of failing. ``postgres``:
``langgraph-checkpoint-postgres``'s ``AsyncPostgresSaver`` on ``AGENT_CHECKPOINT_POSTGRES_DSN``
(the StatefulSet in k8s/base/postgres.yaml), shared by every pod.

Checkpoints hold the graph state, verifier dataclasses included: the serializer is told which
of our types it may rebuild, so nothing else is deserialized from the store.
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from target_agent.agent.settings import Settings

BUSY_TIMEOUT_S = 10.0
SETUP_LOCK = 0x5354414D  # pg_advisory_lock key of the checkpoint schema set-up
ALLOWED_TYPES = [
    ("target_agent.agent.verifier", "Claim"),
    ("target_agent.agent.verifier", "Verdict"),
]


def checkpoint_path(settings: Settings) -> Path:
    """Where the SQLite checkpoints live (``AGENT_CHECKPOINT_PATH``, else under the tmp dir)."""
    if settings.checkpoint_path:
        return Path(settings.checkpoint_path)
    return Path(tempfile.gettempdir()) / "stampede-agent" / "checkpoints.sqlite"


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=ALLOWED_TYPES)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """The configured checkpointer, set up (tables created) and closed on exit."""
    if settings.checkpoint_backend == "postgres":
        # lazy: langgraph-checkpoint-postgres (psycopg + libpq) is only installed where a
        # PostgreSQL server is used (the kind image); SQLite needs nothing extra.
        module = importlib.import_module("langgraph.checkpoint.postgres.aio")
        saver_cls = module.AsyncPostgresSaver
        psycopg = importlib.import_module("psycopg")
        dsn = settings.checkpoint_postgres_dsn
        async with saver_cls.from_conn_string(dsn, serde=serializer()) as saver:
            # Every worker of every pod sets up at start; concurrent CREATE TABLE IF NOT EXISTS
            # and migrations collide in PostgreSQL's catalogue (measured here: a unique
            # violation, then a deadlock, each failing a worker's start). An advisory lock
            # makes them take turns; closing its connection releases it.
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as lock:
                await lock.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
                await saver.setup()
            yield saver
        return
    path = checkpoint_path(settings)
    os.makedirs(path.parent, exist_ok=True)
    async with aiosqlite.connect(str(path), timeout=BUSY_TIMEOUT_S) as conn:
        saver = AsyncSqliteSaver(conn, serde=serializer())
        async with _setup_turn(path):
            await saver.setup()
        yield saver


@asynccontextmanager
async def _setup_turn(path: Path) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``<path>.setup-lock`` while one worker sets the file up.

    The workers of a host start together; two running the saver's set-up script at once (WAL
    switch + CREATE TABLE) made one fail with "database is locked" at start-up (measured: a
    detection run lost its stack to it), whatever the busy timeout. As with PostgreSQL's
    advisory lock above, they take turns. ``fcntl.flock`` (stdlib, released when the file is
    closed, so also when a worker dies) rather than a lock library: the agent image installs
    only what it needs, and this is the one lock.
    """
    with open(f"{path}.setup-lock", "a+b") as handle:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
