"""Crash- and concurrency-safe writing of report files and folders.

* A file is written to a temporary name in its own folder and renamed into place (``os.replace`` is atomic on
  POSIX), so a reader sees the old file or the new one, never half of one.
* A report folder is built under a temporary name inside the root and renamed to a name no other writer can
  pick (UTC time, a slug, the process id and 8 random hex digits); ``os.rename`` onto an existing non-empty
  folder fails rather than overwrite it.
* The root's ``index.jsonl`` gets one JSON line per report, and a run's ``results.jsonl`` one per finished
  property, appended by a single ``write`` on a descriptor opened with ``O_APPEND`` while holding an exclusive
  ``fcntl.flock`` (:func:`append_jsonl`), so lines from concurrent writers (pytest-xdist workers) never
  interleave and an interrupt loses nothing that had finished.
* Files are created with mode 0666 and folders with 0777, both minus the user's umask.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

INDEX = "index.jsonl"


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def timestamp(moment: _dt.datetime | None = None) -> str:
    return (moment or utc_now()).strftime("%Y%m%dT%H%M%SZ")


def slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:limit] or "report"


def encode_number(value: float | int | None) -> float | int | str | None:
    """The one encoding of a number in the project's JSON files (strict JSON has no non-finite numbers): finite
    values as they are, ±inf and NaN as the strings ``"inf"``, ``"-inf"``, ``"nan"``; ``None`` (no value) stays
    ``null``. :func:`decode_number` reads it back, and the ``null`` older nightly files wrote for NaN."""
    if value is None or isinstance(value, (bool, int)):
        return value
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def decode_number(value: float | int | str | None) -> float:
    """The float of :func:`encode_number`'s output (``null`` reads as NaN)."""
    return math.nan if value is None else float(value)


def dumps(record: Any) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder (created if needed) and a rename;
    an interrupted write leaves the old file and no temporary one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def unique_name(prefix: str) -> str:
    return f"{timestamp()}-{slug(prefix)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def staged_folder(root: Path, prefix: str) -> Iterator[tuple[Path, Path]]:
    """Yields ``(staging, final)``: write into ``staging``; on success it is renamed to ``final``, on error it
    is removed. ``final`` is known in advance so the files may mention their own path. Its name carries the
    time, the process id and 32 random bits; should it exist all the same, the rename fails (a non-empty
    folder is never replaced) and so does the write."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    final = root / unique_name(prefix)
    try:
        yield staging, final
        if final.exists():
            raise FileExistsError(f"report folder {final} exists; not overwriting it")
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def new_run_folder(root: Path, prefix: str) -> Path:
    """A new, empty folder ``root/<prefix>-<UTC time>`` (``-2``, ``-3``, … appended when taken)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    base = f"{prefix}-{timestamp()}"
    for k in range(1, 1000):
        path = root / (base if k == 1 else f"{base}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free run folder name {base}-* under {root}")


def append_index(root: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to ``root/index.jsonl``."""
    append_jsonl(Path(root) / INDEX, record)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to ``path`` (module docstring: O_APPEND + flock, one write). A line an interrupted
    writer cut short (no final newline) is left to the reader to skip, and this one starts on a fresh line."""
    line = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as fh:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":
                        line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_index(root: Path) -> list[dict[str, Any]]:
    path = Path(root) / INDEX
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
