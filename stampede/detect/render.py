"""The matrix document as Markdown (matrix.md) and as a plain terminal table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stampede.detect.table import REAL

_MARK = {
    "caught": "CAUGHT",
    "other": "other SLO",
    "missed": "MISSED",
    "error": "ERROR",
    "pass": "pass",
    "false_alarm": "FALSE ALARM",
}


def _cell_text(cell: Mapping[str, Any]) -> str:
    status = cell["status"]
    if status == "caught":
        return f"CAUGHT by {', '.join(cell['caught_by'])}"
    if status in ("other", "false_alarm"):
        return f"{_MARK[status]}: {', '.join(cell['failed'])}"
    return _MARK.get(status, status)


def _grid(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    cells = doc["cells"]
    experiments = list(dict.fromkeys(c["experiment"] for c in cells))
    header = ["weakness", *experiments, "verdict"]
    lines = []
    for row in [*doc["weaknesses"], {"weakness": REAL, "status": None}]:
        name = row["weakness"]
        mine = {c["experiment"]: c for c in cells if c["row"] == name}
        values = [_cell_text(mine[e]) if e in mine else "-" for e in experiments]
        if name == REAL:
            bad = [c for c in mine.values() if c["status"] != "pass"]
            overall = "pass" if not bad else "FAIL"
            label = "real agent"
        else:
            overall = _MARK.get(row["status"], row["status"])
            label = name
        lines.append([label, *values, overall])
    return header, lines


def to_markdown(doc: Mapping[str, Any]) -> str:
    """The matrix as Markdown: grid, then per weakness why and the local limits."""
    header, lines = _grid(doc)
    out = [
        f"# Detection matrix: {doc['verdict'].upper()} (exit {doc['exit_code']})",
        "",
        *_proxy_line(doc),
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    if doc["problems"]:
        out += ["", "## Problems", ""] + [f"- {p}" for p in doc["problems"]]
    out += ["", "## What each weakness should trip, and why", ""]
    for row in doc["weaknesses"]:
        out.append(
            f"- **{row['weakness']}** ({', '.join(row['experiments'])}; intended: "
            f"{', '.join(row['intended'])}): {row['why']}"
        )
        if row["local_limit"]:
            out.append(f"  - *Local stack limit:* {row['local_limit']}")
    details = [c for c in doc["cells"] if c["detail"]]
    if details:
        out += ["", "## Live SLO breaches recorded in the journals", ""]
        out += [f"- {c['row']} / {c['experiment']}: {c['detail']}" for c in details]
    if doc.get("runs"):
        out += ["", "## Runs", ""]
        out += [
            f"- {name}: `{r['run_dir']}` (suite exit {r['exit_code']})"
            for name, r in doc["runs"].items()
            if r
        ]
    return "\n".join(out) + "\n"


def _proxy_line(doc: Mapping[str, Any]) -> list[str]:
    """Say how the suites ran with respect to the fault proxy, when ``--proxy`` was given."""
    proxy = doc.get("proxy")
    if proxy is None:
        return []
    how = "through the fault proxy" if proxy else "without the fault proxy"
    return [
        f"Every suite ran {how} between agent and toolbox (`--{'' if proxy else 'no-'}proxy`).",
        "",
    ]


def to_text(doc: Mapping[str, Any]) -> str:
    """The matrix as a plain table for the terminal (one row per weakness, then the real one)."""
    header, lines = _grid(doc)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    out.append(f"detect: {doc['verdict'].upper()} (exit {doc['exit_code']})")
    out += [f"  - {p}" for p in doc["problems"]]
    return "\n".join(out) + "\n"
