"""`stampede suite` (load + chaos + report + gate) and `stampede flaky` (false-alarm rate)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from stampede.errors import InputError
from stampede.rundir import write_atomic
from stampede.stack import default_state_dir
from stampede.suite import (
    EXIT_INTERRUPTED,
    TARGETS,
    Campaign,
    SuiteConfig,
    SuiteOutcome,
    run_suite,
)
from stampede.yamlinput import read_json

TargetOpt = Annotated[str, typer.Option("--target", help=f"Where to run: {', '.join(TARGETS)}.")]
ProfileOpt = Annotated[str, typer.Option("--profile", help="Suite profile (stampede/profiles.py).")]
SuiteProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile",
        help="Suite profile (stampede/profiles.py: smoke, full), or an existing .yaml/.yml "
        "file, taken as --target-profile with the smoke suite.",
    ),
]
RunIdOpt = Annotated[
    str | None, typer.Option("--run-id", help="Run id (default: <utc time>-<profile>).")
]
SuiteKeepStackOpt = Annotated[
    bool | None,
    typer.Option(
        "--keep-stack/--down-after",
        help="Keep the local stack running afterwards, or stop it "
        "(default: keep a stack that was already running, stop one the suite started).",
    ),
]
UsersOpt = Annotated[
    int | None, typer.Option("--users", help="Override the Locust users of every experiment.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for Locust's alert draws.")]
LocustfileOpt = Annotated[Path, typer.Option("--locustfile", help="Locust file.")]
ExperimentsDirOpt = Annotated[
    Path, typer.Option("--experiments-dir", help="Holds <target>/<name>.json.")
]
AgentUrlOpt = Annotated[
    str | None,
    typer.Option("--agent-url", help="--target url: the agent to talk to (started by you)."),
]
MetricsUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--metrics-url",
        help="--target url: the agent's Prometheus page (none: its metrics are absent).",
    ),
]
FaultUrlOpt = Annotated[
    str | None,
    typer.Option("--fault-url", help="--target url: a fault API (e.g. a fault proxy's)."),
]
FaultTokenOpt = Annotated[
    str | None, typer.Option("--fault-token", help="--target url: the fault API's bearer token.")
]
AllowRemoteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-remote", help="--target url: allow hosts other than 127.0.0.1/localhost."
    ),
]
CasesOpt = Annotated[
    Path | None,
    typer.Option(
        "--cases", help="Case file (.jsonl, .yaml): questions and expected answers.", dir_okay=False
    ),
]
TargetProfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--target-profile",
        help="Declarative target profile (.yaml): request template, answer paths, judge, "
        "metric map (docs/byo-agent.md).",
        dir_okay=False,
    ),
]
RepeatOpt = Annotated[
    int | None,
    typer.Option("--repeat", help="Ask each case K times per phase (pass^k).", min=1),
]
SloOpt = Annotated[
    Path, typer.Option("--slo", help="SLO file for the gate.", dir_okay=False, exists=False)
]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where run directories go.")]
WeaknessOpt = Annotated[
    str,
    typer.Option(
        "--weakness",
        help="Agent weakness for the local stack (none, no_breaker, no_retries, ...).",
    ),
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Local stack state dir (default: $STAMPEDE_STATE_DIR or .stampede).",
    ),
]
ProxyOpt = Annotated[
    bool | None,
    typer.Option(
        "--proxy/--no-proxy",
        help="--target local: run the fault proxy between agent and toolbox, or not (a running "
        "stack that differs is restarted; default: as the running stack has it, a new one "
        "without).",
    ),
]
ExperimentsOpt = Annotated[
    str | None,
    typer.Option("--experiments", help="Comma-separated subset of the profile's experiments."),
]


def _state_dir(value: Path | None) -> Path:
    return value or default_state_dir()


def _experiments(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise InputError("--experiments: give at least one experiment name")
    return names


def _weakness(value: str) -> str | None:
    return None if value in ("", "none") else value


def suite(
    target: TargetOpt = "local",
    profile: SuiteProfileOpt = "smoke",
    slo: SloOpt = Path("slo.yaml"),
    runs_dir: RunsDirOpt = Path("runs"),
    run_id: RunIdOpt = None,
    weakness: WeaknessOpt = "none",
    state_dir: StateDirOpt = None,
    keep_stack: SuiteKeepStackOpt = None,
    experiments: ExperimentsOpt = None,
    users: UsersOpt = None,
    seed: SeedOpt = 0,
    locustfile: LocustfileOpt = Path("loadtests/locustfile.py"),
    experiments_dir: ExperimentsDirOpt = Path("experiments"),
    agent_url: AgentUrlOpt = None,
    metrics_url: MetricsUrlOpt = None,
    fault_url: FaultUrlOpt = None,
    fault_token: FaultTokenOpt = None,
    allow_remote: AllowRemoteOpt = False,
    cases: CasesOpt = None,
    target_profile: TargetProfileOpt = None,
    repeat: RepeatOpt = None,
    proxy: ProxyOpt = None,
) -> None:
    """Run a suite: per experiment, Locust load + Chaos Toolkit; then report and SLO gate.

    Someone else's agent: ``--target url --agent-url URL --profile its-profile.yaml
    --cases its-cases.yaml`` (docs/byo-agent.md).

    Exit code: 0 all objectives met, 1 an SLO violated, 2 bad input or harness failure,
    130 interrupted (the partial run directory is still written).
    """
    config = SuiteConfig(
        target=target,
        profile=profile,
        slo=slo,
        runs_dir=runs_dir,
        run_id=run_id,
        weakness=_weakness(weakness),
        state_dir=_state_dir(state_dir),
        keep_stack=keep_stack,
        experiments=_experiments(experiments),
        users=users,
        seed=seed,
        locustfile=locustfile,
        experiments_dir=experiments_dir,
        agent_url=agent_url,
        metrics_url=metrics_url,
        fault_url=fault_url,
        fault_token=fault_token,
        allow_remote=allow_remote,
        cases=cases,
        target_profile=target_profile,
        repeat=repeat,
        proxy=proxy,
    )
    outcome = run_suite(config)
    raise typer.Exit(outcome.exit_code)


# -- flaky -------------------------------------------------------------------------------------


def gate_failures(run_dir: Path) -> list[str]:
    """``objective [scope]`` of every FAIL case in ``run_dir/gate.json`` (empty when none)."""
    try:
        data = read_json(run_dir / "gate.json")
    except InputError:
        return []
    cases = data.get("cases") if isinstance(data, dict) else None
    failed = []
    for case in cases if isinstance(cases, list) else []:
        if isinstance(case, dict) and case.get("verdict") == "FAIL":
            scope = case.get("scope_label") or ""
            failed.append(f"{case.get('objective', '?')} [{scope}]" if scope else case["objective"])
    return failed


def flaky_summary(outcomes: list[SuiteOutcome], profile: str, started_at: float) -> dict[str, Any]:
    """Per run: exit code and failing objectives; per objective: how many runs it failed."""
    runs = []
    per_objective: dict[str, int] = {}
    for outcome in outcomes:
        failed = gate_failures(outcome.run_dir) if outcome.exit_code == 1 else []
        for name in failed:
            per_objective[name] = per_objective.get(name, 0) + 1
        runs.append(
            {
                "run_id": outcome.run_dir.name,
                "exit_code": outcome.exit_code,
                "false_alarm": outcome.exit_code == 1,
                "harness_error": outcome.exit_code == 2,
                "failed_objectives": failed,
            }
        )
    total = len(runs)
    alarms = sum(1 for r in runs if r["false_alarm"])
    return {
        "profile": profile,
        "started_at": started_at,
        "ended_at": time.time(),
        "runs": runs,
        "total_runs": total,
        "false_alarms": alarms,
        "false_alarm_rate": alarms / total if total else None,
        "harness_errors": sum(1 for r in runs if r["harness_error"]),
        "per_objective": dict(sorted(per_objective.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def flaky_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# Flakiness: {summary['total_runs']} run(s) of profile `{summary['profile']}`",
        "",
        f"False alarms (gate exit 1 against the reference agent): **{summary['false_alarms']}"
        f"/{summary['total_runs']}**; harness errors (exit 2): {summary['harness_errors']}.",
        "",
        "| run | exit | failed objectives |",
        "|---|---|---|",
    ]
    for run in summary["runs"]:
        failed = ", ".join(run["failed_objectives"]) or "-"
        lines.append(f"| {run['run_id']} | {run['exit_code']} | {failed} |")
    if summary["per_objective"]:
        lines += ["", "| objective [scope] | runs failed |", "|---|---|"]
        lines += [f"| {name} | {count} |" for name, count in summary["per_objective"].items()]
    return "\n".join(lines) + "\n"


def flaky(
    runs: Annotated[int, typer.Option("--runs", help="How many suite runs.", min=1)] = 5,
    target: TargetOpt = "local",
    profile: ProfileOpt = "smoke",
    slo: SloOpt = Path("slo.yaml"),
    runs_dir: RunsDirOpt = Path("runs"),
    state_dir: StateDirOpt = None,
    experiments: ExperimentsOpt = None,
    keep_stack: Annotated[
        bool | None,
        typer.Option("--keep-stack/--down-after", help="Keep or stop the stack at the end."),
    ] = None,
    proxy: ProxyOpt = None,
) -> None:
    """Run the suite K times against the reference agent and count false alarms.

    Every gate failure against the reference agent is a false alarm. Writes
    runs/flaky-<utc time>.json and .md. Exit 0 when no run raised a false alarm, 1 otherwise,
    2 on a harness error, 130 when interrupted.
    """
    started = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))
    base = SuiteConfig(
        target=target,
        profile=profile,
        slo=slo,
        runs_dir=runs_dir,
        state_dir=_state_dir(state_dir),
        experiments=_experiments(experiments),
        proxy=proxy,
    )
    out = runs_dir / f"flaky-{stamp}"
    # run_suite is looked up at call time, so tests can replace this module's name.
    campaign = Campaign(base, _flaky_say, keep_stack, runner=lambda config: run_suite(config))
    with campaign:
        try:
            _flaky_runs(campaign, runs, stamp)
        finally:
            summary = flaky_summary(campaign.outcomes, profile, started)
            runs_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(out.with_suffix(".json"), json.dumps(summary, indent=2) + "\n")
            write_atomic(out.with_suffix(".md"), flaky_markdown(summary))
    interrupted = any(outcome.interrupted for outcome in campaign.outcomes)
    typer.echo(flaky_markdown(summary))
    typer.echo(f"flaky: wrote {out}.json and {out}.md")
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary["harness_errors"]:
        raise typer.Exit(2)
    raise typer.Exit(1 if summary["false_alarms"] else 0)


def _flaky_say(line: str) -> None:
    typer.echo(f"flaky: {line}")


def _flaky_runs(campaign: Campaign, runs: int, stamp: str) -> None:
    """Run ``runs`` suites with distinct ids and seeds; stop at the first interrupted one."""
    for i in range(runs):
        typer.echo(f"flaky: run {i + 1}/{runs}")
        outcome = campaign.run(run_id=f"{stamp}-flaky-{i + 1}", seed=i)
        if outcome.interrupted:
            return


def register(app: typer.Typer) -> None:
    """Add `suite` and `flaky` to the `stampede` app."""
    app.command("suite")(suite)
    app.command("flaky")(flaky)
