"""docs/slo.md and the code stay in step; the CLI stays light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reports.catalogue import SLIS
from reports.slo import OPERATORS

REPO = Path(__file__).resolve().parents[2]


def test_every_sli_and_operator_is_documented() -> None:
    doc = (REPO / "docs" / "slo.md").read_text(encoding="utf-8")
    missing = [name for name in SLIS if f"| `{name}` |" not in doc]
    assert missing == []
    for op in OPERATORS:
        assert op in doc


def test_importing_the_cli_does_not_import_pandas_or_plotly() -> None:
    """`stampede --help` and bad-input errors stay fast: heavy imports happen in the commands."""
    code = "import sys, reports.cli; print(sorted({'pandas', 'plotly'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
