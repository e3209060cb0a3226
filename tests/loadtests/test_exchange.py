"""``AgentUser.send`` fires the request event itself: Locust's stats and the event must be what
Locust's own ``catch_response`` block gave (the path it replaced, bench/README.md).

exchange_probe.py (its own process: Locust monkey-patches on import) sends every reference case
to the fake agent (every outcome: correct, wrong, degraded, shed, HTTP 500, malformed...) and to
a port nothing listens on (connection refused), once through ``send`` and once through a
``catch_response`` block, each in its own Environment, and prints both.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stampede import procs
from tests.loadtests.fake_agent import EXPECTED
from tests.loadtests.support import REPO, spawn_fake_agent, wait_fake_agent

PROBE = Path(__file__).with_name("exchange_probe.py")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("exchange")
    url, proc = spawn_fake_agent(tmp)
    try:
        wait_fake_agent(url, proc)
        dead = f"http://{procs.LOCALHOST}:{procs.free_port()}"
        done = subprocess.run(
            procs.python_cmd(str(PROBE), url, dead, str(tmp / "probe.json")),
            capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        )  # fmt: skip
    finally:
        procs.stop(proc)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads((tmp / "probe.json").read_text())
    return result


def test_the_request_events_are_catch_responses(probe: dict[str, Any]) -> None:
    new, old = probe["new_events"], probe["old_events"]
    assert [{**e, "length": None} for e in new] == [{**e, "length": None} for e in old]
    assert all(e["length_is_body"] for e in new + old)
    outcomes = {e["outcome"] for e in old}
    assert outcomes == set(EXPECTED.values())  # every outcome went through both paths
    refused = [e for e in old if e["status"] == 0]
    assert refused and all(e["outcome"] == "error" and e["exception"] for e in refused)


@pytest.mark.parametrize("target", ["live", "dead"])
def test_locust_stats_are_the_same(probe: dict[str, Any], target: str) -> None:
    new, old = probe[f"new_stats_{target}"], probe[f"old_stats_{target}"]
    assert new["errors"] == old["errors"]
    assert [e[:2] for e in new["entries"].values()] == [e[:2] for e in old["entries"].values()]
    assert new["entries"].keys() == old["entries"].keys()
    for kind, stats in (("new", new), ("old", old)):  # content length: the bodies' lengths
        events = [e for e in probe[f"{kind}_events"] if (e["status"] == 0) == (target == "dead")]
        assert sum(length for _, _, length in stats["entries"].values()) == sum(
            e["length"] for e in events
        )
    requests = sum(n for n, _, _ in old["entries"].values())
    failures = sum(f for _, f, _ in old["entries"].values())
    assert requests == 16 and failures > 0  # 16 reference cases; wrong and error fail
    assert old["errors"]  # each failure's reason, as Locust's stats keep it
    if target == "live":
        assert failures < requests
        assert all(length > 0 for _, _, length in old["entries"].values())
