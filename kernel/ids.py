"""Identifier and digest helpers."""

from __future__ import annotations

import hashlib
import os
import time
import uuid


def new_id() -> str:
    """A time-ordered UUIDv7 as 32 lower-case hex characters (sorts by creation time, indexes well)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value).hex


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
