"""Confinement: paths a run directory names stay inside it; outputs never write through a link.

* :func:`inside`: a path read from run.json (a journal, a log) resolved under the run
  directory, or an InputError: an absolute path, a ``..`` part, or a symlink whose target is
  outside the run directory is refused (a run directory from elsewhere must not make
  ``stampede report`` read ``/etc/shadow`` into a report).
* :func:`atomic_open` / :func:`write_atomic`: the one writer of outputs (report.html,
  summary.json, gate.json, junit.xml, summary.md, run.json, requests.csv, ...). The bytes go to
  a new temporary file in the destination's directory (``mkstemp``: a fresh name, ``O_EXCL``,
  never an existing file or link), which then *replaces* the destination with ``os.replace``.
  A destination that is a symlink is therefore replaced by the file itself: the link is gone
  and its target is left untouched (rename does not follow a link at the destination). A
  reader never sees half a file; a failed write leaves the old file and no temporary one.
* :func:`open_stream`: the files written while a run goes on (requests.csv by the Locust
  recorder, samples.csv by the sampler) cannot be replaced at the end; they are opened with
  ``O_NOFOLLOW``, so a symlink planted at their path is refused (``OSError`` ELOOP), never
  written through.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from stampede.errors import InputError

__all__ = ["atomic_open", "inside", "open_stream", "write_atomic"]


def _umask() -> int:
    """The process umask (read once, at import: ``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes its file 0600; an output gets the mode ``open(path, "w")`` would have given it.
_MODE = 0o666 & ~_umask()


def inside(run_dir: Path, name: str, error: type[InputError] = InputError, field: str = "") -> Path:
    """``run_dir / name`` when it stays inside ``run_dir`` (links resolved); else ``error``.

    ``field`` names where ``name`` was read (default: the run directory's run.json).
    """
    label = f"{field or run_dir / 'run.json'}: "
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts or "\x00" in name:
        raise error(f"{label}{name!r}: expected a path relative to the run directory, without '..'")
    path = run_dir / name
    root = run_dir.resolve()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise error(f"{label}{name!r}: cannot resolve: {exc}") from exc
    if not resolved.is_relative_to(root):
        raise error(f"{label}{name!r}: a link to {resolved}, outside the run directory {root}")
    return path


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w", **kwargs: object) -> Iterator[IO[str]]:
    """A text handle whose content replaces ``path`` when the block ends without an error.

    ``kwargs`` go to ``open`` (``newline``, ``encoding``: UTF-8 unless given). A symlink at
    ``path`` is replaced, not followed (see the module docstring).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode {mode!r}: only 'w' or 'wb'")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:  # type: ignore[call-overload]
            os.fchmod(handle.fileno(), _MODE)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: Path | str, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically, replacing (never following) a link there."""
    path = Path(path)
    if isinstance(data, bytes):
        with atomic_open(path, "wb") as handle:
            handle.write(data)  # type: ignore[arg-type]
    else:
        with atomic_open(path, "w", encoding=encoding) as handle:
            handle.write(data)
    return path


_STREAM_FLAGS = {"w": os.O_TRUNC, "a": os.O_APPEND}


def open_stream(path: Path | str, mode: str = "a", **kwargs: object) -> IO[str]:
    """A text handle on ``path`` for writing (``"w"``) or appending (``"a"``), never via a link.

    ``kwargs`` go to ``open`` (``newline``, ``encoding``: UTF-8 unless given). A symlink at
    ``path`` raises ``OSError`` (ELOOP) instead of being followed.
    """
    if mode not in _STREAM_FLAGS:
        raise ValueError(f"open_stream: mode {mode!r}: only 'w' or 'a'")
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | _STREAM_FLAGS[mode]
    fd = os.open(path, flags, 0o666)
    kwargs.setdefault("encoding", "utf-8")
    return os.fdopen(fd, mode, **kwargs)  # type: ignore[call-overload]
