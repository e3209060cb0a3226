"""Confinement: run.json paths stay in the run directory, outputs replace links, names are safe."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from loadtests.recorder import RequestRecorder
from reports.errors import ReportsError
from reports.load import load
from stampede import profiles, rundir
from stampede.errors import InputError
from stampede.rundir import RunRecord, atomic_open, inside, write_atomic, write_run_json
from stampede.rundir.safe import open_stream
from tests.inputs.test_rundir_fuzz import _cli
from tests.reports.rundir import T0, Exp, journal, req, write_run

REPO = Path(__file__).resolve().parents[2]
SLO = REPO / "slo.yaml"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    exp = Exp("exp", T0, T0 + 20, journal(T0, T0 + 20, [("fault", T0 + 5, T0 + 10)]))
    return write_run(tmp_path / "run", [exp], [req(T0 + i) for i in range(20)])


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.json"
    path.parent.mkdir()
    path.write_text('{"status": "completed", "deviated": false, "run": []}')
    return path


def _set_journal(run: Path, value: str) -> None:
    data = json.loads((run / "run.json").read_text())
    data["experiments"][0]["journal"] = value
    (run / "run.json").write_text(json.dumps(data))


# -- paths read from run.json


def test_inside_keeps_a_relative_path_and_a_link_within(run: Path) -> None:
    assert inside(run, "chaos/exp/journal.json") == run / "chaos/exp/journal.json"
    (run / "alias.json").symlink_to(run / "chaos" / "exp" / "journal.json")
    assert inside(run, "alias.json") == run / "alias.json"


@pytest.mark.parametrize("name", ["../outside/secret.json", "chaos/../../x", "/etc/passwd", ""])
def test_inside_refuses_dot_dot_and_absolute_paths(run: Path, name: str) -> None:
    with pytest.raises(InputError, match="expected a path relative to the run directory"):
        inside(run, name)


def test_inside_refuses_a_link_to_outside(run: Path, secret: Path) -> None:
    (run / "chaos" / "exp" / "journal.json").unlink()
    (run / "chaos" / "exp" / "journal.json").symlink_to(secret)
    with pytest.raises(InputError, match="outside the run directory"):
        inside(run, "chaos/exp/journal.json")


@pytest.mark.parametrize("how", ["dot-dot", "absolute", "symlink"])
def test_a_journal_outside_the_run_directory_exits_2(run: Path, secret: Path, how: str) -> None:
    if how == "dot-dot":
        _set_journal(run, "../outside/secret.json")
    elif how == "absolute":
        _set_journal(run, str(secret))
    else:
        (run / "chaos" / "exp" / "journal.json").unlink()
        (run / "chaos" / "exp" / "journal.json").symlink_to(secret)
    for command in (["gate", str(run), "--slo", str(SLO)], ["report", str(run)]):
        code, err = _cli(command)
        assert code == 2, err
        assert err.startswith(f"stampede: error: {run / 'run.json'}: "), err
        assert err.count("\n") == 1
    with pytest.raises(ReportsError):
        load(run)


# -- outputs never written through a link


def test_write_atomic_replaces_a_link_and_leaves_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    out.symlink_to(victim)
    write_atomic(out, "<html/>")
    assert not out.is_symlink() and out.read_text() == "<html/>"
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temp left


def test_write_atomic_gives_the_mode_open_would(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_atomic(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE((tmp_path / "atomic.txt").stat().st_mode) == stat.S_IMODE(
        plain.stat().st_mode
    )


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "gate.json"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(out) as handle:
        handle.write("half")
        raise RuntimeError("writer died")
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["gate.json"]


def test_gate_and_report_outputs_replace_planted_links(run: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    outputs = ["junit.xml", "summary.md", "gate.json", "report.html", "summary.json"]
    for name in outputs:
        (run / name).symlink_to(victim)
    assert _cli(["gate", str(run), "--slo", str(SLO)])[0] in (0, 1)
    assert _cli(["report", str(run)])[0] == 0
    assert victim.read_text() == "precious"
    assert not any((run / name).is_symlink() for name in outputs)
    assert all((run / name).stat().st_size > 0 for name in outputs)


def test_run_json_and_requests_csv_replace_planted_links(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    run_dir = rundir.create_run_dir(tmp_path / "runs", "r1", "smoke")
    for name in ("run.json", "run.json.tmp", "requests.csv", "requests.csv.tmp", "samples.csv"):
        (run_dir / name).symlink_to(victim)
    write_run_json(run_dir, RunRecord("r1", "local", "smoke", {}, T0))
    rundir.merge_requests(run_dir, [])
    (run_dir / "samples.csv").unlink()
    (run_dir / "samples.csv").symlink_to(tmp_path / "absent.csv")  # a dangling link
    rundir.ensure_samples_file(run_dir)
    assert victim.read_text() == "precious" and not (tmp_path / "absent.csv").exists()
    assert json.loads((run_dir / "run.json").read_text())["run_id"] == "r1"
    assert (run_dir / "requests.csv").read_text().startswith("ts,latency_ms,")
    assert not (run_dir / "run.json").is_symlink() and not (run_dir / "samples.csv").is_symlink()


# -- experiment names


@pytest.mark.parametrize("name", ["replica-kill", "a", "pod-kill-mid-run", "v1.2_x", "9" * 64])
def test_safe_experiment_names_pass(name: str) -> None:
    assert profiles.check_experiment_name(name) == name


@pytest.mark.parametrize(
    "name", ["../etc", "a/b", "..", "a..b", ".hidden", "-x", "Upper", "", "x" * 65, "a b", "a\x00"]
)
def test_unsafe_experiment_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="an experiment name is 1-64 of"):
        profiles.check_experiment_name(name)
    with pytest.raises(InputError, match="an experiment name is 1-64 of"):
        profiles.select(profiles.get_profile("smoke"), [name])


def test_a_profile_entry_with_an_unsafe_name_is_refused(tmp_path: Path) -> None:
    spec = profiles.ExperimentSpec("../../outside")
    with pytest.raises(InputError, match="an experiment name"):
        profiles.resolve_files((spec,), tmp_path, "local")


def test_stampede_suite_refuses_an_unsafe_experiment_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAMPEDE_STATE_DIR", str(tmp_path / "state"))
    code, err = _cli(
        ["suite", "--target", "url", "--agent-url", "http://127.0.0.1:9", "--slo", str(SLO),
         "--experiments-dir", str(REPO / "experiments"), "--runs-dir", str(tmp_path / "runs"),
         "--experiments", "../../../tmp/x"]
    )  # fmt: skip
    assert code == 2 and "experiment '../../../tmp/x': an experiment name" in err, err
    assert not (tmp_path / "runs").exists()


# -- files written while a run goes on (the recorder's requests.csv, the sampler's samples.csv)


@pytest.mark.parametrize("mode", ["w", "a"])
def test_open_stream_refuses_a_link_and_leaves_its_target(tmp_path: Path, mode: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "samples.csv"
    link.symlink_to(victim)
    with pytest.raises(OSError) as caught:
        open_stream(link, mode)
    assert caught.value.errno == errno.ELOOP
    assert victim.read_text() == "precious"
    plain = tmp_path / "plain.csv"
    for text in ("a\n", "b\n"):
        with open_stream(plain, "a") as handle:
            handle.write(text)
    assert plain.read_text() == "a\nb\n"


def test_the_request_recorder_never_writes_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = tmp_path / "requests.csv"
    path.symlink_to(victim)
    with pytest.raises(OSError):
        RequestRecorder().open(path)
    path.unlink()
    recorder = RequestRecorder()
    recorder.open(path)
    recorder.close()
    path.unlink()
    path.symlink_to(victim)  # planted after close: a straggler row must not follow it
    with pytest.raises(OSError):
        recorder.record(["1"] * 3)
    assert victim.read_text() == "precious"
