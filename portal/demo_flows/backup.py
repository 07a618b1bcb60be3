"""Demo flow of backup and restore, as an operator rehearses it: an online backup of the whole instance
(database, signing keys, stored files) written beside the instance folder and listed on /admin/backups, then
restored into a new, empty instance that must verify with the same audit root. SQLite only (the embedded
demo); on PostgreSQL the flow takes the backup and leaves the rehearsal to `citygov restore`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from portal.demo import DemoContext

ORDER = 950  # after the audit flow: the backup holds its signed checkpoint


def run(ctx: DemoContext) -> dict:
    from sqlalchemy import create_engine, text
    from sqlmodel import Session

    from audit import notes
    from audit.checkpoints import latest_checkpoint
    from audit.verify import verify_log
    from portal.backup import backend_of, backup_record, create_backup, restore_backup
    from portal.keys import key_dir

    ctx.session.commit()  # the backup is a snapshot of what is committed
    url = ctx.app.config["DATABASE_URL"]
    stamp = ctx.session.execute(text("SELECT count(*) FROM audit_node WHERE level = 0")).scalar()
    dest = ctx.instance.parent / f"{ctx.instance.name}-backup-{stamp}"
    n = 1
    while dest.exists():
        n += 1
        dest = ctx.instance.parent / f"{ctx.instance.name}-backup-{stamp}-{n}"
    manifest = create_backup(dest, database_url=url, instance_path=ctx.instance, key_dir=key_dir())
    backup_record(ctx.session, ctx.system, dest, manifest)
    result = {"backup": str(dest), "parts": len(manifest["parts"]), "audit_tree_size": manifest["audit_tree_size"]}
    if backend_of(url) != "sqlite":
        return result
    original = latest_checkpoint(ctx.session)
    with tempfile.TemporaryDirectory(prefix="citygov-restore-") as tmp:
        restored = Path(tmp) / "instance"
        restored_url = f"sqlite:///{restored / 'citygov.sqlite'}"
        restore_backup(dest, database_url=restored_url, instance_path=restored)
        engine = create_engine(restored_url)
        try:
            with Session(engine) as session:
                report = verify_log(session, notes.load_verifiers(restored / "audit-keys"))
                cp = latest_checkpoint(session)
        finally:
            engine.dispose()
    result.update(restored_verified=report.ok,
                  same_root=cp is not None and original is not None and cp.root_hash == original.root_hash)
    return result
