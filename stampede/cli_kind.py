"""`stampede kind up | deploy | down | status`: the kind cluster of k8s/kind-cluster.yaml.

Wiring only; the work is in ``stampede.kind``. Errors raised there (a missing tool, a failed
command) reach ``stampede.cli.main``, which prints them as one line and exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from stampede import kind

kind_app = typer.Typer(
    name="kind",
    help="A local kind cluster running the reference agent (needs docker, kind, kubectl).",
    no_args_is_help=True,
    add_completion=False,
)

NAME_OPTION = typer.Option(kind.CLUSTER_NAME, "--name", help="kind cluster name.")


def _say(line: str) -> None:
    typer.echo(f"kind: {line}")


@kind_app.command("up")
def up_command(
    name: str = NAME_OPTION,
    config: Path = typer.Option(kind.KIND_CONFIG, "--config", help="kind cluster config."),
) -> None:
    """Create the cluster (control plane + 2 workers, ports on 127.0.0.1) unless it exists."""
    kind.up(name, config, say=_say)


@kind_app.command("deploy")
def deploy_command(
    name: str = NAME_OPTION,
    build: bool = typer.Option(
        True, "--build/--no-build", help="docker build the agent and harness images first."
    ),
    timeout: float = typer.Option(
        kind.ROLLOUT_TIMEOUT_S, "--timeout", help="Seconds to wait for each rollout."
    ),
) -> None:
    """Build and load the agent and harness images, apply k8s/overlays/kind, wait for rollouts."""
    found = kind.deploy(name, build=build, timeout_s=timeout, say=_say)
    typer.echo(f"agent:   {found.agent_url}")
    typer.echo(f"toolbox: {found.toolbox_url}  (fault API token: Secret {kind.TOOLBOX_SECRET})")
    typer.echo(f"context: {found.context}")


@kind_app.command("down")
def down_command(name: str = NAME_OPTION) -> None:
    """Delete the cluster."""
    kind.down(name, say=_say)


@kind_app.command("status")
def status_command(
    name: str = NAME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Nodes, deployments, HPA and URLs; exit 1 when something is not ready."""
    report = kind.status(name)
    problem = kind.ready_problem(report)
    if as_json:
        typer.echo(json.dumps({**report, "problem": problem}, indent=2, sort_keys=True))
    else:
        typer.echo(_format(report, problem))
    if problem:
        raise typer.Exit(1)


def _format(report: dict[str, Any], problem: str | None) -> str:
    if not report.get("exists"):
        return f"kind cluster {report['cluster']!r}: not created (run `stampede kind up`)"
    lines = [f"kind cluster {report['cluster']!r} (context {report['context']})"]
    for node in report.get("nodes", []):
        state = "Ready" if node["ready"] else "NotReady"
        lines.append(
            f"  node {node['name']:<28} {state}{'' if node['schedulable'] else ', cordoned'}"
        )
    for dep, row in sorted(report.get("deployments", {}).items()):
        lines.append(f"  deployment {dep:<22} {row['ready']}/{row['desired']} ready")
    for hpa, row in sorted(report.get("hpa", {}).items()):
        lines.append(f"  hpa {hpa:<29} {row['current']} current, {row['desired']} desired")
    lines.append(f"  agent   {report.get('agent_url')}")
    lines.append(f"  toolbox {report.get('toolbox_url')}")
    lines.append(f"  {'ready' if problem is None else 'NOT ready: ' + problem}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the `kind` command group to the `stampede` app."""
    app.add_typer(kind_app, name="kind")
