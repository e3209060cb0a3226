"""The run directory ``runs/<run-id>/``: ids, provenance, run.json and the merged requests.csv.

Pure file work, no processes: the suite calls these to lay out and finish a run directory per
the contract in docs/contracts.md ("Run directory"). One module per concept: `ids` (run ids,
layout, provenance), `records` (run.json), `journal`, `merge` (the one requests.csv merger),
`counts` (Locust's own counts), `safe` (paths kept inside the run directory, the one atomic
writer of outputs).
"""

from __future__ import annotations

from stampede.contract import REQUEST_COLUMNS, SAMPLE_COLUMNS
from stampede.rundir.counts import live_request_count, locust_request_count
from stampede.rundir.ids import (
    RUN_ID_RE,
    VERSIONED_PACKAGES,
    check_run_id,
    create_run_dir,
    ensure_samples_file,
    git_sha,
    new_run_id,
    package_versions,
)
from stampede.rundir.journal import read_journal_status
from stampede.rundir.merge import (
    MergeError,
    MergeResult,
    TornRows,
    merge_files,
    merge_requests,
    read_request_file,
    recorder_files,
    worker_files,
)
from stampede.rundir.records import (
    AgentRecord,
    ChaosResult,
    ExperimentRecord,
    LocustResult,
    LostInvestigation,
    ProbeChecks,
    RequestsSummary,
    RunRecord,
    SamplerStats,
    SourceStats,
    TargetRecord,
    write_run_json,
)
from stampede.rundir.safe import atomic_open, inside, write_atomic

REQUESTS_COLUMNS = REQUEST_COLUMNS
SAMPLES_COLUMNS = SAMPLE_COLUMNS

__all__ = [
    "REQUESTS_COLUMNS",
    "RUN_ID_RE",
    "SAMPLES_COLUMNS",
    "VERSIONED_PACKAGES",
    "AgentRecord",
    "ChaosResult",
    "ExperimentRecord",
    "LocustResult",
    "LostInvestigation",
    "MergeError",
    "MergeResult",
    "ProbeChecks",
    "RequestsSummary",
    "RunRecord",
    "SamplerStats",
    "SourceStats",
    "TargetRecord",
    "TornRows",
    "atomic_open",
    "check_run_id",
    "create_run_dir",
    "ensure_samples_file",
    "git_sha",
    "inside",
    "live_request_count",
    "locust_request_count",
    "merge_files",
    "merge_requests",
    "new_run_id",
    "package_versions",
    "read_journal_status",
    "read_request_file",
    "recorder_files",
    "worker_files",
    "write_atomic",
    "write_run_json",
]
