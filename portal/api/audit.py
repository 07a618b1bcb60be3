"""The audit log's API: public, CT-style read endpoints and the auditors' browse endpoint."""

from __future__ import annotations

from flask import Blueprint, request

from kernel.errors import BadRequest
from portal.api import ok, public
from portal.auth import current_principal
from portal.db import get_session
from portal.lazy import lazy

browse = lazy("audit.browse")
checkpoints = lazy("audit.checkpoints")
proofs = lazy("audit.proofs")

bp = Blueprint("api_audit", __name__)

_CACHE = {"Cache-Control": "no-cache"}


def _arg(name: str) -> str | None:
    value = request.args.get(name)
    return value if value not in (None, "") else None


def _proof_arg(name: str) -> str | None:
    """A tree coordinate (index, hash, size, first, second, start, end): absent is the default, present but empty is
    neither an integer nor a hash (as the document says), so it is refused rather than read as absent."""
    value = request.args.get(name)
    if value is not None and not value.strip():
        raise BadRequest(f"query parameter {name!r} is empty")
    return value


def _time_arg(name: str) -> str | None:
    """A time filter: absent is no filter; present but empty is not an RFC 3339 time (as the document says)."""
    value = request.args.get(name)
    if value is not None and not value.strip():
        raise BadRequest(f"{name} must be an RFC 3339 time")
    return value


@bp.get("/audit/checkpoint")
@public
def get_checkpoint():
    cp = checkpoints.public_checkpoint(get_session())
    return ok(checkpoints.checkpoint_json(cp), headers=_CACHE)


@bp.get("/audit/proof/inclusion")
@public
def get_inclusion_proof():
    index, leaf_hash, size = _proof_arg("index"), _proof_arg("hash"), _proof_arg("size")
    if (index is None) == (leaf_hash is None):
        raise BadRequest("give exactly one of the query parameters 'index' and 'hash'")
    session = get_session()
    if leaf_hash is not None:
        return ok(proofs.inclusion_proof_by_hash(session, leaf_hash, size))
    return ok(proofs.inclusion_proof(session, index, size))


@bp.get("/audit/proof/consistency")
@public
def get_consistency_proof():
    first = _proof_arg("first")
    if first is None:
        raise BadRequest("query parameter 'first' is required")
    return ok(proofs.consistency_proof(get_session(), first, _proof_arg("second")))


@bp.get("/audit/entries")
@public
def get_entries():
    return ok(proofs.entries(get_session(), _proof_arg("start") or 0, _proof_arg("end")))


@bp.get("/audit/events")
def browse_events():
    result = browse.events_browse(
        get_session(),
        current_principal(),
        area=_arg("area"),
        actor=_arg("actor"),
        object_type=_arg("object_type"),
        object_id=_arg("object_id"),
        since=_time_arg("since"),
        until=_time_arg("until"),
        limit=_arg("limit"),
        offset=_arg("offset"),
    )
    return ok(result)
