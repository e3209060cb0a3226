"""`stampede --help` and one-line bad-input errors stay fast: heavy libraries load in commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "plotly", "locust", "langgraph", "fastapi", "aiohttp", "kubernetes")


def test_importing_the_stampede_cli_loads_no_heavy_library() -> None:
    """The CLI module imports none of pandas, plotly, Locust, LangGraph, FastAPI, aiohttp."""
    code = f"import sys, stampede.cli; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
