"""C2SP signed notes with Ed25519, tlog-checkpoint bodies, and the key directory.

Formats (C2SP ``signed-note`` / ``tlog-checkpoint``; byte-compatible with golang.org/x/mod/sumdb/note):

* note: UTF-8 text ending in ``\\n``, a blank line, then one or more signature lines
  ``— <key name> <base64(key hash (4 bytes, big-endian) || signature)>\\n``;
* Ed25519 key hash: the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``; the key id
  printed everywhere is its 8 hex digits;
* verifier key: ``<name>+<key id>+<base64(0x01 || public key)>``; signer key:
  ``PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte seed)>``;
* checkpoint body: ``<origin>\\n<tree size>\\n<base64(root hash)>\\n`` (+ optional extension lines).

Key directory (given explicitly by the caller, e.g. the instance folder's ``audit-keys/``):
``signing.key`` — the current signer key (mode 0600); ``<key id>.pub`` — the verifier key of every key
ever used, kept after rotation so old checkpoints still verify. Signature lines by unknown keys are
ignored (key rotation, witness cosignatures), but a note with no signature by a known key is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

__all__ = [
    "Checkpoint",
    "NoteError",
    "Signer",
    "Verifier",
    "format_checkpoint",
    "generate_key",
    "has_signer",
    "load_signer",
    "load_verifiers",
    "open_note",
    "parse_checkpoint",
    "read_public_keys",
    "rotate_key",
    "sign_note",
]

ALG_ED25519 = 1
SIGNING_KEY_FILE = "signing.key"
_SIG_PREFIX = "\u2014 "  # em dash + space
_NAME_RE = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A malformed note / checkpoint / key, or a signature that does not verify."""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name or not _NAME_RE.match(name):
        raise NoteError(f"invalid key name / origin {name!r}: non-empty, no spaces, no '+'")
    return name


