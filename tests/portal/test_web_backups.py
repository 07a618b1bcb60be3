"""The admin page of the last backups: what ``citygov backup`` recorded in the audit log, admins only."""

from __future__ import annotations

from kernel.principal import system_principal
from portal.backup import backup_history, backup_record


def _manifest(tree_size: int) -> dict:
    return {"format": "citygov-backup/1", "created_at": f"2026-12-01T03:0{tree_size}:00+00:00", "backend": "sqlite",
            "audit_tree_size": tree_size, "database": "database.sqlite",
            "parts": [{"path": "database.sqlite", "bytes": 4096, "sha256": "0" * 64}]}


def test_backups_page_lists_recorded_backups_for_admins_only(client, auth, db_session, tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "manifest.json").write_text("{}")
    backup_record(db_session, system_principal("cli:backup"), tmp_path / "gone", _manifest(1))
    backup_record(db_session, system_principal("cli:backup"), kept, _manifest(2))
    items = backup_history(db_session, system_principal("test"))
    assert [b["path"] for b in items] == [str(kept), str(tmp_path / "gone")]  # newest first
    assert [b["present"] for b in items] == [True, False] and items[0]["bytes"] == 4096

    auth.user("department_submitter", username="dora")
    auth.login(client, "dora")
    assert client.get("/admin/backups").status_code == 403
    admin = client.application.test_client()
    auth.user("commission_admin", username="ada")
    auth.login(admin, "ada")
    page = admin.get("/admin/backups")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert str(kept) in text and str(tmp_path / "gone") in text and "/admin/backups" in text  # nav entry too
