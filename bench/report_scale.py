"""Time ``stampede gate`` and ``stampede report`` on run directories of 100k, 1M and 10M rows.

The run directories are built from a real run directory (default: the reference-agent run of
the proxy detection matrix under runs/, or ``--source``): its run.json, journals and
samples.csv are copied unchanged; requests.csv is resampled to N rows: N rows drawn with
replacement from the source's rows, each keeping its experiment, outcome, latency, tokens and
cost, its ``ts`` moved by a uniform jitter of +-0.5 s and clipped to its experiment's window
(so the phases keep their own rows: fault latencies stay in the fault), written in ``ts``
order like the merger does. A resampled row of a trial group becomes a group of one (attempt
1 of 1, a unique ``trial``): what K = 1 investigations look like, so pass^k is computed over N
groups.

Each command runs as a subprocess (``.venv/bin/stampede``); wall time, CPU time (user + system)
and peak RSS from ``os.wait4`` (that child's own rusage), are printed per size with the report's
size. The gate runs first and parses requests.csv (leaving its Parquet copy, reports/sidecar.py);
the report then reads the copy.
Targets (issue 13): 10M rows <= 30 s and <= 4 GB per command, time(10M) / time(1M) <= 12, the
report <= 6 MB at every size. Exit 0 when every target holds, 1 otherwise.

    .venv/bin/python bench/report_scale.py [--sizes 100000,1000000,10000000] [--work DIR]
        [--source RUN_DIR] [--slo slo.yaml] [--json out.json]

Built directories are kept in ``--work`` (default /tmp/stampede-report-scale) and reused when
their requests.csv has the wanted row count (building 10M rows takes a minute and ~1.6 GB).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO / "runs/detect-proxy/runs/detect-20261201-102648-real"
STAMPEDE = REPO / ".venv/bin/stampede"
LIMIT_S, LIMIT_MB, RATIO, REPORT_MB = 30.0, 4096.0, 12.0, 6.0


def _windows(run: dict[str, Any]) -> dict[str, tuple[float, float]]:
    out = {"": (float(run["started_at"]), float(run["ended_at"]))}
    for exp in run.get("experiments") or []:
        out[exp["name"]] = (float(exp["started_at"]), float(exp["ended_at"]))
    return out


def build(source: Path, target: Path, rows: int, seed: int = 0) -> Path:
    """A copy of ``source`` whose requests.csv holds ``rows`` resampled rows (module doc)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("run.json", "samples.csv"):
        shutil.copy2(source / name, target / name)
    shutil.copytree(source / "chaos", target / "chaos")
    run = json.loads((source / "run.json").read_text())
    table = pacsv.read_csv(
        source / "requests.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in _header(source / "requests.csv")},
            strings_can_be_null=False,
        ),
    )
    rng = np.random.default_rng(seed)
    picked = table.take(pa.array(rng.integers(0, table.num_rows, rows)))
    ts = pc.cast(picked["ts"], pa.float64()).to_numpy() + rng.uniform(-0.5, 0.5, rows)
    windows = _windows(run)
    experiment = picked["experiment"].to_numpy(zero_copy_only=False)
    for name, (start, end) in windows.items():
        mask = experiment == name
        ts[mask] = np.clip(ts[mask], start, end)
    order = np.argsort(ts, kind="stable")
    picked = picked.take(pa.array(order))
    ts = ts[order]
    grouped = pc.not_equal(picked["trial"], "").to_numpy(zero_copy_only=False)
    ids = pc.binary_join_element_wise("r", pc.cast(pa.array(np.arange(rows)), pa.string()), "")
    mask = pa.array(grouped)
    one = pc.if_else(mask, "1", "")
    columns = {
        "ts": _fast_ts(ts),
        "trial": pc.if_else(mask, ids, ""),
        "attempt": one,
        "repeat": one,
    }
    for name, column in columns.items():
        picked = picked.set_column(picked.schema.get_field_index(name), name, column)
    pacsv.write_csv(
        picked,
        target / "requests.csv",
        write_options=pacsv.WriteOptions(quoting_style="needed"),
    )
    return target


