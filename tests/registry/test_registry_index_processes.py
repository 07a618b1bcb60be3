"""One similarity index for every process: a long-running process and cold CLI processes agree after a change
made by another process, and the cold ones map the persisted snapshot instead of rebuilding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from registry import generator

ROOT = Path(__file__).resolve().parents[2]

SERVER = textwrap.dedent("""
    import json, sys
    from portal import create_app
    from portal.db import get_db
    from kernel.principal import system_principal
    from registry import services as reg, indexstore
    app = create_app()
    for line in sys.stdin:
        pid = line.strip()
        with app.app_context():
            with get_db(app).session_scope() as s:
                items = reg.project_similar(s, system_principal("test"), project_id=pid, top=5)
                live = indexstore.live_index(s)
                print(json.dumps({"ids": [m["id"] for m in items], "scores": [m["score"] for m in items],
                                  "seq": live.seq, "source": live.source}), flush=True)
""")


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update({"CITYGOV_INSTANCE_PATH": str(tmp_path / "inst"), "CITYGOV_ENV": "development",
                "CITYGOV_SECRET_KEY": "x" * 40, "CITYGOV_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                "PYTHONPATH": str(ROOT)})
    return env


def _cli(env, *args) -> dict:
    r = subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", *args, "--format", "json"], env=env, capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(r.stdout)


@pytest.mark.slow
def test_two_processes_agree_after_an_import_by_a_third(tmp_path):
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", "db", "upgrade"], env=env, check=True, cwd=ROOT,
                   capture_output=True, timeout=300)
    docs = generator.library(300, seed=11)
    for i, d in enumerate(docs):
        d.update(state="approved", approved_on="2024-01-02", decision_ref=f"TEST-{i}")
    (tmp_path / "lib.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    out = _cli(env, "projects", "import", str(tmp_path / "lib.json"), "--create-organisations")
    assert out["imported"] == 300 and out["indexed"] == 300
    snap = tmp_path / "inst" / "registry-index"
    assert (snap / "CURRENT").exists()
    target = out["ids"][42]

    server = subprocess.Popen([sys.executable, "-c", SERVER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        server.stdin.write(target + "\n")
        server.stdin.flush()
        first = json.loads(server.stdout.readline())
        assert first["source"] == "snapshot" and target not in first["ids"]
        # a third process imports a near-duplicate of the target
        import random

        dup, _info = generator.near_duplicate(docs[42], random.Random(3), edit_rate=0.1)
        dup.update(title=dup["title"] + "（复制）", state="submitted", submitted_on="2026-01-05")
        dup.pop("approved_on", None)
        dup.pop("decision_ref", None)
        (tmp_path / "dup.json").write_text(json.dumps([dup], ensure_ascii=False), encoding="utf-8")
        new_id = _cli(env, "projects", "import", str(tmp_path / "dup.json"), "--create-organisations")["ids"][0]
        server.stdin.write(target + "\n")
        server.stdin.flush()
        second = json.loads(server.stdout.readline())
    finally:
        server.stdin.close()
        server.wait(timeout=60)
    assert second["seq"] > first["seq"] and second["ids"][0] == new_id
    cold = _cli(env, "projects", "similar", "--id", target)
    assert [m["id"] for m in cold["items"]] == second["ids"]
    assert [m["score"] for m in cold["items"]] == second["scores"]


def test_snapshot_is_mapped_caught_up_and_refused_when_foreign(world, tmp_path):
    from registry import indexstore
    from registry import services as reg
    from tests.registry.conftest import proposal

    s, admin = world.session, world.p["admin"]
    rows = [(i, proposal(organisation=world.org_a.code, title=f"快照项目{i}", state="approved",
                         approved_on="2024-01-01", decision_ref=f"S-{i}")) for i in range(1, 4)]
    created = reg.project_import(s, admin, rows, resolve_org=lambda ref: world.org_a.id)
    indexstore.configure(s.get_bind(), tmp_path / "idx")
    live = indexstore.refresh(s)
    assert live.source == "built" and (tmp_path / "idx" / "CURRENT").exists()
    indexstore._LIVE.clear()
    again = indexstore.live_index(s)
    assert again.source == "snapshot" and all(p.id in again.index for p in created)
    # a change after the snapshot is caught up from the counter alone
    p = reg.project_create(s, world.p["sub_a"], proposal(organisation=world.org_a.code, title="快照之后"),
                           org_id=world.org_a.id)
    reg.project_submit(s, world.p["sub_a"], p.id)
    assert p.id in indexstore.live_index(s).index
    # a snapshot of another library (other uid) is ignored and rebuilt
    meta = tmp_path / "idx" / (tmp_path / "idx" / "CURRENT").read_text() / "meta.json"
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps({**doc, "uid": "someone-else"}))
    indexstore._LIVE.clear()
    assert indexstore.live_index(s).source == "built"


def test_snapshot_made_with_another_glossary_is_rebuilt(world, tmp_path, monkeypatch):
    """The stored vectors depend on the zh↔en glossary (data officials edit): a snapshot made with another
    glossary is refused and rebuilt; one made with the same glossary hands its derived pairs to a cold process."""
    from registry import indexstore
    from registry import services as reg
    from registry import similarity as sim
    from tests.registry.conftest import proposal

    s, admin = world.session, world.p["admin"]
    rows = [(1, proposal(organisation=world.org_a.code, title="Video surveillance 视频监控平台", state="approved",
                         approved_on="2024-01-01", decision_ref="G-1"))]
    reg.project_import(s, admin, rows, resolve_org=lambda ref: world.org_a.id)
    indexstore.configure(s.get_bind(), tmp_path / "idx")
    assert indexstore.refresh(s).source == "built"
    snap = tmp_path / "idx" / (tmp_path / "idx" / "CURRENT").read_text()
    assert json.loads((snap / "meta.json").read_text())["glossary"] == sim.glossary_digest()
    assert json.loads((snap / "glossary.json").read_text(encoding="utf-8")) == sim.glossary_pairs()
    # same glossary: mapped
    indexstore._LIVE.clear()
    assert indexstore.live_index(s).source == "snapshot"
    # an official edits the glossary: the snapshot's vectors are stale, so it is rebuilt
    edited = sim._glossary_text() + "  - {zh: 城市大脑, en: city brain}\n"
    monkeypatch.setattr(sim, "_glossary_text", lambda: edited)
    for fn in (sim.glossary_digest, sim.glossary_pairs, sim.glossary):
        fn.cache_clear()
    try:
        indexstore._LIVE.clear()
        live = indexstore.live_index(s)
        assert live.source == "built"
        assert sim.glossary_pairs()["city brain"] == "城市大脑"
    finally:
        monkeypatch.undo()
        for fn in (sim.glossary_digest, sim.glossary_pairs, sim.glossary):
            fn.cache_clear()
        indexstore._LIVE.clear()
