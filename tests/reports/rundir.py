"""Build synthetic run directories (docs/contracts.md) with journals shaped like chaostoolkit-lib's.

The journal mirrors ``chaoslib.run.initialize_run_journal`` + ``execute_activity`` (1.44):
top-level ``chaoslib-version``, ``platform``, ``node``, ``experiment``, ``start``, ``status``,
``deviated``, ``steady_states`` {before, after, during}, ``run`` (one entry per method activity:
``activity``, ``output``, ``start``, ``status``, ``end``, ``duration``), ``rollbacks``, ``end``,
``duration``. Timestamps are naive ISO-8601 UTC by default (``aware=True`` adds ``+00:00`` like
chaostoolkit-lib 1.44 does).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

REQUEST_COLUMNS = [
    "ts",
    "latency_ms",
    "name",
    "status",
    "outcome",
    "tokens",
    "cost_usd",
    "retries",
    "replica",
    "experiment",
    "error",
]
#: The pass^k columns, appended when a row has them (runs before pass^k lack them).
TRIAL_COLUMNS = ["case_id", "trial", "attempt", "repeat", "answer_key"]


def iso(ts: float, *, aware: bool = False) -> str:
    """Epoch seconds -> ISO-8601 UTC, naive unless ``aware``."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.isoformat() if aware else moment.replace(tzinfo=None).isoformat()


def req(
    ts: float,
    outcome: str = "correct",
    latency_ms: float = 100.0,
    *,
    experiment: str = "exp",
    tokens: int = 100,
    cost_usd: float = 0.001,
    retries: int = 0,
    status: int | None = None,
) -> dict[str, Any]:
    """One requests.csv row."""
    if status is None:
        status = {"shed": 429, "error": 500}.get(outcome, 200)
    return {
        "ts": ts,
        "latency_ms": latency_ms,
        "name": "POST /investigate",
        "status": status,
        "outcome": outcome,
        "tokens": tokens,
        "cost_usd": cost_usd,
        "retries": retries,
        "replica": "agent-0",
        "experiment": experiment,
        "error": "" if outcome in ("correct", "degraded", "wrong") else f"HTTP {status}",
    }


def _activity_run(name: str, kind: str, start: float, end: float, aware: bool) -> dict[str, Any]:
    return {
        "activity": {
            "type": kind,
            "name": name,
            "provider": {"type": "python", "module": "experiments.activities.toolbox.actions"},
        },
        "output": None,
        "start": iso(start, aware=aware),
        "status": "succeeded",
        "end": iso(end, aware=aware),
        "duration": end - start,
    }


def journal(
    start: float,
    end: float,
    method: Sequence[tuple[str, float, float]],
    *,
    deviated: bool = False,
    before: bool = True,
    after: bool = True,
    aware: bool = False,
    title: str = "synthetic experiment",
) -> dict[str, Any]:
    """A completed Chaos Toolkit journal with the given method activities (name, start, end)."""

    def state(met: bool, at: float) -> dict[str, Any]:
        probe = _activity_run("success-ratio-above-objective", "probe", at, at + 0.1, aware)
        probe["output"] = 0.99 if met else 0.5
        probe["tolerance_met"] = met
        return {"steady_state_met": met, "probes": [probe]}

    hypothesis = {
        "title": "the agent answers correctly",
        "probes": [{"type": "probe", "name": "success-ratio-above-objective", "tolerance": True}],
    }
    return {
        "chaoslib-version": "1.44.0",
        "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
        "node": "synthetic",
        "experiment": {
            "version": "1.0.0",
            "title": title,
            "description": "synthetic",
            "steady-state-hypothesis": hypothesis,
            "method": [{"type": "action", "name": n} for n, _, _ in method],
            "rollbacks": [],
        },
        "start": iso(start, aware=aware),
        "status": "completed",
        "deviated": deviated,
        "steady_states": {
            "before": state(before, start),
            "after": state(after, end - 0.2),
            "during": [],
        },
        "run": [_activity_run(n, "action", s, e, aware) for n, s, e in method],
        "rollbacks": [],
        "end": iso(end, aware=aware),
        "duration": end - start,
    }


