"""Files that appear complete or not at all: write to a temporary name beside the target, flush and
``fsync`` it, ``os.replace`` it over the target, then ``fsync`` the directory (so the rename itself survives
a power loss). A process killed mid-write leaves only a hidden ``.<name>.<pid>.<random>.tmp``; the next write
to the same target removes such leftovers of processes that no longer run."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(target: Path) -> list[Path]:
    """Delete temporary files of ``target`` left by writers that died (their pid no longer runs)."""
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m and m["name"] == target.name and int(m["pid"]) != os.getpid() and not _alive(int(m["pid"])):
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a platform without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target`` (its fd and path), named so leftovers can be recognised."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    return tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)


def commit(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """fsync ``tmp`` (already closed), rename it over ``target`` and fsync the directory."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    fsync_dir(Path(target).parent)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """``with atomic_write(path) as fh: fh.write(...)``: ``path`` is replaced only when the block succeeds."""
    target = Path(path)
    fd, tmp = temp_path(target)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
