"""The ``local`` target: the stack of processes of ``stampede.stack`` on this machine."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from stampede import stack
from stampede.errors import HarnessError, StampedeError
from stampede.targets._heal import clear_left_faults
from stampede.targets._reference import reference_alerts
from stampede.targets.base import (
    Capabilities,
    FaultEndpoint,
    MetricsSource,
    Sample,
    Say,
    TargetInfo,
    TargetStatus,
)


class LocalTarget:
    """The local stack (`stampede.stack`): reuse a healthy one, else (re)start it."""

    name = "local"
    capabilities = Capabilities(
        counts_replicas=False,
        counts_workers=True,
        counts_lost_records=True,
        starts_agent=True,
    )

    def __init__(self, state_dir: Path, weakness: str | None, proxy: bool | None = None) -> None:
        """``proxy``: True/False = the fault proxy must (not) run between agent and toolbox (a
        running stack that differs is restarted); None = as the running stack has it (a new
        stack starts without).
        """
        self.state_dir = state_dir
        self.weakness = weakness
        self.proxy = proxy
        self.state_file = state_dir / "stack.json"
        self._state: stack.StackState | None = None
        self.started_by_us = False

    # -- up / down / status
    def _read_raw(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _health_problem(self) -> str | None:
        """None when every component of the recorded stack is ready, else what is not."""
        try:
            report = stack.status(self.state_dir)
        except StampedeError as exc:
            return str(exc)
        down = [name for name, row in report["components"].items() if not row.get("ready")]
        return f"not ready: {', '.join(down)}" if down else None

    def status(self) -> TargetStatus:
        """Whether the recorded stack runs and every component is ready."""
        if self._read_raw() is None:
            return TargetStatus(False, f"no local stack in {self.state_dir}")
        problem = self._health_problem()
        return TargetStatus(problem is None, problem, {"state_file": str(self.state_file)})

    def _plan(self, say: Say) -> tuple[str, stack.StackConfig]:
        """What ``up`` must do: reuse, start or restart (and with which config)."""
        raw = self._read_raw()
        wanted = self.weakness or "none"
        if raw is None:
            config = stack.StackConfig(
                self.state_dir, weakness=self.weakness, proxy=bool(self.proxy)
            )
            with_proxy = " with the fault proxy" if config.proxy else ""
            say(f"starting the local stack in {self.state_dir}{with_proxy} (weakness {wanted})")
            return "started", config
        has_proxy = raw.get("proxy") is not None
        proxy = has_proxy if self.proxy is None else self.proxy
        config = stack.StackConfig(self.state_dir, weakness=self.weakness, proxy=proxy)
        problem = self._health_problem()
        running = (raw.get("agent") or {}).get("weakness") or None
        if problem is None and running == self.weakness and proxy == has_proxy:
            return "reused", config
        why = problem or (
            f"weakness {running or 'none'} -> {wanted}"
            if running != self.weakness
            else f"proxy {_on_off(has_proxy)} -> {_on_off(proxy)}"
        )
        say(f"stack in {self.state_dir}: {why}; restarting it (weakness {wanted})")
        return f"restarted ({why})", replace(config, restart=True)

    def up(self, say: Say) -> TargetInfo:
        """Reuse a healthy stack with the wanted weakness, else (re)start it."""
        action, config = self._plan(say)
        if action != "reused":
            stack.up(config)
            self.started_by_us = True
        state = self._state = stack.load_state(self.state_file)
        details: dict[str, Any] = {
            "state_file": str(self.state_file),
            "workers": state.agent.workers,
            "toolbox_url": state.toolbox.url,
            "redis_url": state.redis.url,
        }
        if state.proxy is not None:
            details["proxy_url"] = state.proxy.url
        return TargetInfo(
            agent_url=state.agent.url.rstrip("/"),
            weakness=state.agent.weakness or None,
            action=action,
            details=details,
        )

    def down(self, say: Say) -> None:
        """Stop the local stack."""
        say(f"stopping the local stack in {self.state_dir}")
        stack.down(self.state_dir)

    # -- during the run
    def _up_state(self, what: str) -> stack.StackState:
        if self._state is None:
            raise HarnessError(f"local target: {what} called before up()")
        return self._state

    def chaos_env(self) -> dict[str, str]:
        """The state file experiments/local/*.json act on; after ``up`` also the fault API.

        ``STAMPEDE_FAULT_API_URL`` / ``_TOKEN`` are the first of `fault_endpoints` (the proxy's
        when the stack runs one, else the toolbox's): the toolbox activities send transport and
        content faults there, world faults (lie, hallucinate) to the toolbox of the stack in
        ``STAMPEDE_STACK_STATE``, and clear both.
        """
        env = {"STAMPEDE_STACK_STATE": str(self.state_file.resolve())}
        endpoints = self.fault_endpoints()
        if endpoints:
            env["STAMPEDE_FAULT_API_URL"] = endpoints[0].url
            env["STAMPEDE_FAULT_API_TOKEN"] = endpoints[0].token
        return env

    def metrics_sources(self) -> list[MetricsSource]:
        """The agent's /metrics, then the proxy's when the stack runs one."""
        state = self._up_state("metrics_sources()")
        sources = [MetricsSource("agent", f"{state.agent.url.rstrip('/')}/metrics")]
        if state.proxy is not None:
            sources.append(MetricsSource("proxy", state.proxy.metrics_url))
        return sources

    def fetch_metrics(self) -> str:
        """The agent's Prometheus text; raises on failure."""
        return self.metrics_sources()[0].fetch()

    def extra_samples(self) -> list[Sample]:
        """The number of live agent workers."""
        state = self._up_state("extra_samples()")
        return [("workers_alive", "", float(len(stack.agent_worker_pids(state))))]

    def fault_endpoints(self) -> list[FaultEndpoint]:
        """The proxy's fault API if the stack runs one, then the toolbox's (none before ``up``)."""
        if self._state is None:
            return []
        state = self._state
        found = []
        if state.proxy is not None:
            found.append(FaultEndpoint("proxy", state.proxy.url, state.proxy.admin_token))
        found.append(FaultEndpoint("toolbox", state.toolbox.url, state.admin_token))
        return found

    def probe_alerts(self) -> list[dict[str, Any]]:
        """The reference agent's alerts."""
        return reference_alerts()

    def heal(self) -> list[str]:
        """Clear faults (proxy, toolbox) and restart Redis if an interrupted experiment left any."""
        done = clear_left_faults(self.fault_endpoints())
        try:
            redis_row = stack.status(self.state_dir)["components"]["redis"]
            if not redis_row.get("ready"):
                stack.start_redis(stack.load_state(self.state_file))
                done.append("restarted redis left stopped")
        except StampedeError as exc:
            done.append(f"could not check or restart redis: {exc}")
        return done


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"
