"""Certificates: JWS compact serialisation with EdDSA (RFC 7515 + RFC 8037), signed with the platform's
Ed25519 key — the audit log's signer key (:mod:`audit.notes`: ``<key_dir>/signing.key``, verifier keys
``<key id>.pub``), so one public key verifies both the certificate and the checkpoint it is proven against.

A certificate *file* is canonical JSON (sorted keys, no insignificant whitespace, a final newline)::

    {"format": "citygov-certificate/1",
     "jws": "<header>.<claims>.<signature>",
     "state": {...},                     # the issue event's state: serial, sha256 of the JWS, …
     "log": {"leaf": "<base64 leaf input>", "leaf_index": i, "tree_size": n,
             "proof": ["<base64 hash>", …], "checkpoint": "<signed note>"}}

:func:`verify_file` checks, offline: the bytes are exactly the canonical form (so no byte can change
unnoticed), the JWS signature by a known key, the time window, that the audit leaf is the issue event of
this serial committing to this state (and the state to this JWS), the inclusion proof up to the
checkpoint's root, and the checkpoint's signature. Revocation status is checked when a lookup is given
(online).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit import merkle, notes
from audit.canonical import canonical_bytes, normalize

FORMAT = "citygov-certificate/1"
TYP = "citygov-certificate+jws"
ISSUE_ACTION = "registry:certificate:issue"
MAX_FILE_BYTES = 1024 * 1024


class CertificateError(ValueError):
    """A certificate (file or JWS) that is malformed or does not verify."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "=+/ \n"):
        raise CertificateError("invalid base64url segment")
    try:
        out = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CertificateError("invalid base64url segment") from None
    if b64url(out) != text:  # unused trailing bits set: a second spelling of the same bytes
        raise CertificateError("non-canonical base64url segment")
    return out


