"""The run directory's file formats, shared by the recorder, the suite and the reports.

One definition so the writer (Locust's recorder, the sampler) and the readers (the suite's
merge, `reports.load`) cannot drift apart (DESIGN.md "Run directory contract").
"""

from __future__ import annotations

__all__ = ["OUTCOMES", "REQUEST_COLUMNS", "SAMPLE_COLUMNS"]

#: `requests.csv`, in this order.
REQUEST_COLUMNS: tuple[str, ...] = (
    "ts",
    "latency_ms",
    "name",
    "status",
    "outcome",
    "tokens",
    "cost_usd",
    "retries",
    "replica",
    "experiment",
    "error",
)

#: `samples.csv` (long format), in this order.
SAMPLE_COLUMNS: tuple[str, ...] = ("ts", "experiment", "metric", "label", "value")

#: Outcome classes of a request, best to worst is not implied (DESIGN.md "Outcome of a request").
OUTCOMES: tuple[str, ...] = ("correct", "degraded", "wrong", "shed", "error")
