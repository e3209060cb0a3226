"""Run the helpdesk example by hand: scripted LLM, tools and agent on 127.0.0.1, until Ctrl-C.

    python -m examples.helpdesk [--port 8300] [--llm-port 8301] [--tools-port 8302] [--stream]

Three plain ``uvicorn`` processes (the commands are printed, to run them yourself instead).
Exits 2 when one of them does not come up within 60 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

#: An opener that ignores proxy variables: the helpdesk runs on loopback.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def _uvicorn(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
    ]


def _up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with _NO_PROXY.open(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Start the three processes, wait for them, and stop them on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m examples.helpdesk")
    parser.add_argument("--port", type=int, default=8300, help="agent port")
    parser.add_argument("--llm-port", type=int, default=8301, help="scripted LLM port")
    parser.add_argument("--tools-port", type=int, default=8302, help="tool service port")
    parser.add_argument("--stream", action="store_true", help="the agent streams LLM replies")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "HELPDESK_LLM_BASE_URL": os.environ.get(
            "HELPDESK_LLM_BASE_URL", f"http://{HOST}:{args.llm_port}/v1"
        ),
        "HELPDESK_TOOLS_URL": os.environ.get(
            "HELPDESK_TOOLS_URL", f"http://{HOST}:{args.tools_port}"
        ),
        "HELPDESK_LLM_STREAM": "true" if args.stream else os.environ.get("HELPDESK_LLM_STREAM", ""),
    }
    plan = [
        ("llm", _uvicorn("examples.helpdesk.fake_llm:app", args.llm_port), "/healthz"),
        ("tools", _uvicorn("examples.helpdesk.tools:app", args.tools_port), "/healthz"),
        ("agent", _uvicorn("examples.helpdesk.agent:app", args.port), "/readyz"),
    ]
    started: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for name, cmd, ready in plan:
            print(f"{name}: {' '.join(cmd[1:])}", flush=True)
            proc = subprocess.Popen(cmd, cwd=ROOT, env={k: v for k, v in env.items() if v})
            started.append(proc)
            port = cmd[cmd.index("--port") + 1]
            if not _up(f"http://{HOST}:{port}{ready}", proc):
                print(f"helpdesk: {name} did not come up on port {port}", file=sys.stderr)
                return 2
        print(f"helpdesk agent ready: http://{HOST}:{args.port}/ask (Ctrl-C stops)", flush=True)
        while all(p.poll() is None for p in started):
            time.sleep(0.5)
        print("helpdesk: a process exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(started):
            if proc.poll() is None:
                proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