def _b64_strict(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    out = base64.b64decode(text, validate=True)
    if base64.b64encode(out).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return out


def _note_canonical(note: Any) -> None:
    """Every signature blob of a signed note is canonical base64 (else a byte could change unnoticed)."""
    if not isinstance(note, str) or "\n\n" not in note:
        raise notes.NoteError("malformed note")
    for line in note[note.rfind("\n\n") + 2:].split("\n")[:-1]:
        try:
            _b64_strict(line.rsplit(" ", 1)[-1])
        except ValueError:
            raise notes.NoteError("non-canonical signature encoding") from None


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------------------------- keys


def signer(key_dir: str | os.PathLike, origin: str) -> notes.Signer:
    """The platform's signer key (created, named ``origin``, when the key directory has none yet)."""
    if not notes.has_signer(key_dir):
        notes.generate_key(key_dir, origin)
    return notes.load_signer(key_dir)


def jwk(v: notes.Verifier) -> dict[str, Any]:
    """The JWK (RFC 8037 ``OKP`` / ``Ed25519``) of a verifier key, with its audit-log verifier string."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(v.public), "kid": v.key_id, "alg": "EdDSA", "use": "sig",
            "verifier_key": v.to_string()}


def public_keys(key_dir: str | os.PathLike) -> list[notes.Verifier]:
    return notes.load_verifiers(key_dir)


def read_keys(path: str | os.PathLike) -> list[notes.Verifier]:
    """Verifier keys from a JWKS file (``{"keys": [...]}`` with ``verifier_key``), a file of verifier keys
    (one per line) or a directory of ``*.pub`` files."""
    p = Path(path)
    if p.is_file():
        text = p.read_text(encoding="utf-8", errors="replace")
        if text.lstrip().startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError as exc:
                raise CertificateError(f"{p}: not valid JSON: {exc}") from None
            keys = []
            for k in doc.get("keys", []) if isinstance(doc, dict) else []:
                if isinstance(k, dict) and isinstance(k.get("verifier_key"), str):
                    v = notes.Verifier.from_string(k["verifier_key"])
                    if k.get("x") not in (None, b64url(v.public)):
                        raise CertificateError(f"{p}: JWK {k.get('kid')} does not match its verifier key")
                    keys.append(v)
            if not keys:
                raise CertificateError(f"{p}: no key with a 'verifier_key' member")
            return keys
    try:
        return notes.read_public_keys(p)
    except notes.NoteError as exc:
        raise CertificateError(str(exc)) from None


# ----------------------------------------------------------------------------------------------- JWS


def jws_sign(claims: dict[str, Any], key: notes.Signer) -> str:
    header = {"alg": "EdDSA", "typ": TYP, "kid": key.key_id}
    signing_input = f"{b64url(_json_bytes(header))}.{b64url(_json_bytes(claims))}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def jws_verify(token: str, verifiers: list[notes.Verifier]) -> tuple[dict[str, Any], notes.Verifier]:
    """``(claims, verifier)`` of a compact JWS signed with EdDSA by one of ``verifiers``."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > MAX_FILE_BYTES:
        raise CertificateError("not a JWS compact serialisation")
    h, p, s = token.split(".")
    try:
        header = json.loads(b64url_decode(h))
        claims = json.loads(b64url_decode(p))
    except (ValueError, UnicodeDecodeError):
        raise CertificateError("JWS header or payload is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise CertificateError("JWS algorithm must be EdDSA")
    if header.get("crit"):
        raise CertificateError("JWS has critical header parameters this verifier does not understand")
    kid = header.get("kid")
    candidates = [v for v in verifiers if v.key_id == kid] or ([] if kid else list(verifiers))
    if not candidates:
        raise CertificateError(f"JWS is signed with key {kid!r}, which is not among the given public keys")
    sig = b64url_decode(s)
    for v in candidates:
        if v.verify(f"{h}.{p}".encode("ascii"), sig):
            if not isinstance(claims, dict):
                raise CertificateError("JWS payload is not a JSON object")
            return claims, v
    raise CertificateError("JWS signature does not verify")


def jws_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------------------------- files


def issue_state(serial: str, token: str, claims: dict[str, Any]) -> dict[str, Any]:
    """The state recorded with the issue event (the leaf commits to its digest)."""
    return {"serial": serial, "status": "valid", "jws_sha256": jws_sha256(token), "vendor": claims.get("vendor"),
            "system": claims.get("system"), "standard": claims.get("standard"), "exp": claims.get("exp")}


def build_file(token: str, state: dict[str, Any], leaf: bytes, proof: dict[str, Any], checkpoint_note: str) -> str:
    doc = {"format": FORMAT, "jws": token, "state": state,
           "log": {"leaf": base64.b64encode(leaf).decode(), "leaf_index": int(proof["leaf_index"]),
                   "tree_size": int(proof["tree_size"]), "proof": list(proof["proof"]), "checkpoint": checkpoint_note}}
    return _json_bytes(doc).decode("utf-8") + "\n"


def verify_file(data: bytes | str, verifiers: list[notes.Verifier], *, now: datetime | None = None,
                status_lookup: Callable[[str], dict[str, Any] | None] | None = None) -> dict[str, Any]:
    """Verify a certificate file; returns ``{valid, serial, claims, checks: {...}, problems: [...]}``.

    ``checks`` has ``canonical``, ``signature``, ``time``, ``log_inclusion``, ``checkpoint`` and
    ``revocation`` (``"unchecked"`` offline) — each ``"ok"``, ``"failed"`` or ``"unchecked"``.
    """
    out: dict[str, Any] = {"valid": False, "serial": None, "claims": None, "status": None,
                           "checks": {k: "unchecked" for k in ("canonical", "signature", "time", "log_inclusion",
                                                                 "checkpoint", "revocation")},
                           "problems": []}
    checks, problems = out["checks"], out["problems"]

    def fail(check: str, message: str) -> dict[str, Any]:
        checks[check] = "failed"
        problems.append({"check": check, "message": message})
        return out

    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_FILE_BYTES:
        return fail("canonical", f"file is larger than {MAX_FILE_BYTES} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return fail("canonical", f"not a certificate file (not JSON): {exc}")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return fail("canonical", f"not a {FORMAT} file")
    if set(doc) != {"format", "jws", "state", "log"} or not isinstance(doc.get("log"), dict) \
            or set(doc["log"]) != {"leaf", "leaf_index", "tree_size", "proof", "checkpoint"}:
        return fail("canonical", "unexpected or missing members")
    if raw != _json_bytes(doc) + b"\n":
        return fail("canonical", "the file is not in its canonical form: it was modified")
    checks["canonical"] = "ok"
    token, state, log = doc["jws"], doc["state"], doc["log"]

    try:
        claims, verifier = jws_verify(token, verifiers)
    except (CertificateError, notes.NoteError) as exc:
        return fail("signature", str(exc))
    checks["signature"] = "ok"
    out["claims"] = claims
    out["serial"] = serial = claims.get("serial")
    out["key_id"] = verifier.key_id

    now = now or datetime.now(UTC)
    ts = int(now.timestamp())
    exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not isinstance(exp, int) or isinstance(exp, bool):
        fail("time", "certificate has no expiry time")
    elif ts >= exp:
        fail("time", f"certificate expired at {datetime.fromtimestamp(exp, UTC).isoformat()}")
    elif isinstance(nbf, int) and ts + 300 < nbf:
        fail("time", "certificate is not valid yet")
    else:
        checks["time"] = "ok"

    # the audit leaf is the issue event of this serial, committing to this state, which names this JWS
    try:
        leaf = _b64_strict(log["leaf"])
        event = json.loads(leaf)
        proof = [_b64_strict(p) for p in log["proof"]]
        index, size = int(log["leaf_index"]), int(log["tree_size"])
    except (binascii.Error, ValueError, TypeError) as exc:
        return fail("log_inclusion", f"malformed log section: {exc}")
    state_digest = hashlib.sha256(canonical_bytes(normalize(state))).hexdigest() if isinstance(state, dict) else None
    if not isinstance(event, dict) or event.get("action") != ISSUE_ACTION or event.get("object_type") != "certificate":
        fail("log_inclusion", "the log leaf is not a certificate issue event")
    elif event.get("object_id") != serial:
        fail("log_inclusion", "the log leaf records another serial")
    elif event.get("state_sha256") != state_digest:
        fail("log_inclusion", "the log leaf does not commit to the certificate's state")
    elif not isinstance(state, dict) or state.get("jws_sha256") != jws_sha256(token) or state.get("serial") != serial:
        fail("log_inclusion", "the recorded state does not name this JWS")
    try:
        _note_canonical(log["checkpoint"])
        text, _signed_by = notes.open_note(log["checkpoint"], verifiers)
        cp = notes.parse_checkpoint(text)
    except (notes.NoteError, TypeError) as exc:
        return fail("checkpoint", f"checkpoint does not verify: {exc}")
    checks["checkpoint"] = "ok"
    out["checkpoint"] = {"origin": cp.origin, "tree_size": cp.size, "root_hash": base64.b64encode(cp.root).decode()}
    if cp.size != size:
        fail("log_inclusion", f"proof is for tree size {size}, the checkpoint covers {cp.size}")
    elif checks["log_inclusion"] != "failed":
        try:
            merkle.check_inclusion(index, size, merkle.hash_leaf(leaf), proof, cp.root)
            checks["log_inclusion"] = "ok"
        except (merkle.ProofError, ValueError) as exc:
            fail("log_inclusion", f"inclusion proof does not verify: {exc}")

    if status_lookup is not None and serial:
        try:
            status = status_lookup(serial)
        except Exception as exc:  # noqa: BLE001 - an unreachable registry leaves revocation unchecked
            problems.append({"check": "revocation", "message": f"status could not be looked up: {exc}"})
            status = None
        if status is not None:
            out["status"] = status.get("status")
            if status.get("status") == "revoked":
                fail("revocation", f"certificate was revoked: {status.get('status_reason') or 'no reason given'}")
            elif status.get("status") == "unknown":
                fail("revocation", "the registry does not know this certificate")
            else:
                checks["revocation"] = "ok"
    out["valid"] = all(v != "failed" for v in checks.values()) and checks["signature"] == "ok" \
        and checks["log_inclusion"] == "ok" and checks["checkpoint"] == "ok" and checks["time"] == "ok"
    return out


def to_timestamp(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())
