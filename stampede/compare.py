"""Reproducibility: are the SLIs of two runs of the same suite within a tolerance of each other?

``stampede compare RUN_A RUN_B`` reads both ``summary.json`` files (docs/slo.md) and compares
every SLI of :data:`DEFAULT_TOLERANCES` in every scope both runs have (``run``, each
experiment's ``all`` and phases). A pair is within tolerance when

    |a - b| <= max(abs_tol, rel_tol * max(|a|, |b|))

Both null is equal; one null and not the other is a difference (e.g. one run never recovered).
Pure: :func:`compare` (two summaries -> report dict) and :func:`to_text`; the CLI reads files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stampede.errors import InputError
from stampede.yamlinput import read_json


@dataclass(frozen=True)
class Tolerance:
    abs_tol: float
    rel_tol: float = 0.0

    def within(self, a: float, b: float) -> bool:
        return abs(a - b) <= max(self.abs_tol, self.rel_tol * max(abs(a), abs(b))) + 1e-12


# The tolerances we state in docs/detection.md. Ratios are absolute (a fault phase has ~100
# requests: one request is 0.01); latencies relative with a floor for the sub-second ones;
# retries and cost amplification absolute; recovery time in whole seconds (1 s resolution).
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "success_ratio": Tolerance(0.05),
    "correct_ratio": Tolerance(0.10),
    "degraded_ratio": Tolerance(0.10),
    "wrong_ratio": Tolerance(0.0),
    "shed_ratio": Tolerance(0.10),
    "error_ratio": Tolerance(0.05),
    "latency_p50_ms": Tolerance(100.0, 0.5),
    "latency_p95_ms": Tolerance(250.0, 0.5),
    "retries_per_request": Tolerance(0.25),
    "cost_amplification": Tolerance(0.3),
    "recovery_time_s": Tolerance(3.0),
}


# Which way is worse, for the HTML diff's "regression" (stampede compare --html): +1 when a
# larger value is better, -1 when a smaller one is. SLIs not named (counts, durations, replicas)
# have no better direction: a change is shown, never called a regression.
BETTER: dict[str, int] = {
    **dict.fromkeys(
        ("success_ratio", "correct_ratio", "throughput_rps", "goodput_rps", "pass_hat_k",
         "pass_at_k", "consistency", "recovered"),
        1,
    ),
    **dict.fromkeys(
        ("degraded_ratio", "wrong_ratio", "shed_ratio", "error_ratio", "unjudged_ratio",
         "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "tokens_per_success",
         "cost_per_success_usd", "cost_amplification", "cost_amplification_vs_baseline_experiment",
         "retries_per_request", "sampled_retries_per_request", "max_breaker_state",
         "recovery_time_s", "lost_investigations", "scale_out_time_s"),
        -1,
    ),
}  # fmt: skip


def scopes(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """scope label -> slis, for the run and every experiment scope."""
    scopes = summary.get("scopes") or {}
    out: dict[str, dict[str, Any]] = {}
    run = scopes.get("run") or {}
    out["run"] = run.get("slis") or {}
    for exp, body in (scopes.get("experiments") or {}).items():
        for phase, scope in (body.get("scopes") or {}).items():
            out[f"{exp}/{phase}"] = (scope or {}).get("slis") or {}
    return out


def compare(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    tolerances: Mapping[str, Tolerance] | None = None,
) -> dict[str, Any]:
    """Compare two summary.json documents; ``within`` is True when every pair is in tolerance."""
    tols = dict(tolerances or DEFAULT_TOLERANCES)
    sa, sb = scopes(a), scopes(b)
    rows: list[dict[str, Any]] = []
    spread: dict[str, float] = {}
    for label in [s for s in sa if s in sb]:
        for sli, tol in tols.items():
            va, vb = sa[label].get(sli), sb[label].get(sli)
            if va is None and vb is None:
                continue
            if va is None or vb is None:
                ok, diff = False, None
            else:
                ok, diff = tol.within(float(va), float(vb)), abs(float(va) - float(vb))
                spread[sli] = max(spread.get(sli, 0.0), diff)
            rows.append({"scope": label, "sli": sli, "a": va, "b": vb, "diff": diff, "ok": ok})
    outside = [r for r in rows if not r["ok"]]
    return {
        "compared": len(rows),
        "outside": outside,
        "within": not outside,
        "max_abs_diff": dict(sorted(spread.items())),
        "tolerances": {k: {"abs": t.abs_tol, "rel": t.rel_tol} for k, t in tols.items()},
    }


def load_summary(run_dir: Path) -> dict[str, Any]:
    """summary.json of a run directory; InputError naming the file when it is unusable."""
    path = run_dir / "summary.json"
    data = read_json(path)
    if not isinstance(data, dict) or "scopes" not in data:
        raise InputError(f"{path}: no 'scopes' (is it a stampede summary.json?)")
    return data


def parse_tolerances(specs: list[str] | None) -> dict[str, Tolerance]:
    """``["latency_p95_ms=300:0.4", "error_ratio=0.02"]`` -> defaults with those replaced."""
    tols = dict(DEFAULT_TOLERANCES)
    for spec in specs or []:
        name, sep, value = spec.partition("=")
        if not sep or name not in tols:
            raise InputError(
                f"--tolerance {spec!r}: expected SLI=ABS[:REL] with SLI one of {', '.join(tols)}"
            )
        abs_s, _, rel_s = value.partition(":")
        try:
            tols[name] = Tolerance(float(abs_s), float(rel_s) if rel_s else 0.0)
        except ValueError:
            raise InputError(f"--tolerance {spec!r}: ABS and REL must be numbers") from None
    return tols


def to_text(result: Mapping[str, Any], a: str, b: str) -> str:
    lines = [f"compare {a} vs {b}: {result['compared']} SLI values compared"]
    lines.append("largest absolute difference per SLI:")
    for sli, diff in result["max_abs_diff"].items():
        tol = result["tolerances"][sli]
        lines.append(f"  {sli:<22} {diff:>10.4g}   (tolerance abs {tol['abs']}, rel {tol['rel']})")
    if result["outside"]:
        lines.append(f"{len(result['outside'])} outside tolerance:")
        for row in result["outside"]:
            lines.append(f"  {row['scope']:<32} {row['sli']:<22} {row['a']} vs {row['b']}")
    else:
        lines.append("every value within tolerance")
    return "\n".join(lines) + "\n"
