"""The matrix document as Markdown (matrix.md), HTML (matrix.html) and a plain terminal table.

A document of ``detect --repeat K`` (K > 1, :mod:`stampede.detect.repeat`) is rendered as the
K-matrix: per cell how many of the K runs caught the weakness on an intended objective (or, for
the real agent, passed), and which runs did not.
"""

from __future__ import annotations

import html
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


def _k_cell_text(cell: Mapping[str, Any]) -> str:
    """``3/3 caught by X`` / ``2/3 pass; run 2: FALSE ALARM: Y``."""
    real = cell["row"] == REAL
    good = "pass" if real else "caught"
    head = f"{cell['good']}/{cell['runs']} {good}"
    if cell["caught_by"]:
        head += f" by {', '.join(cell['caught_by'])}"
    rest = [f"run {i + 1}: {_MARK.get(s, s)}" for i, s in enumerate(cell["statuses"]) if s != good]
    if rest and cell["failed"] and (real or not cell["caught_by"]):
        rest.append(f"failed: {', '.join(cell['failed'])}")
    return "; ".join([head, *rest])


def _repeat(doc: Mapping[str, Any]) -> int:
    return int(doc.get("repeat") or 1)


def _overall(doc: Mapping[str, Any], row: Mapping[str, Any], mine: dict[str, Any]) -> str:
    if row["weakness"] == REAL:
        if _repeat(doc) > 1:
            bad = [c for c in mine.values() if c["good"] != c["runs"]]
        else:
            bad = [c for c in mine.values() if c["status"] != "pass"]
        return "pass" if not bad else "FAIL"
    if _repeat(doc) > 1:
        return f"{row['caught_runs']}/{row['runs']} caught"
    return _MARK.get(row["status"], row["status"])


def _grid(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    cells = doc["cells"]
    text = _k_cell_text if _repeat(doc) > 1 else _cell_text
    experiments = list(dict.fromkeys(c["experiment"] for c in cells))
    header = ["weakness", *experiments, "verdict"]
    lines = []
    for row in [*doc["weaknesses"], {"weakness": REAL, "status": None}]:
        name = row["weakness"]
        mine = {c["experiment"]: c for c in cells if c["row"] == name}
        values = [text(mine[e]) if e in mine else "-" for e in experiments]
        label = "real agent" if name == REAL else name
        lines.append([label, *values, _overall(doc, row, mine)])
    return header, lines


def _title(doc: Mapping[str, Any]) -> str:
    k = _repeat(doc)
    runs = f", K = {k} runs of every suite" if k > 1 else ""
    return f"Detection matrix: {doc['verdict'].upper()} (exit {doc['exit_code']}{runs})"


def _run_lines(doc: Mapping[str, Any]) -> list[str]:
    out = []
    for name, runs in (doc.get("runs") or {}).items():
        for i, r in enumerate(runs if isinstance(runs, list) else [runs]):
            if r:
                tag = f" run {i + 1}" if isinstance(runs, list) else ""
                out.append(f"- {name}{tag}: `{r['run_dir']}` (suite exit {r['exit_code']})")
    return out


def _detail_lines(doc: Mapping[str, Any]) -> list[str]:
    out = []
    for c in doc["cells"]:
        details = c["details"] if "details" in c else [c["detail"]]
        for i, detail in enumerate(details):
            if detail:
                tag = f" (run {i + 1})" if len(details) > 1 else ""
                out.append(f"- {c['row']} / {c['experiment']}{tag}: {detail}")
    return out


def to_markdown(doc: Mapping[str, Any]) -> str:
    """The matrix as Markdown: grid, then per weakness why and the local limits."""
    header, lines = _grid(doc)
    out = [
        f"# {_title(doc)}",
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
    details = _detail_lines(doc)
    if details:
        out += ["", "## Live SLO breaches recorded in the journals", "", *details]
    runs = _run_lines(doc)
    if runs:
        out += ["", "## Runs", "", *runs]
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
    k = _repeat(doc)
    runs = f", K = {k}" if k > 1 else ""
    out.append(f"detect: {doc['verdict'].upper()} (exit {doc['exit_code']}{runs})")
    out += [f"  - {p}" for p in doc["problems"]]
    return "\n".join(out) + "\n"


_STYLE = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;font-size:90%}"
    ".good{background:#e6f4e6}.bad{background:#fbe3e3}.none{color:#999}"
)


def _css(value: str) -> str:
    if value == "-":
        return "none"
    good = value.startswith(("CAUGHT", "pass")) or _all_good(value)
    return "good" if good else "bad"


def _all_good(value: str) -> bool:
    """``3/3 caught ...`` / ``3/3 pass``: K of K."""
    head = value.split(" ", 1)[0]
    if "/" not in head:
        return False
    good, _, runs = head.partition("/")
    return good == runs and ";" not in value


def to_html(doc: Mapping[str, Any]) -> str:
    """The matrix as one self-contained HTML page (matrix.html): grid, problems, runs."""
    header, lines = _grid(doc)
    esc = html.escape
    rows = ["<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for line in lines:
        cells = [f"<th>{esc(line[0])}</th>"]
        cells += [f'<td class="{_css(v)}">{esc(v)}</td>' for v in line[1:]]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    problems = "".join(f"<li>{esc(p)}</li>" for p in doc["problems"])
    runs = "".join(f"<li>{esc(r[2:])}</li>" for r in _run_lines(doc))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(_title(doc))}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{esc(_title(doc))}</h1>\n<table>{''.join(rows)}</table>\n"
        + (f"<h2>Problems</h2><ul>{problems}</ul>\n" if problems else "")
        + (f"<h2>Runs</h2><ul>{runs}</ul>\n" if runs else "")
        + "</body></html>\n"
    )
