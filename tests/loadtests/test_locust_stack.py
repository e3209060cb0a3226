"""Locust (a real subprocess) against the real local stack, with a fault injected.

``hallucinate`` makes the simulated LLM name an unsupported root cause: an agent started with
the ``trust_tools`` weakness repeats it (``wrong``, a Locust failure "root cause 'x' != expected
'y'"); the real agent's verifier refuses it (``degraded``, never ``wrong``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from stampede.stack import StackState
from tests.loadtests.stacks import start_stacks
from tests.loadtests.support import LocustRun, run_locusts

pytestmark = pytest.mark.timeout(240)
INVESTIGATE = "POST /investigate"


@pytest.fixture(scope="module")
def stacks() -> dict[str, StackState]:
    """The stacks started by conftest.py after collection (stopped at session end)."""
    return {name: future.result(timeout=180) for name, (_, future) in start_stacks().items()}


def hallucinate(state: StackState, ttl_s: int = 60) -> None:
    response = httpx.put(
        f"{state.toolbox.url}/faults/llm",
        json={"hallucinate": True, "ttl_s": ttl_s},
        headers={"Authorization": f"Bearer {state.admin_token}"},
        timeout=5,
        trust_env=False,
    )
    response.raise_for_status()


def outcomes(run: LocustRun, name: str = INVESTIGATE) -> Counter[str]:
    return Counter(r["outcome"] for r in run.rows() if r["name"] == name)


def test_hallucination_is_wrong_for_trust_tools_and_degraded_for_the_real_agent(
    stacks: dict[str, StackState], tmp_path: Path
) -> None:
    for state in stacks.values():
        hallucinate(state)
    load = ["-u", "4", "-r", "4", "-t", "6s", "--stampede-timeout", "20"]
    weak, real = run_locusts(
        [
            (tmp_path / "weak", stacks["trust_tools"].agent.url,
             [*load, "--stampede-experiment", "hallucinate-weak"]),
            (tmp_path / "real", stacks["real"].agent.url,
             [*load, "--stampede-experiment", "hallucinate-real"]),
        ],
        timeout_s=120,
    )  # fmt: skip
    for run in (weak, real):
        run.check_clean()
        requests, failures = run.aggregated()
        rows = run.rows()
        assert len(rows) == requests > 0, run.log[-2000:]
        assert sum(r["outcome"] in ("wrong", "error") for r in rows) == failures

    weak_outcomes = outcomes(weak)
    assert weak_outcomes["wrong"] > 0 and weak_outcomes["correct"] == 0, weak_outcomes
    wrong = [r for r in weak.rows() if r["outcome"] == "wrong"]
    assert all("root cause '" in r["error"] and "' != expected '" in r["error"] for r in wrong)
    assert all(r["tokens"] and int(r["tokens"]) > 0 for r in wrong)
    messages = " ".join(f["Error"] for f in weak.failures())
    assert "root cause '" in messages and "' != expected '" in messages, messages

    real_outcomes = outcomes(real)
    assert real_outcomes["degraded"] > 0 and real_outcomes["wrong"] == 0, real_outcomes
    assert {r["experiment"] for r in real.rows()} == {"hallucinate-real"}