def _key_hash(name: str, public: bytes) -> int:
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4], "big")


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Verifier:
    name: str
    key_hash: int
    public: bytes

    @property
    def key_id(self) -> str:
        return f"{self.key_hash:08x}"

    @classmethod
    def from_string(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key must look like <name>+<key id>+<base64 key>")
        name, hash_hex, key_b64 = parts
        _check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise NoteError("verifier key id must be 8 lower-case hex digits")
        raw = _b64decode(key_b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        public = raw[1:]
        if _key_hash(name, public) != int(hash_hex, 16):
            raise NoteError("verifier key id does not match its name and key")
        return cls(name, int(hash_hex, 16), public)

    def to_string(self) -> str:
        return f"{self.name}+{self.key_id}+{base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key_hash: int
    seed: bytes

    @property
    def key_id(self) -> str:
        return f"{self.key_hash:08x}"

    @property
    def verifier(self) -> Verifier:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return Verifier(self.name, self.key_hash, public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(name, _key_hash(name, public), seed)

    @classmethod
    def from_string(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key must look like PRIVATE+KEY+<name>+<key id>+<base64 key>")
        name, hash_hex, key_b64 = parts[2:]
        _check_name(name)
        raw = _b64decode(key_b64, "signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(name, int(hash_hex, 16) if re.fullmatch(r"[0-9a-f]{8}", hash_hex) else -1, raw[1:])
        if _key_hash(name, signer.verifier.public) != signer.key_hash:
            raise NoteError("signer key id does not match its name and key")
        return signer

    def to_string(self) -> str:
        return f"PRIVATE+KEY+{self.name}+{self.key_id}+{base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()}"

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


# --------------------------------------------------------------------------------------------------
# Notes


def sign_note(text: str, signer: Signer) -> str:
    """A signed note: ``text`` (must end in a newline, no blank lines) plus one signature line."""
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must be non-empty lines ending in a newline")
    sig = signer.sign(text.encode("utf-8"))
    blob = base64.b64encode(signer.key_hash.to_bytes(4, "big") + sig).decode()
    return f"{text}\n{_SIG_PREFIX}{signer.name} {blob}\n"


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """Verify ``note`` and return ``(text, verifiers that signed it)``.

    Signatures by keys not in ``verifiers`` are ignored; a signature by a known key (same name and key
    hash) that fails to verify is an error; at least one known key must have signed.
    """
    if not isinstance(note, str) or not note.endswith("\n"):
        raise NoteError("note must end with a newline (truncated?)")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not text.strip():
        raise NoteError("note text is empty")
    known = {(v.name, v.key_hash): v for v in verifiers}
    message = text.encode("utf-8")
    signed_by: list[Verifier] = []
    lines = sig_block.split("\n")[:-1]
    if not lines:
        raise NoteError("note has no signature lines")
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError("malformed signature line")
        try:
            name, blob = line[len(_SIG_PREFIX) :].split(" ")
        except ValueError:
            raise NoteError("malformed signature line") from None
        raw = _b64decode(blob, "signature")
        if len(raw) < 5:
            raise NoteError("signature too short")
        key_hash = int.from_bytes(raw[:4], "big")
        v = known.get((name, key_hash))
        if v is None:
            continue  # unknown key: ignored (rotation, cosignatures)
        if not v.verify(message, raw[4:]):
            raise NoteError(f"signature by key {name}+{v.key_id} does not verify")
        signed_by.append(v)
    if not signed_by:
        ids = sorted({f"{int.from_bytes(_b64decode(ln.split(' ')[-1], 'signature')[:4], 'big'):08x}" for ln in lines})
        raise NoteError(f"note is not signed by any known key (signed by key id(s) {', '.join(ids)})")
    return text, signed_by


# --------------------------------------------------------------------------------------------------
# Checkpoints


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def format_checkpoint(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    _check_name(origin)
    if size < 0 or len(root) != 32:
        raise NoteError("checkpoint needs a size >= 0 and a 32-byte root")
    return "".join(f"{line}\n" for line in (origin, str(size), base64.b64encode(root).decode(), *extensions))


def parse_checkpoint(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise NoteError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not ln for ln in lines):
        raise NoteError("checkpoint needs origin, size and root hash lines, none empty")
    origin, size_s, root_s = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size_s):
        raise NoteError("checkpoint tree size must be a decimal without leading zeros")
    root = _b64decode(root_s, "checkpoint root hash")
    if len(root) != 32:
        raise NoteError("checkpoint root hash must be 32 bytes")
    return Checkpoint(origin, int(size_s), root, tuple(lines[3:]))


# --------------------------------------------------------------------------------------------------
# Key directory


def _write_private(path: Path, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", text=True)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_public(key_dir: Path, verifier: Verifier) -> Path:
    path = key_dir / f"{verifier.key_id}.pub"
    if path.exists():
        if Verifier.from_string(path.read_text()) != verifier:
            raise NoteError(f"{path} already holds a different key")
        return path
    path.write_text(verifier.to_string() + "\n")
    return path


def has_signer(key_dir: str | os.PathLike) -> bool:
    return (Path(key_dir) / SIGNING_KEY_FILE).is_file()


def generate_key(key_dir: str | os.PathLike, name: str) -> Signer:
    """Create the first signing key in ``key_dir`` (refuses if one exists: use :func:`rotate_key`)."""
    d = Path(key_dir)
    d.mkdir(parents=True, exist_ok=True)
    if has_signer(d):
        raise NoteError(f"{d / SIGNING_KEY_FILE} exists; rotate instead")
    signer = Signer.generate(name)
    _write_public(d, signer.verifier)
    _write_private(d / SIGNING_KEY_FILE, signer.to_string() + "\n")
    return signer


def load_signer(key_dir: str | os.PathLike) -> Signer:
    path = Path(key_dir) / SIGNING_KEY_FILE
    if not path.is_file():
        raise NoteError(f"no signing key at {path}")
    return Signer.from_string(path.read_text())


def load_verifiers(key_dir: str | os.PathLike) -> list[Verifier]:
    """Every verifier key kept in ``key_dir`` (current and retired)."""
    d = Path(key_dir)
    return [Verifier.from_string(p.read_text()) for p in sorted(d.glob("*.pub"))] if d.is_dir() else []


def read_public_keys(path: str | os.PathLike) -> list[Verifier]:
    """Verifier keys from a file (one per line, ``#`` comments allowed) or a directory of ``*.pub`` files."""
    p = Path(path)
    if p.is_dir():
        return load_verifiers(p)
    if not p.is_file():
        raise NoteError(f"public key file {p} not found")
    keys = [Verifier.from_string(ln) for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if not keys:
        raise NoteError(f"{p} holds no verifier key")
    return keys


def prepare_rotation(key_dir: str | os.PathLike, name: str | None = None) -> tuple[Signer, Signer | None]:
    """Generate the next key and publish its verifier key (harmless until :func:`rotate_key` activates it)."""
    d = Path(key_dir)
    d.mkdir(parents=True, exist_ok=True)
    old = load_signer(d) if has_signer(d) else None
    new = Signer.generate(name or (old.name if old else ""))
    _write_public(d, new.verifier)
    if old is not None:
        _write_public(d, old.verifier)
    return new, old


def rotate_key(key_dir: str | os.PathLike, new: Signer) -> None:
    """Make ``new`` the signing key; the old private key is overwritten, its ``.pub`` is kept."""
    d = Path(key_dir)
    _write_public(d, new.verifier)
    _write_private(d / SIGNING_KEY_FILE, new.to_string() + "\n")
