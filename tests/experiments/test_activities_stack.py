"""The activities against a real local stack: they act on it, and only on it.

Killing a worker for real is covered by the replica-kill experiment run
(test_local_experiments.py), which checks the journal's PIDs against the stack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from chaoslib.exceptions import ActivityFailed

from experiments.activities.process.actions import (
    kill_agent_worker,
    kill_job_holder,
    restart_agent_workers,
)
from experiments.activities.process.probes import (
    agent_is_ready,
    agent_workers_alive,
    all_workers_replaced_within,
)
from experiments.activities.redis.actions import (
    debug_sleep,
    pause_redis,
    start_redis,
    unpause_redis,
)
from experiments.activities.redis.probes import redis_answers_ping
from experiments.activities.slo.actions import observe_for
from experiments.activities.slo.probes import investigations_meet_slo
from experiments.activities.toolbox.actions import clear_all_faults, clear_fault, inject_fault
from experiments.activities.toolbox.probes import no_fault_active
from stampede.stack import agent_worker_pids, load_state
from target_agent.toolbox.catalogue import catalogue
from tests.experiments.conftest import active_faults, state_of


@pytest.fixture
def stack(real_stack: Path) -> Iterator[str]:
    """The real stack's state file; afterwards no fault is left and every worker is back."""
    yield str(real_stack)
    clear_all_faults(state_file=str(real_stack))
    assert all_workers_replaced_within(timeout_s=60, state_file=str(real_stack))


def test_inject_then_clear_a_fault_round_trips(stack: str) -> None:
    fault = inject_fault("tool:get_logs", latency_ms=300, ttl_s=30, state_file=stack)
    assert fault["latency_ms"] == 300 and fault["expires_at"] > time.time()
    assert set(active_faults(Path(stack))) == {"tool:get_logs"}
    assert no_fault_active(state_file=stack) is False
    assert clear_fault("tool:get_logs", state_file=stack) == {"cleared": ["tool:get_logs"]}
    assert clear_fault("tool:get_logs", state_file=stack) == {"cleared": []}  # idempotent
    assert active_faults(Path(stack)) == {}


def test_a_fault_the_toolbox_refuses_fails_with_its_reason(stack: str) -> None:
    with pytest.raises(ActivityFailed, match=r"expected HTTP 200, got 422: .*hallucinate"):
        inject_fault("tool:get_logs", hallucinate=True, ttl_s=5, state_file=stack)
    with pytest.raises(ActivityFailed, match="got 404"):
        inject_fault("tool:no_such_tool", ttl_s=5, state_file=stack)


def test_a_fault_expires_on_its_own_without_a_rollback(stack: str) -> None:
    """An aborted experiment cannot leave a fault behind: ttl_s bounds every fault."""
    inject_fault("llm", error_rate=1.0, ttl_s=2, state_file=stack)
    assert "llm" in active_faults(Path(stack))
    deadline = time.monotonic() + 8
    while active_faults(Path(stack)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert active_faults(Path(stack)) == {}


def test_kill_refuses_a_state_file_whose_agent_is_not_ours(stack: str, tmp_path: Path) -> None:
    """Same PID, other create_time (a recycled PID): nothing is signalled."""
    state = load_state(stack)
    before = sorted(agent_worker_pids(state))
    forged = state_of(Path(stack))
    forged["agent"]["create_time"] += 1000.0
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(forged))
    with pytest.raises(ActivityFailed, match="not the process this stack started"):
        kill_agent_worker(state_file=str(path))
    with pytest.raises(ActivityFailed, match="not the process this stack started"):
        restart_agent_workers(state_file=str(path))
    forged["agent"]["pid"] = 2**22 + 7  # above pid_max: never a live process
    path.write_text(json.dumps(forged))
    with pytest.raises(ActivityFailed, match="is not running"):
        kill_agent_worker(state_file=str(path))
    assert sorted(agent_worker_pids(state)) == before


def test_kill_refuses_more_workers_than_are_alive(stack: str) -> None:
    alive = agent_workers_alive(state_file=stack)
    with pytest.raises(ActivityFailed, match=f"expected 1..{alive}, {alive} alive"):
        kill_agent_worker(count=alive + 1, state_file=stack)


def test_redis_brownout_pauses_clients_then_ends(stack: str) -> None:
    assert redis_answers_ping(state_file=stack) is True
    pause_redis(ms=1500, state_file=stack)
    assert redis_answers_ping(timeout_s=0.3, state_file=stack) is False
    unpause_redis(timeout_s=5, state_file=stack)  # ends it, or waits it out on Redis 6.2
    assert redis_answers_ping(state_file=stack) is True
    assert start_redis(state_file=stack)["already_running"] is True  # idempotent


def test_redis_debug_sleep_freezes_the_server_for_the_time_asked(stack: str) -> None:
    assert debug_sleep(seconds=0.3, state_file=stack)["slept_s"] >= 0.3
    assert redis_answers_ping(state_file=stack) is True


def test_slo_window_and_observation_judge_real_investigations(stack: str) -> None:
    assert agent_is_ready(state_file=stack) is True
    window = investigations_meet_slo(requests=6, concurrency=2, state_file=stack)
    assert window["met"] is True, window
    assert window["requests"] == 6 and window["correct"] == 6 and window["breaches"] == 0
    seen = observe_for(seconds=2, rate_per_s=4, state_file=stack)
    assert seen["requests"] >= 3 and seen["wrong"] == 0
    assert seen["ready_ratio"] == 1.0 and seen["ready_samples"] >= 3


def test_kill_job_holder_kills_the_worker_running_durable_jobs(stack: str) -> None:
    """Jobs in flight (LLM 2 s): the worker the consumer group says holds most of them dies."""
    state = load_state(stack)
    with pytest.raises(ActivityFailed, match="nothing in flight to interrupt"):
        kill_job_holder(wait_s=0.5, state_file=stack)  # idle: nobody holds a job
    inject_fault("llm", latency_ms=2000, ttl_s=30, state_file=stack)
    with httpx.Client(base_url=state.agent.url, timeout=5, trust_env=False) as client:
        for i in range(6):
            alert = {**catalogue()[i % len(catalogue())].alert()}
            response = client.post("/investigations", json=alert)
            assert response.status_code == 202, response.text
    before = set(agent_worker_pids(state))
    done = kill_job_holder(wait_s=10, state_file=stack)
    clear_fault("llm", state_file=stack)
    (pid,) = done["killed"]
    assert pid in before and done["jobs_held"] >= 1
    assert done["jobs_held"] == max(done["held_by_worker"].values())
    assert all(p in before for p in done["held_by_worker"])
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"worker {pid} still alive 10 s after SIGKILL"
        time.sleep(0.1)
