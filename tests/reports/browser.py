"""Open a page in headless Chromium over the DevTools protocol; collect JS errors and DOM facts.

Started on a free 127.0.0.1 port, stopped by PID; no network (file:// pages only).
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

from stampede import procs

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
)


def chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What happened while a page loaded: JS exceptions, console errors, evaluated facts."""

    exceptions: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    facts: Any = None
    screenshot: bytes = b""


class _Session:
    def __init__(self, url: str, timeout: float) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_event(self, method: str, deadline: float) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == method:
                return
        raise TimeoutError(f"no {method} before the deadline")


def _page_ws(port: int, proc: procs.Proc, deadline: float) -> str:
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"chromium exited during start-up: {proc.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=1) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


class Browser:
    """One headless Chromium (started on a free port, stopped by PID) and its first page."""

    def __init__(self, timeout_s: float = 60.0) -> None:
        exe = chromium()
        if exe is None:
            raise FileNotFoundError("chromium not installed")
        self.timeout_s = timeout_s
        self._profile = tempfile.TemporaryDirectory(prefix="stampede-chromium-")
        port = procs.free_port()
        self.proc = procs.spawn(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                f"--remote-debugging-port={port}",
                "--remote-debugging-address=127.0.0.1",
                "--window-size=1400,1000",
                "about:blank",
            ],
            Path(self._profile.name) / "chromium.log",
        )
        try:
            deadline = time.monotonic() + timeout_s
            self.session = _Session(_page_ws(port, self.proc, deadline), timeout_s)
            for domain in ("Page", "Runtime", "Log"):
                self.session.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def open(
        self,
        path: Path,
        evaluate: str,
        *,
        settle_s: float = 0.3,
        screenshot_clip: dict[str, float] | None = None,
    ) -> PageReport:
        """Load ``path``, wait for ``load`` + ``settle_s``, evaluate ``evaluate`` (JSON result)."""
        session = self.session
        session.events.clear()
        session.call("Page.navigate", url=path.resolve().as_uri())
        session.wait_event("Page.loadEventFired", time.monotonic() + self.timeout_s)
        time.sleep(settle_s)
        result = session.call(
            "Runtime.evaluate", expression=evaluate, returnByValue=True, awaitPromise=True
        )
        report = PageReport(facts=result.get("result", {}).get("value"))
        if screenshot_clip:
            shot = session.call(
                "Page.captureScreenshot",
                format="png",
                clip={**screenshot_clip, "scale": 1},
                captureBeyondViewport=True,
            )
            report.screenshot = base64.b64decode(shot["data"])
        for event in session.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text")
                report.exceptions.append(str(text))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = params.get("args", [])
                report.console_errors.append(" ".join(str(a.get("value", a)) for a in args))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                report.console_errors.append(str(params["entry"].get("text")))
        return report

    def close(self) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            session.ws.close()
        procs.stop(self.proc)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
