"""The SLO gate: ``run_gate(run_dir, slo_path) -> GateResult`` plus its text, JUnit and Markdown.

``run_gate`` reads the run directory and the SLO file, evaluates the file's objectives and the
built-in ``experiment-verdict`` (reports.verdicts), and writes ``junit.xml``, ``summary.md`` and
``gate.json`` (into the run directory unless other paths are given). Bad input raises
``ReportsError`` (exit 2 at the CLI). ``GateResult.exit_code``: 0 met, 1 violated, 2 no
objective of the SLO file applied (unless ``allow_empty``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reports.errors import ReportsError
from reports.evaluate import (
    FAIL,
    NA,
    PASS,
    SKIP,
    VERDICTS,
    Case,
    evaluate,
    exit_code,
    fmt,
)
from reports.load import RunFrames, load
from reports.serialize import GATE_VERDICTS, dumps, gate_to_dict, run_facts
from reports.slis import Summary, summarize
from reports.slo import Slo, load_slo, require_baseline
from reports.verdicts import Outcome, breach_lines, outcomes, verdict_cases
from stampede.rundir.safe import write_atomic

EXIT_EMPTY = 2  # no objective of the SLO file applied (only N/A and SKIP)


@dataclass(frozen=True)
class GateResult:
    """What the gate decided; ``paths`` are the files it wrote."""

    cases: tuple[Case, ...]
    exit_code: int
    table_text: str
    summary: Summary
    slo: Slo
    paths: dict[str, Path] = field(default_factory=dict)
    problem: str = ""  # why the exit code is 2 (nothing applied), one line
    outcomes: tuple[Outcome, ...] = ()  # each experiment's journal conclusion

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


def applied(cases: Sequence[Case]) -> bool:
    """Whether any objective of the SLO file (not the built-in one) was PASS or FAIL."""
    return any(c.verdict in (PASS, FAIL) for c in cases if not c.objective.builtin)


def gate_exit_code(cases: Sequence[Case], allow_empty: bool = False) -> int:
    """1 any case failed; else 2 when no objective of the file applied (unless allowed); 0."""
    if exit_code(list(cases)):
        return 1
    return 0 if allow_empty or applied(cases) else EXIT_EMPTY


def empty_problem(cases: Sequence[Case], slo_path: Path | str) -> str:
    """The one-line message of an empty gate."""
    return (
        f"no objective of {slo_path} applied to this run ({_counts(list(cases))}): "
        "nothing was judged; pass --allow-empty to accept that (exit 0)"
    )


def _counts(cases: list[Case]) -> str:
    return ", ".join(f"{sum(c.verdict == v for c in cases)} {v}" for v in VERDICTS)


def table_text(cases: list[Case], notes: Sequence[str] = (), code: int | None = None) -> str:
    """A plain-text table: objective, scope, value, target, verdict; ``notes`` (the journals'
    breaches); then the verdict line with the counts (``code`` default: from the cases)."""
    header = ("objective", "scope", "value", "target", "verdict")
    rows = [(c.objective.name, c.scope_label, fmt(c.value), c.target, c.verdict) for c in cases]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out += list(notes)
    verdict = GATE_VERDICTS[exit_code(cases) if code is None else code]
    out.append(f"gate: {verdict} ({_counts(cases)})")
    return "\n".join(out)


def junit_xml(cases: list[Case], suite: str = "stampede.slo") -> str:
    """JUnit XML: one testcase per objective and scope; FAIL -> failure, N/A/SKIP -> skipped."""
    root = ET.Element("testsuites", name="stampede")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(c.verdict == FAIL for c in cases)),
        errors="0",
        skipped=str(sum(c.verdict in (NA, SKIP) for c in cases)),
        time="0",
    )
    for c in cases:
        tc = ET.SubElement(
            ts,
            "testcase",
            classname=f"slo.{c.experiment or 'run'}",
            name=f"{c.objective.name} [{c.scope_label}]",
            time="0",
        )
        if c.verdict == FAIL:
            failure = ET.SubElement(tc, "failure", message=c.message, type="SLOViolation")
            failure.text = f"{c.objective.sli} {c.target}: value {fmt(c.value)}\n{c.message}"
        elif c.verdict in (NA, SKIP):
            ET.SubElement(tc, "skipped", message=f"{c.verdict}: {c.message}")
        else:
            ET.SubElement(tc, "system-out").text = c.message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(
    cases: list[Case], frames: RunFrames, notes: Sequence[str] = (), code: int | None = None
) -> str:
    """Markdown for CI job summaries: verdict, run facts, failures first, breaches, every case."""
    facts = run_facts(frames)
    verdict = GATE_VERDICTS[exit_code(cases) if code is None else code]
    icon = {PASS: "✅", FAIL: "❌", NA: "⚪", SKIP: "⏭️"}
    lines = [
        f"# SLO gate: {verdict}",
        "",
        f"Run `{facts['run_id']}` — target `{facts['target']}`, profile `{facts['profile']}`, "
        f"weakness `{facts['weakness'] or 'none'}`, git `{facts['git_sha'] or '?'}`.",
        "",
        f"{_counts(cases)}.",
        "",
    ]
    failed = [c for c in cases if c.verdict == FAIL]
    if failed:
        lines += ["## Violations", ""]
        lines += [
            f"- **{_md(c.objective.name)}** [{c.scope_label}]: {_md(c.message)}" for c in failed
        ]
        lines.append("")
    if notes:
        lines += ["## Journal breaches", "", *[f"- {_md(n)}" for n in notes], ""]
    lines += [
        "## All objectives",
        "",
        "| | objective | scope | value | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {icon[c.verdict]} | {_md(c.objective.name)} | {c.scope_label} | {fmt(c.value)} | "
        f"`{c.target}` | {c.verdict} |"
        for c in cases
    ]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as exc:
        raise ReportsError(f"{path}: cannot write: {exc.strerror}") from exc


def evaluate_run(
    run_dir: Path | str, slo_path: Path | str, baseline_dir: Path | str | None = None
) -> tuple[RunFrames, Summary, Slo, Summary | None]:
    """Load the SLO file first (cheap, most likely wrong), then the run(s), then the SLIs."""
    slo = load_slo(slo_path)
    require_baseline(slo, baseline_dir)
    frames = load(run_dir)
    baseline = summarize(load(baseline_dir), slo.params) if baseline_dir is not None else None
    return frames, summarize(frames, slo.params), slo, baseline


def judge(
    frames: RunFrames, summary: Summary, slo: Slo, baseline: Summary | None = None
) -> tuple[list[Case], list[Outcome]]:
    """Every case of the gate (the file's objectives, then ``experiment-verdict``) and each
    experiment's journal conclusion."""
    found = outcomes(frames)
    return evaluate(summary, slo, baseline) + verdict_cases(found, slo.verdict), found


def run_gate(
    run_dir: Path | str,
    slo_path: Path | str,
    *,
    junit_path: Path | str | None = None,
    summary_path: Path | str | None = None,
    gate_json_path: Path | str | None = None,
    write: bool = True,
    baseline_dir: Path | str | None = None,
    allow_empty: bool = False,
) -> GateResult:
    """Evaluate ``slo_path`` on ``run_dir``; write junit.xml, summary.md and gate.json.

    ``baseline_dir``: the run relative thresholds (``"+10%"``) are derived from.
    """
    frames, summary, slo, baseline = evaluate_run(run_dir, slo_path, baseline_dir)
    cases, found = judge(frames, summary, slo, baseline)
    code = gate_exit_code(cases, allow_empty)
    problem = empty_problem(cases, slo_path) if code == EXIT_EMPTY else ""
    notes = breach_lines(found)
    paths: dict[str, Path] = {}
    if write:
        run = Path(run_dir)
        paths = {
            "junit": Path(junit_path) if junit_path else run / "junit.xml",
            "summary_md": Path(summary_path) if summary_path else run / "summary.md",
            "gate_json": Path(gate_json_path) if gate_json_path else run / "gate.json",
        }
        base = str(baseline_dir) if baseline_dir is not None else None
        data = gate_to_dict(
            cases, summary, frames, str(slo_path), code, found=found, baseline_dir=base
        )
        _write(paths["junit"], junit_xml(cases))
        _write(paths["summary_md"], summary_markdown(cases, frames, notes, code))
        _write(paths["gate_json"], dumps(data))
    table = table_text(cases, notes, code)
    return GateResult(tuple(cases), code, table, summary, slo, paths, problem, tuple(found))
