"""An alias bomb, a recursive alias and 20,000 levels of nesting: exit 2 in under 2 s, one line.

Through the real entry points (``stampede gate``, ``stampede report``, ``stampede suite
--slo``) in a child process. The bound the issue sets is on the *input*: the time past a run
of the same command that exits 2 at once on a missing SLO file (interpreter and CLI start-up,
which a loaded machine stretches), so start-up under load does not count against it. Each
child runs with 512 MiB of address space (``RLIMIT_AS``): bounded memory, not only time.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reports.slo import parse_slo
from stampede.cases.files import parse_cases
from stampede.errors import InputError
from stampede.yamlinput import load_json, load_yaml
from tests.inputs.strategies import alias_bomb, nested
from tests.reports.rundir import T0, Exp, journal, req, write_run

REPO = Path(__file__).resolve().parents[2]
BOUND_S = 2.0

BOMBS = {
    # 9 levels of 9 aliases: 9**9 = 387 million "lol"s from 300 bytes
    "alias-bomb": (alias_bomb(9, 9), "aliases expand to more than 10000 nodes"),
    "recursive-alias": ("objectives: &a [*a]\n", "alias *a is inside its own anchor"),
    "nested-20000-flow": (nested(20_000), "nested deeper than 100 levels"),
}
#: In-process only (the CLIs read every YAML through the same loader): block-style nesting.
LOADER_BOMBS = {
    **BOMBS,
    "nested-20000-block": ("- " * 20_000 + "x\n", "nested deeper than 100 levels"),
}


def _commands(tmp_path: Path, slo: Path) -> dict[str, list[str]]:
    run = write_run(tmp_path / "run", [Exp("exp", T0, T0 + 10, journal(T0, T0 + 10, []))],
                    [req(T0 + 1)])  # fmt: skip
    suite = ["suite", "--target", "url", "--agent-url", "http://127.0.0.1:9",
             "--locustfile", str(REPO / "loadtests" / "locustfile.py"),
             "--experiments-dir", str(REPO / "experiments"),
             "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    return {
        "gate": ["gate", str(run), "--slo", str(slo)],
        "report": ["report", str(run), "--slo", str(slo)],
        "suite": [*suite, "--slo", str(slo)],
    }


#: Address space of each child: the bombs once ran to gigabytes; refusing them takes little.
MEMORY_BOUND = 512 * 2**20


def _bounded_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))


def _timed(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``stampede ARGS`` in a child with MEMORY_BOUND of address space; (result, seconds)."""
    env = {**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "stampede.cli", *args], capture_output=True, text=True,
        timeout=120, cwd=tmp_path, env=env, preexec_fn=_bounded_memory,
    )  # fmt: skip
    return done, time.monotonic() - started


_STARTUP: dict[str, float] = {}


def _startup(command: str, tmp_path: Path) -> float:
    """Seconds the command takes to exit 2 on a missing SLO file (measured once per command)."""
    if command not in _STARTUP:
        done, took = _timed(_commands(tmp_path, tmp_path / "missing.yaml")[command], tmp_path)
        assert done.returncode == 2 and "missing.yaml" in done.stderr, done.stderr
        _STARTUP[command] = took
    return _STARTUP[command]


@pytest.mark.parametrize("command", ["gate", "report", "suite"])
@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_hostile_slo_file_exits_2_fast_with_one_line(
    tmp_path: Path, command: str, bomb: str
) -> None:
    text, problem = BOMBS[bomb]
    slo = tmp_path / "slo.yaml"
    slo.write_text(text)
    startup = _startup(command, tmp_path)
    done, took = _timed(_commands(tmp_path, slo)[command], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"stampede: error: {slo}:"), done.stderr
    assert problem in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()
    assert took - startup < BOUND_S, f"{took:.2f} s against {startup:.2f} s to exit at once"


@pytest.mark.parametrize("bomb", list(LOADER_BOMBS))
def test_every_yaml_loader_refuses_the_bombs_in_under_2_s(bomb: str) -> None:
    text, problem = LOADER_BOMBS[bomb]
    loaders = [
        lambda: parse_slo(text, "slo.yaml"),
        lambda: parse_cases(text, "cases.yaml", "yaml"),
        lambda: load_yaml(text, "x.yaml"),
    ]
    for loader in loaders:
        started = time.monotonic()
        with pytest.raises(InputError, match=re.escape(problem)):
            loader()
        assert time.monotonic() - started < BOUND_S


def test_20000_levels_of_json_are_refused_in_under_2_s(tmp_path: Path) -> None:
    started = time.monotonic()
    for text in (nested(20_000), '{"a":' * 20_000 + "1" + "}" * 20_000, nested(101)):
        with pytest.raises(InputError, match="nested deeper than 100 levels"):
            load_json(text, "run.json")
    assert time.monotonic() - started < BOUND_S
    assert load_json(nested(100), "run.json") is not None  # exactly the bound: accepted


def test_a_deep_run_json_exits_2_from_gate(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [], [req(T0 + 1)])
    (run / "run.json").write_text('{"experiments": ' + nested(20_000) + "}")
    done, _ = _timed(["gate", str(run), "--slo", str(REPO / "slo.yaml")], tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"{run / 'run.json'}: invalid JSON: nested deeper than 100 levels" in done.stderr
    assert "Traceback" not in done.stderr


def test_aliases_within_the_budget_still_load() -> None:
    text = (
        "objectives:\n"
        "  - {sli: wrong_ratio, op: '==', threshold: 0,\n"
        "     scope: &f {experiment: '*', phase: fault}}\n"
        "  - {sli: error_ratio, op: '<=', threshold: 0.2, scope: *f}\n"
    )
    slo = parse_slo(text, "slo.yaml")
    assert [o.scope.phase for o in slo.objectives[:2]] == ["fault", "fault"]
    data, _ = load_yaml(alias_bomb(3, 9), "x.yaml")  # 9 * 9 * 9 "lol"s: within the budget
    assert sum(len(inner) for middle in data["l3"] for inner in middle) == 729
