"""Demo flow of the audit log: after every other flow has recorded its decisions, sign a checkpoint,
verify the whole log against it, and prove the last decision's inclusion — as an outside auditor would."""

from __future__ import annotations

import base64

from portal.demo import DemoContext

ORDER = 900  # last: it seals what the other flows recorded


def run(ctx: DemoContext) -> dict:
    from audit import checkpoints, merkle, notes
    from audit.proofs import current_size, inclusion_proof
    from audit.verify import verify_log
    from portal.keys import key_dir, origin

    session = ctx.session
    checkpoint = checkpoints.checkpoint_sign(session, ctx.system, key_dir=key_dir(), origin=origin())
    report = verify_log(session, notes.load_verifiers(key_dir()))
    size = checkpoint.tree_size
    proof = inclusion_proof(session, size - 1, size)
    proven = merkle.verify_inclusion(size - 1, size, base64.b64decode(proof["leaf_hash"]),
                                     [base64.b64decode(p) for p in proof["proof"]], checkpoint.root_hash)
    return {"events": current_size(session), "checkpoint_size": size, "verified": report.ok,
            "last_event_inclusion_proven": proven}
