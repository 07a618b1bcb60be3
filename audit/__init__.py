"""audit/: the tamper-evident, publicly verifiable audit log (RFC 9162 Merkle tree, signed checkpoints).

Services record their decisions with :func:`record` in the same transaction as the change::

    audit.record(session, principal, "registry:project:approve", object_type="project",
                 object_id=project.id, state=project_state, details={"comment": "..."})

Batches (imports, scheduled jobs) use :func:`record_many` — one executemany for the events and one for the
subtree nodes::

    audit.record_many(session, principal, [{"action": "secmon:alert:ingest", "object_type": "alert",
                                            "object_id": a.id, "details": {...}} for a in alerts])

Imports only kernel (and SQLModel / cryptography); knows nothing about Flask.
"""

from audit import policies  # noqa: F401  (registers the audit policies)
from audit.log import record, record_many
from audit.models import AuditCheckpoint, AuditEvent, AuditNode, RecordedEvent

__all__ = ["AuditCheckpoint", "AuditEvent", "AuditNode", "RecordedEvent", "record", "record_many"]
