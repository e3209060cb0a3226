"""The durable-investigation experiments: valid for Chaos Toolkit, faults bounded and cleared.

Offline checks only (the local experiment's kills are exercised with real processes by
tests/target_agent/jobs/test_worker_kill.py; the kind one cannot run on this machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHAOS = str(Path(sys.executable).parent / "chaos")
FILES = ["experiments/local/worker-kill-mid-run.json", "experiments/kind/pod-kill-mid-run.json"]


@pytest.mark.parametrize("path", FILES, ids=["local", "kind"])
def test_valid_and_every_fault_is_bounded_and_cleared(path: str) -> None:
    done = subprocess.run(
        [CHAOS, "--no-version-check", "validate", path],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    exp = json.loads((REPO / path).read_text())
    method = exp["method"]
    assert exp["runtime"]["rollbacks"]["strategy"] == "always"
    fault = next(a for a in method if "latency_ms" in a["provider"].get("arguments", {}))
    assert fault["provider"]["arguments"]["latency_ms"] >= 500  # runs are in flight
    assert 0 < fault["provider"]["arguments"]["ttl_s"] <= 120
    last = method[-1]["provider"]
    assert last.get("func") == "clear_fault" or last.get("method") == "DELETE"
    kills = [a for a in method if "kill" in a["name"]]
    assert len(kills) >= 2  # repeatedly
    assert any("clear" in a["name"] for a in exp["rollbacks"])


def test_local_kills_sigkill_the_holder_one_at_a_time_and_wait_for_its_replacement() -> None:
    method = json.loads((REPO / FILES[0]).read_text())["method"]
    names = [a["provider"].get("func") for a in method]
    kills = [i for i, f in enumerate(names) if f == "kill_job_holder"]
    assert len(kills) == 3 and "kill_agent_worker" not in names  # never a random worker
    for i in kills:
        assert method[i]["provider"]["arguments"] == {"signal": "SIGKILL", "wait_s": 10}
        assert names[i + 1] == "all_workers_replaced_within"
