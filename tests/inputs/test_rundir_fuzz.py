"""Property: a run directory with any run.json, requests.csv or SLO text loads or exits 2.

Through ``reports.load.load`` (the one reader of run directories) and through the real
``stampede gate`` entry point in-process (``stampede.cli.main``): exit 0, 1 or 2, one line on
stderr for 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reports.load import load
from stampede.cli import main
from stampede.errors import InputError
from tests.inputs.strategies import BOUNDED, hostile_yaml, json_values, mutated, soup
from tests.reports.rundir import REQUEST_COLUMNS, T0, Exp, journal, req, write_run

REPO = Path(__file__).resolve().parents[2]
SLO = (REPO / "slo.yaml").read_text()

#: Cells that look like numbers, or nearly: what a torn or hostile requests.csv holds.
_CELLS = st.sampled_from(
    ["", "0", "1", "-1", "-5", "200", "700", "599.5", "1e309", "-1e309", "inf", "-inf", "nan",
     "NaN", "Infinity", " 5 ", "0x10", "1_000", "1e-400", str(T0), str(T0 + 86_400), "correct",
     "shed", "exp", "a,b", 'a"b', "\n"]
)  # fmt: skip


def _run_dir(tmp: Path) -> Path:
    method = [("fault", T0 + 5, T0 + 10)]
    exp = Exp("exp", T0, T0 + 20, journal(T0, T0 + 20, method))
    return write_run(tmp / "run", [exp], [req(T0 + i) for i in range(20)])


def _loads_or_refuses(run_dir: Path) -> None:
    try:
        load(run_dir)
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)


@BOUNDED
@given(
    st.one_of(
        soup,
        json_values.map(json.dumps),
        mutated(json.dumps({"run_id": "r", "started_at": T0, "ended_at": T0 + 20})),
        st.integers(0, 30_000).map(lambda n: '{"experiments": ' + "[" * n + "]" * n + "}"),
    )
)
def test_any_run_json_loads_or_is_refused(text: str) -> None:
    # run.json `null` is pinned by test_a_null_run_json_exits_2 (a known failure until then)
    assume(not _is_null(text))
    with tempfile.TemporaryDirectory(prefix="pt-I-") as tmp:
        run_dir = _run_dir(Path(tmp))
        (run_dir / "run.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        _loads_or_refuses(run_dir)


def _is_null(text: str) -> bool:
    try:
        return json.loads(text) is None
    except (ValueError, RecursionError):
        return False


def test_a_null_run_json_exits_2(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    (run_dir / "run.json").write_text("null")
    with pytest.raises(InputError, match="expected a JSON object"):
        load(run_dir)


@BOUNDED
@given(st.lists(st.lists(_CELLS, min_size=len(REQUEST_COLUMNS), max_size=len(REQUEST_COLUMNS))))
def test_any_requests_csv_loads_or_is_refused(rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory(prefix="pt-I-") as tmp:
        run_dir = _run_dir(Path(tmp))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(REQUEST_COLUMNS)
        writer.writerows(rows)
        (run_dir / "requests.csv").write_text(out.getvalue(), encoding="utf-8")
        _loads_or_refuses(run_dir)


@BOUNDED
@given(hostile_yaml(SLO))
def test_stampede_gate_exits_0_1_or_2_for_any_slo_text(text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pt-I-") as tmp:
        run_dir = _run_dir(Path(tmp))
        slo = Path(tmp) / "slo.yaml"
        slo.write_text(text, encoding="utf-8", errors="surrogatepass")
        code, err = _cli(["gate", str(run_dir), "--slo", str(slo)])
        assert code in (0, 1, 2), err
        if code == 2:
            assert err.startswith("stampede: error: ") and err.count("\n") == 1, err


def _cli(args: list[str]) -> tuple[int, str]:
    """``stampede ARGS`` in this process: (exit code, stderr); anything else raised escapes."""
    err = io.StringIO()
    argv = sys.argv
    sys.argv = ["stampede", *args]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
    return (code if isinstance(code, int) else 1), err.getvalue()
