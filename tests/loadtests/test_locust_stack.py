"""Locust (a real subprocess) against the real local stack, with a fault injected.

``hallucinate`` makes the simulated LLM name an unsupported root cause: an agent started with
the ``trust_tools`` weakness repeats it (``wrong``, a Locust failure "root cause 'x' != expected
'y'"); the real agent's verifier refuses it (``degraded``, never ``wrong``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from stampede import stack
from stampede.stack import StackState
from tests.loadtests.support import LocustRun, run_locusts

pytestmark = pytest.mark.timeout(240)
INVESTIGATE = "POST /investigate"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, StackState]]:
    """The real agent and a ``trust_tools`` one (2 workers each), started side by side."""
    base = tmp_path_factory.mktemp("stacks")
    configs = {
        "real": stack.StackConfig(state_dir=base / "real", workers=2),
        "trust_tools": stack.StackConfig(
            state_dir=base / "trust_tools", workers=2, weakness="trust_tools"
        ),
    }
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(stack.up, config) for name, config in configs.items()}
            states = {name: future.result() for name, future in futures.items()}
        yield states
    finally:
        for config in configs.values():
            stack.down(config.state_dir)


def hallucinate(state: StackState, ttl_s: int = 60) -> None:
    response = httpx.put(
        f"{state.toolbox.url}/faults/llm",
        json={"hallucinate": True, "ttl_s": ttl_s},
        headers={"Authorization": f"Bearer {state.admin_token}"},
        timeout=5,
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
