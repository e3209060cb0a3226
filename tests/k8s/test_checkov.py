"""checkov (offline: --skip-download) passes on the rendered manifests and the Dockerfile.

Every skipped check carries its reason where the resource is defined: a
``checkov.io/skipN: CKV_…=<reason>`` annotation in the manifests, a
``# checkov:skip=CKV_…:<reason>`` comment in the Dockerfile. This test fails on any finding and
on any skip without a real reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s import support

MIN_REASON = 30  # characters: "see docs" is not a reason


@pytest.fixture(scope="module")
def checkov_reports(
    rendered: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    exe = Path(sys.executable).with_name("checkov")
    if not exe.exists():
        found = shutil.which("checkov")
        if found is None:
            pytest.fail("checkov is not installed (it is in the dev extra: run `make setup`)")
        exe = Path(found)
    workdir = tmp_path_factory.mktemp("checkov")
    for name, objects in rendered.items():
        (workdir / f"{name}.yaml").write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    shutil.copy(support.REPO / "Dockerfile", workdir / "Dockerfile")
    proc = subprocess.run(
        [
            str(exe),
            "--directory",
            str(workdir),
            "--framework",
            "kubernetes",
            "dockerfile",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=workdir,
    )
    assert proc.stdout.strip(), f"checkov printed nothing: {proc.stderr[-2000:]}"
    data = json.loads(proc.stdout)
    return data if isinstance(data, list) else [data]


def test_checkov_scanned_both_frameworks(checkov_reports: list[dict[str, Any]]) -> None:
    kinds = {report["check_type"]: report["summary"] for report in checkov_reports}
    assert set(kinds) == {"kubernetes", "dockerfile"}
    for summary in kinds.values():
        assert summary["parsing_errors"] == 0 and summary["resource_count"] > 0, summary
        assert summary["passed"] > 0


def test_checkov_finds_nothing(checkov_reports: list[dict[str, Any]]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for report in checkov_reports
        for check in report["results"].get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)


def test_every_skipped_check_says_why(checkov_reports: list[dict[str, Any]]) -> None:
    skipped = [
        check for report in checkov_reports for check in report["results"].get("skipped_checks", [])
    ]
    assert skipped, "expected the documented skips (CPU limits, digests...) to be reported"
    vague = []
    for check in skipped:
        reason = str(check["check_result"].get("suppress_comment") or "")
        if len(reason) < MIN_REASON:
            vague.append(f"{check['check_id']} {check['resource']}: {reason!r}")
    assert not vague, "skips without a reason:\n" + "\n".join(vague)
