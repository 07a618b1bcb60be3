"""Pages for everyone, logged in or not: certificate verification (upload the file or enter a serial) and
the audit log's public checkpoint with inclusion and consistency proofs, each verified on the page with
an explanation of what was checked."""

from __future__ import annotations

from flask import render_template, request

from kernel.errors import CityGovError
from portal.db import get_session
from portal.web import bp
from portal.web.nav import N_, add

add("web.certificate_verify", N_("Verify a certificate"), None, order=55)
add("web.transparency", N_("Audit checkpoint"), None, order=60)

MAX_CERT = 1024 * 1024


@bp.route("/certificates/verify", methods=["GET", "POST"])
def certificate_verify():
    from portal.keys import key_dir
    from registry.certify import certificates as certs
    from registry.certify import services

    session = get_session()
    serial = (request.values.get("serial") or "").strip()
    result = cert = None
    error = None
    data: bytes | None = None
    if request.method == "POST" and request.files.get("file") and request.files["file"].filename:
        data = request.files["file"].read(MAX_CERT + 1)
        if len(data) > MAX_CERT:
            error, data = "too_large", None
    elif serial:
        cert = session.get(services.Certificate, serial) if len(serial) <= 40 else None
        if cert is None:
            error = "unknown_serial"
        else:
            data = (cert.document or "").encode("utf-8")
    elif request.method == "POST":
        error = "nothing"
    if data is not None:
        result = services.verify(session, data, certs.public_keys(key_dir()))
        if result.get("serial") and cert is None:
            cert = session.get(services.Certificate, result["serial"])
    status = 200 if error is None else (404 if error == "unknown_serial" else 422)
    return render_template("web/certificate_verify.html", serial=serial, result=result, cert=cert,
                           error=error), status


@bp.get("/transparency")
def transparency():
    """The latest signed checkpoint; proofs on request (GET forms: the proof's address is shareable)."""
    import base64

    from audit import merkle
    from audit.checkpoints import checkpoint_json, latest_checkpoint
    from audit.proofs import consistency_proof, current_size, inclusion_proof, inclusion_proof_by_hash

    session = get_session()
    cp = latest_checkpoint(session)
    checkpoint = checkpoint_json(cp) if cp else None
    args = {k: request.args.get(k, "").strip() for k in ("index", "hash", "size", "first", "second")}
    inclusion = consistency = None
    errors: dict[str, str] = {}
    if args["index"] or args["hash"]:
        try:
            size = args["size"] or (str(checkpoint["tree_size"]) if checkpoint else None)
            proof = (inclusion_proof_by_hash(session, args["hash"], size) if args["hash"]
                     else inclusion_proof(session, args["index"], size))
            ok = merkle.verify_inclusion(proof["leaf_index"], proof["tree_size"], base64.b64decode(proof["leaf_hash"]),
                                         [base64.b64decode(p) for p in proof["proof"]],
                                         base64.b64decode(proof["root_hash"]))
            matches_cp = bool(checkpoint and checkpoint["tree_size"] == proof["tree_size"]
                              and checkpoint["root_hash"] == proof["root_hash"])
            inclusion = {**proof, "verified": ok, "matches_checkpoint": matches_cp}
        except CityGovError as exc:
            errors["inclusion"] = exc.detail
    if args["first"]:
        try:
            second = args["second"] or (str(checkpoint["tree_size"]) if checkpoint else None)
            proof = consistency_proof(session, args["first"], second)
            ok = merkle.verify_consistency(proof["first"], proof["second"], base64.b64decode(proof["first_root"]),
                                           base64.b64decode(proof["second_root"]),
                                           [base64.b64decode(p) for p in proof["proof"]])
            matches_cp = bool(checkpoint and checkpoint["tree_size"] == proof["second"]
                              and checkpoint["root_hash"] == proof["second_root"])
            consistency = {**proof, "verified": ok, "matches_checkpoint": matches_cp}
        except CityGovError as exc:
            errors["consistency"] = exc.detail
    status = 400 if errors else 200
    return render_template("web/transparency.html", checkpoint=checkpoint, size=current_size(session),
                           args=args, inclusion=inclusion, consistency=consistency, errors=errors), status
