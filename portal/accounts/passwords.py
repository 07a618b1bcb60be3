"""Password hashing with Argon2id (memory-hard), via argon2-cffi."""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
_DUMMY: list[str] = []  # the timing equaliser's hash, computed on the first verification (not at import)


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash("citygov-timing-equaliser"))
    return _DUMMY[0]

MIN_LENGTH = 12  # ASVS 4.0 V2.1.1
MAX_LENGTH = 128  # V2.1.2: at least 64 permitted, more than 128 refused


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work verification; an unknown user still costs one Argon2 verification."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The denylist (``common_passwords.txt`` beside this module, plus ``CITYGOV_PASSWORD_DENYLIST``: a file
    of further entries, one per line — e.g. a breach corpus), compared case-insensitively (V2.1.7)."""
    text = resources.files("portal.accounts").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    extra = os.environ.get("CITYGOV_PASSWORD_DENYLIST")
    if extra:
        text += "\n" + Path(extra).read_text(encoding="utf-8", errors="replace")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with a new password: length (12-128), the user name inside it, too few distinct
    characters, or a known common/breached password. No composition rules (V2.1.9)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if len(set(password)) < 4:
        problems.append("too few distinct characters")
    if password.strip().lower() in common_passwords():
        problems.append("a commonly used or breached password; choose another")
    return problems
