"""Periodic checkpoint signing: the scheduler seals the audit log so auditors can follow it.

Idempotent: when no event was appended since the last checkpoint, nothing new is signed; a tree that
is inconsistent with an earlier checkpoint is refused (Conflict), never signed.
"""

from __future__ import annotations

from portal.scheduler import JobSpec

JOBS = [
    JobSpec(id="audit:checkpoint:sign", func="portal.scheduler_jobs.audit:sign_checkpoint", trigger="interval",
            trigger_args={"minutes": 10}, misfire_grace_time=3600,
            description="Sign a checkpoint of the audit log"),
]


def sign_checkpoint() -> str:
    from audit import checkpoints
    from portal.cli._common import cli_session
    from portal.keys import key_dir, origin

    with cli_session("scheduler:audit-checkpoint") as (session, system):
        cp = checkpoints.checkpoint_sign(session, system, key_dir=key_dir(), origin=origin())
        return f"checkpoint size {cp.tree_size}"
