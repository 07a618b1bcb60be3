"""audit/: the tamper-evident, publicly verifiable audit log (RFC 9162 Merkle tree, signed checkpoints).

Services record their decisions with :func:`record` in the same transaction as the change::

    audit.record(session, principal, "registry:project:approve", object_type="project",
                 object_id=project.id, state=project_state, details={"comment": "..."})

Imports only kernel (and SQLModel / cryptography); knows nothing about Flask.
"""

from audit import policies  # noqa: F401  (registers the audit policies)
from audit.log import record
from audit.models import AuditCheckpoint, AuditEvent, AuditNode

__all__ = ["AuditCheckpoint", "AuditEvent", "AuditNode", "record"]
