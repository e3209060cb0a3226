"""Detection matrix: does the harness fail each weakened agent on the right SLO, pass the real one?

``stampede detect`` runs one suite per weakness (only the experiments that should expose it,
:mod:`stampede.detect.table`) and one suite of the real agent through the union of those
experiments, then judges each cell from the run directories (:mod:`stampede.detect.matrix`).

Pure part: :func:`load_result` (run dir -> :class:`RunResult`), :func:`build_matrix`,
:func:`verdict`, :func:`report`, :func:`repeated_report` (the K-matrix of ``--repeat K``,
:mod:`stampede.detect.repeat`), :func:`to_markdown`, :func:`to_html`, :func:`to_text`. Only
:func:`run_detection` runs suites (:mod:`stampede.detect.run`).
"""

from __future__ import annotations

from stampede.detect.matrix import (
    Cell,
    build_matrix,
    judge_cell,
    report,
    verdict,
    weakness_status,
)
from stampede.detect.render import to_html, to_markdown, to_text
from stampede.detect.repeat import k_cell, repeated_report, repetitions
from stampede.detect.results import RunResult, live_name, load_result
from stampede.detect.run import DetectConfig, plan, run_detection
from stampede.detect.table import (
    EXPECTATIONS,
    REAL,
    Expectation,
    expectations_for,
    union_experiments,
)

__all__ = [
    "EXPECTATIONS",
    "REAL",
    "Cell",
    "DetectConfig",
    "Expectation",
    "RunResult",
    "build_matrix",
    "expectations_for",
    "judge_cell",
    "k_cell",
    "live_name",
    "load_result",
    "plan",
    "repeated_report",
    "repetitions",
    "report",
    "run_detection",
    "to_html",
    "to_markdown",
    "to_text",
    "union_experiments",
    "verdict",
    "weakness_status",
]
