"""The two local stacks of test_locust_stack.py, started once per session, in the background.

Starting a stack takes tens of seconds, mostly imports; conftest.py starts them as soon as
collection ends (when the stack tests are selected), so they come up while the other load tests
run, and stops them at session end, whatever happened.
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from stampede import stack

_pool: list[ThreadPoolExecutor] = []
_started: dict[str, tuple[stack.StackConfig, Future[stack.StackState]]] = {}
_base: list[Path] = []


def start_stacks() -> dict[str, tuple[stack.StackConfig, Future[stack.StackState]]]:
    """The real agent and a ``trust_tools`` one (2 workers each), started once, side by side."""
    if not _started:
        base = Path(tempfile.mkdtemp(prefix="stampede-loadtests-"))
        _base.append(base)
        configs = {
            "real": stack.StackConfig(state_dir=base / "real", workers=2),
            "trust_tools": stack.StackConfig(
                state_dir=base / "trust_tools", workers=2, weakness="trust_tools"
            ),
        }
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-up")
        _pool.append(pool)
        for name, config in configs.items():
            _started[name] = (config, pool.submit(stack.up, config))
    return _started


def stop_stacks() -> None:
    """Stop every stack started (an ``up`` still running is waited for first)."""
    for pool in _pool:
        pool.shutdown(wait=True)
    _pool.clear()
    for config, _ in _started.values():
        stack.down(config.state_dir)
    _started.clear()
    for base in _base:
        shutil.rmtree(base, ignore_errors=True)
    _base.clear()