@dataclass
class Exp:
    """One experiment of a synthetic run; ``journal`` None means no journal file."""

    name: str
    started_at: float
    ended_at: float
    journal: dict[str, Any] | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=dict)  # run.json experiments[].sampler


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def write_run(
    run_dir: Path,
    experiments: Sequence[Exp],
    requests: Iterable[dict[str, Any]],
    samples: Iterable[dict[str, Any]] | None = None,
    **run_extra: Any,
) -> Path:
    """Write run.json, requests.csv, samples.csv (when given) and the journals."""
    run_dir.mkdir(parents=True, exist_ok=True)
    exps = list(experiments)
    run = {
        "run_id": run_dir.name,
        "target": "local",
        "profile": "smoke",
        "git_sha": "0123abc",
        "versions": {"stampede": "0.1.0", "chaostoolkit-lib": "1.44.0"},
        "config": {},
        "started_at": min((e.started_at for e in exps), default=T0) - 1,
        "ended_at": max((e.ended_at for e in exps), default=T0) + 1,
        "agent": {"weakness": None},
        "experiments": [
            {
                "name": e.name,
                "file": f"experiments/local/{e.name}.json",
                "journal": f"chaos/{e.name}/journal.json",
                "started_at": e.started_at,
                "ended_at": e.ended_at,
                "status": "completed",
                "deviated": bool(e.journal and e.journal["deviated"]),
                "load": {"users": 4, "shape": "steady"},
                **({"checks": e.checks} if e.checks else {}),
                **({"sampler": e.sampler} if e.sampler else {}),
            }
            for e in exps
        ],
    }
    run.update(run_extra)
    (run_dir / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
    rows = list(requests)
    trials = any("trial" in row for row in rows)
    columns = REQUEST_COLUMNS + TRIAL_COLUMNS if trials else REQUEST_COLUMNS
    write_csv(run_dir / "requests.csv", columns, ({c: "" for c in columns} | r for r in rows))
    if samples is not None:
        write_csv(
            run_dir / "samples.csv", ["ts", "experiment", "metric", "label", "value"], samples
        )
    for e in exps:
        if e.journal is not None:
            path = run_dir / "chaos" / e.name / "journal.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(e.journal, indent=2), encoding="utf-8")
    return run_dir


def demo_run(run_dir: Path, *, seed: int = 7) -> Path:
    """A realistic-looking three-experiment run (60 s each, fault from 20 s to 35 s)."""
    import random

    rng = random.Random(seed)
    names = ("replica-kill", "tool-latency", "redis-outage")
    exps: list[Exp] = []
    requests: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    retries_total = {"llm": 0.0, "tool:get_logs": 0.0, "redis": 0.0}
    for i, name in enumerate(names):
        start = T0 + i * 70.0
        fs, fe, end = start + 20.0, start + 35.0, start + 60.0
        exps.append(
            Exp(
                name,
                start,
                end,
                journal(
                    start + 0.5,
                    end - 0.5,
                    [("inject", fs, fs + 0.2), ("clear", fe - 0.1, fe)],
                    deviated=name == "redis-outage",
                    after=name != "redis-outage",
                ),
                checks={"lost_investigations": 0},
            )
        )
        for k in range(int((end - start) * 5)):
            ts = start + k * 0.2 + rng.random() * 0.05
            in_fault = fs <= ts < fe
            latency = rng.lognormvariate(5.5, 0.3)
            outcome = "correct"
            retries = 0
            tokens = 900
            if in_fault:
                if name == "replica-kill":
                    outcome = rng.choices(["correct", "error"], [0.7, 0.3])[0]
                elif name == "tool-latency":
                    latency += 1500 + rng.random() * 1000
                    outcome = rng.choices(["correct", "degraded"], [0.6, 0.4])[0]
                    retries = rng.choice([0, 1, 2])
                else:
                    tokens = 1400
                    outcome = rng.choices(["correct", "degraded", "wrong"], [0.8, 0.19, 0.01])[0]
            elif fe <= ts < fe + 3 and name == "replica-kill":
                outcome = rng.choices(["correct", "error"], [0.9, 0.1])[0]
            requests.append(
                req(
                    ts,
                    outcome,
                    round(latency, 2),
                    experiment=name,
                    tokens=tokens,
                    cost_usd=tokens * 2e-6,
                    retries=retries,
                )
            )
        for s in range(int(end - start) + 1):
            ts = start + s
            in_fault = fs <= ts < fe
            for dep in retries_total:
                hot = in_fault and (
                    (dep == "tool:get_logs" and name == "tool-latency")
                    or (dep == "redis" and name == "redis-outage")
                    or (dep == "llm" and name == "replica-kill")
                )
                retries_total[dep] += rng.randint(3, 8) if hot else rng.randint(0, 1)
                state = 2.0 if hot and ts < fe - 5 else (1.0 if hot else 0.0)
                samples.append(
                    dict(ts=ts, experiment=name, metric="breaker_state", label=dep, value=state)
                )
                samples.append(
                    dict(
                        ts=ts,
                        experiment=name,
                        metric="retries_total",
                        label=dep,
                        value=retries_total[dep],
                    )
                )
            samples.append(
                dict(ts=ts, experiment=name, metric="in_flight", label="", value=rng.randint(1, 6))
            )
            samples.append(
                dict(
                    ts=ts,
                    experiment=name,
                    metric="workers_alive",
                    label="",
                    value=1 if (name == "replica-kill" and in_fault) else 2,
                )
            )
    return write_run(run_dir, exps, requests, samples)


def sampler_record(
    absent: Sequence[str] = (),
    unmapped: Sequence[str] = (),
    sources: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """run.json ``experiments[].sampler`` as stampede.rundir.SamplerStats writes it."""
    return {
        "scrapes": 30,
        "failures": sum(int(s.get("failures", 0)) for s in sources),
        "rows": 120,
        "last_error": next((s["last_error"] for s in sources if s.get("last_error")), None),
        "absent": list(absent),
        "unmapped": list(unmapped),
        "sources": list(sources),
    }


def source(
    name: str, metric_map: str, absent: Sequence[str] = (), *, scrapes: int = 30, failures: int = 0
) -> dict[str, Any]:
    """One ``sampler.sources[]`` entry."""
    return {
        "name": name,
        "url": f"http://127.0.0.1:9/{name}/metrics",
        "metric_map": metric_map,
        "scrapes": scrapes,
        "failures": failures,
        "last_error": "ConnectError: refused" if failures else None,
        "absent": list(absent),
    }


def proxy_rows(
    experiment: str,
    start: float,
    end: float,
    fault: tuple[float, float],
    *,
    upstream: str = "llm",
    kind: str = "error",
    per_second: int = 3,
) -> list[dict[str, Any]]:
    """The fault proxy's samples.csv rows, one scrape a second (stampede.metricmap PROXY).

    ``faults_injected_total`` (label ``proxy:<upstream>:<fault>``) grows by ``per_second`` each
    second inside ``fault`` (and the other kind stays 0: the proxy exposes every kind);
    ``fault_active`` (``proxy:<upstream>``) is 1 inside it; calls grow by 5 a second.
    """
    rows: list[dict[str, Any]] = []
    injected = calls = 0.0
    for s in range(int(end - start) + 1):
        ts = start + s
        on = fault[0] <= ts < fault[1]
        if s and fault[0] < ts <= fault[1]:
            injected += per_second
        calls += 5
        for metric, label, value in (
            ("faults_injected_total", f"proxy:{upstream}:{kind}", injected),
            ("faults_injected_total", f"proxy:{upstream}:latency", 0.0),
            ("fault_active", f"proxy:{upstream}", 1.0 if on else 0.0),
            ("proxy_calls_total", f"proxy:{upstream}:ok", calls),
        ):
            rows.append(dict(ts=ts, experiment=experiment, metric=metric, label=label, value=value))
    return rows
