"""Running Locust as a subprocess (it monkey-patches on import) and reading what it wrote."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from stampede import procs

REPO = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).parent / "locust")
LOCUSTFILE = str(REPO / "loadtests" / "locustfile.py")


@dataclass(frozen=True)
class LocustRun:
    """What one headless Locust process left behind in ``out``."""

    out: Path
    returncode: int
    log: str

    @property
    def requests_csv(self) -> Path:
        return self.out / "requests.csv"

    def rows(self, path: Path | None = None) -> list[dict[str, str]]:
        with open(path or self.requests_csv, newline="") as handle:
            return list(csv.DictReader(handle))

    def aggregated(self) -> tuple[int, int]:
        """(requests, failures) of the Aggregated row of Locust's own stats CSV."""
        with open(self.out / "locust_stats.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["Name"] == "Aggregated":
                    return int(row["Request Count"]), int(row["Failure Count"])
        raise AssertionError(f"no Aggregated row in {self.out / 'locust_stats.csv'}")

    def failures(self) -> list[dict[str, str]]:
        with open(self.out / "locust_failures.csv", newline="") as handle:
            return list(csv.DictReader(handle))

    def check_clean(self) -> None:
        """Locust exits 1 when requests failed; 2 or a traceback means our code broke."""
        assert self.returncode in (0, 1), f"locust exited {self.returncode}:\n{self.log[-3000:]}"
        for marker in ("Traceback", "Uncaught exception", "ERROR/"):
            assert marker not in self.log, f"{marker} in locust log:\n{self.log[-3000:]}"


def locust_cmd(out: Path, host: str, *args: str, csv_prefix: bool = True) -> list[str]:
    cmd = [LOCUST, "-f", LOCUSTFILE, "--headless", "--host", host, "--only-summary",
           "--stampede-requests-csv", str(out / "requests.csv")]  # fmt: skip
    if csv_prefix:
        cmd += ["--csv", str(out / "locust")]
    return [*cmd, *args]


@contextmanager
def started(cmd: Sequence[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process writing to ``log``; killed (by PID) if still running when the block ends."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as handle:
        popen = subprocess.Popen(list(cmd), stdout=handle, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        yield popen
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait(10)


def run_locust(out: Path, host: str, *args: str, timeout_s: float = 60) -> LocustRun:
    """Run headless Locust to completion (bounded) and return its outputs."""
    return run_locusts([(out, host, list(args))], timeout_s)[0]


def run_locusts(
    runs: Sequence[tuple[Path, str, list[str]]], timeout_s: float = 60
) -> list[LocustRun]:
    """Run several headless Locusts at once (their start-up overlaps); bounded, killed on exit."""
    with ExitStack() as stack:
        popens = [
            stack.enter_context(started(locust_cmd(out, host, *args), out / "locust.log"))
            for out, host, args in runs
        ]
        deadline = time.monotonic() + timeout_s
        codes = [p.wait(max(0.1, deadline - time.monotonic())) for p in popens]
    return [
        LocustRun(out, code, (out / "locust.log").read_text(errors="replace"))
        for (out, _, _), code in zip(runs, codes, strict=True)
    ]


def spawn_fake_agent(tmp_path: Path, **env: str) -> tuple[str, procs.Proc]:
    """Start the fake agent (tests/loadtests/fake_agent.py) on a free port; not yet ready."""
    port = procs.free_port()
    proc = procs.spawn(
        procs.python_cmd("-m", "uvicorn", "tests.loadtests.fake_agent:app", "--host",
                         procs.LOCALHOST, "--port", str(port), "--no-access-log"),
        tmp_path / f"fake-agent-{port}.log",
        env=env,
        cwd=REPO,
    )  # fmt: skip
    return f"http://{procs.LOCALHOST}:{port}", proc


def wait_fake_agent(url: str, proc: procs.Proc) -> None:
    procs.wait_http_ok(f"{url}/readyz", proc, timeout_s=60, what="fake agent")
