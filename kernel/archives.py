"""Zip containers (XLSX workbooks) opened safely.

An XLSX file is a zip archive; a few kilobytes of deflate can inflate to gigabytes (a "zip bomb") and a
parser handed such a workbook spends minutes and gigabytes before it fails. :func:`check_zip` reads only
the archive's central directory and refuses it, before any parser sees it, when its members inflate beyond
a limit, at a suspicious ratio, or are too many. Python's ``zipfile`` (which openpyxl uses) never inflates a
member beyond the size its directory declares, so checking the declared sizes bounds the real work.

Limits are configuration (environment): ``CITYGOV_ARCHIVE_MAX_INFLATED_BYTES`` (default 512 MiB in all),
``CITYGOV_ARCHIVE_MAX_RATIO`` (default 200, for members inflating to more than 1 MiB) and
``CITYGOV_ARCHIVE_MAX_MEMBERS`` (default 10,000).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import BinaryIO

from kernel.errors import ValidationFailed

MAX_INFLATED_BYTES = int(os.environ.get("CITYGOV_ARCHIVE_MAX_INFLATED_BYTES", str(512 * 1024 * 1024)))
MAX_RATIO = int(os.environ.get("CITYGOV_ARCHIVE_MAX_RATIO", "200"))
MAX_MEMBERS = int(os.environ.get("CITYGOV_ARCHIVE_MAX_MEMBERS", "10000"))
_RATIO_FLOOR = 1024 * 1024  # small members may compress at any ratio


def check_zip(source: bytes | str | Path | BinaryIO, *, what: str = "the archive",
              max_inflated: int | None = None, max_ratio: int | None = None,
              max_members: int | None = None) -> None:
    """Refuse (``ValidationFailed``) an archive that is unreadable or would inflate beyond the limits."""
    limit = MAX_INFLATED_BYTES if max_inflated is None else max_inflated
    ratio = MAX_RATIO if max_ratio is None else max_ratio
    members = MAX_MEMBERS if max_members is None else max_members
    src = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ValidationFailed(f"{what} is not a readable zip archive (XLSX)",
                               errors=[{"message": str(exc) or type(exc).__name__}]) from None
    finally:
        if isinstance(src, io.BytesIO) and src is not source:
            src.close()
    if len(infos) > members:
        raise ValidationFailed(f"{what} holds {len(infos)} members, above the limit of {members}",
                               errors=[{"message": "too many archive members"}])
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > _RATIO_FLOOR and info.file_size > ratio * max(info.compress_size, 1):
            raise ValidationFailed(
                f"{what} looks like a zip bomb: {info.filename} inflates {info.compress_size} bytes to "
                f"{info.file_size} (more than {ratio}:1)",
                errors=[{"message": "compression ratio above the limit", "member": info.filename}])
        if total > limit:
            raise ValidationFailed(
                f"{what} inflates to more than {limit} bytes (zip bomb?)",
                errors=[{"message": "inflated size above the limit", "member": info.filename}])