def _fast_ts(ts: np.ndarray) -> pa.Array:
    """Epoch seconds as text with 6 decimals, vectorised (np.char.mod is slow at 10M)."""
    micros = np.round(ts * 1e6).astype(np.int64)
    whole = pc.cast(pa.array(micros // 1_000_000), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(micros % 1_000_000), pa.string()), 6, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


def _rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1


def timed(argv: list[str]) -> dict[str, Any]:
    """Run ``argv``; wall seconds, this child's peak RSS (MB, from wait4) and its exit code."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "exit": proc.returncode,
        "stderr": err.decode(errors="replace")[-400:],
        "stdout_tail": out.decode(errors="replace")[-200:],
    }


def measure(run_dir: Path, slo: Path) -> dict[str, Any]:
    """``stampede gate`` (exit 0/1 both fine), then ``stampede report`` (it reads gate.json).

    The Parquet copy of requests.csv (reports/sidecar.py) is removed first: the gate parses the
    CSV (and leaves the copy), the report reads the copy, as in a suite run's two reads.
    """
    shutil.rmtree(run_dir / ".stampede-cache", ignore_errors=True)
    gate = timed([str(STAMPEDE), "gate", str(run_dir), "--slo", str(slo)])
    report = timed([str(STAMPEDE), "report", str(run_dir)])
    size = (run_dir / "report.html").stat().st_size if report["exit"] == 0 else 0
    return {"gate": gate, "report": report, "report_mb": round(size / 1e6, 2)}


def verdicts(results: dict[int, dict[str, Any]]) -> list[str]:
    """Every target that does not hold, in words (empty: all hold)."""
    bad = []
    for rows, r in results.items():
        for cmd in ("gate", "report"):
            if r[cmd]["exit"] not in (0, 1) or (cmd == "report" and r[cmd]["exit"]):
                bad.append(f"{rows} rows: {cmd} exit {r[cmd]['exit']}: {r[cmd]['stderr']}")
            if rows >= 10_000_000 and r[cmd]["s"] > LIMIT_S:
                bad.append(f"{rows} rows: {cmd} took {r[cmd]['s']} s > {LIMIT_S} s")
            if rows >= 10_000_000 and r[cmd]["peak_mb"] > LIMIT_MB:
                bad.append(f"{rows} rows: {cmd} peak {r[cmd]['peak_mb']} MB > {LIMIT_MB} MB")
        if r["report_mb"] > REPORT_MB:
            bad.append(f"{rows} rows: report.html {r['report_mb']} MB > {REPORT_MB} MB")
    if 1_000_000 in results and 10_000_000 in results:
        for cmd in ("gate", "report"):
            ratio = results[10_000_000][cmd]["s"] / results[1_000_000][cmd]["s"]
            if ratio > RATIO:
                bad.append(f"{cmd}: time 10M / 1M = {ratio:.1f} > {RATIO}")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--work", type=Path, default=Path("/tmp/stampede-report-scale"))
    parser.add_argument("--slo", type=Path, default=REPO / "slo.yaml")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.source / "requests.csv").is_file():
        parser.error(f"--source {args.source}: no requests.csv (give a real run directory)")
    results: dict[int, dict[str, Any]] = {}
    for rows in (int(s) for s in args.sizes.split(",")):
        run_dir = args.work / f"rows-{rows}"
        if not (run_dir / "requests.csv").is_file() or _rows(run_dir / "requests.csv") != rows:
            started = time.perf_counter()
            build(args.source, run_dir, rows)
            print(f"built {run_dir} ({rows} rows) in {time.perf_counter() - started:.1f} s")
        results[rows] = r = measure(run_dir, args.slo)
        g, p = r["gate"], r["report"]
        print(
            f"{rows:>10} rows  gate {g['s']:6.2f} s (cpu {g['cpu_s']:6.2f} s)"
            f" {g['peak_mb']:7.1f} MB"
            f" exit {g['exit']}  report {p['s']:6.2f} s (cpu {p['cpu_s']:6.2f} s)"
            f" {p['peak_mb']:7.1f} MB  report.html {r['report_mb']} MB",
            flush=True,
        )
    sizes = sorted(results)
    for a, b in itertools.pairwise(sizes):
        ratio = {c: results[b][c]["s"] / results[a][c]["s"] for c in ("gate", "report")}
        print(f"time {b}/{a} rows: gate {ratio['gate']:.2f}x, report {ratio['report']:.2f}x")
    bad = verdicts(results)
    for line in bad:
        print(f"target missed: {line}")
    print("every target holds" if not bad else f"{len(bad)} target(s) missed")
    if args.json:
        args.json.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
