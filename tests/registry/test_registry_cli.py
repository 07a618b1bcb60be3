"""citygov projects …: exit codes, --format json, import refusing unknown organisations."""

from __future__ import annotations

import json

from tests.registry.conftest import proposal


def test_cli_submit_import_similar_export(runner, db_session, tmp_path):
    from tests.factories import make_org

    make_org(db_session, "CLI-A", name="命令行甲局")
    f = tmp_path / "p.json"
    f.write_text(json.dumps(proposal(organisation="CLI-A"), ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(["projects", "submit", str(f), "--format", "json"])
    assert r.exit_code == 0, r.output
    pid = json.loads(r.output)["id"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(proposal(organisation="CLI-A", mlps_level=9)), encoding="utf-8")
    assert runner.invoke(["projects", "submit", str(bad)]).exit_code == 2
    lib = tmp_path / "lib.ndjson"
    lib.write_text("\n".join(json.dumps(proposal(organisation=o, title=t), ensure_ascii=False)
                             for o, t in (("CLI-A", "命令行项目一"), ("CLI-NEW", "命令行项目二"))), encoding="utf-8")
    refused = runner.invoke(["projects", "import", str(lib)])
    assert refused.exit_code == 2 and "CLI-NEW" in refused.output
    ok = runner.invoke(["projects", "import", str(lib), "--create-organisations", "--submit", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["imported"] == 2
    sim = runner.invoke(["projects", "similar", "--id", pid, "--top", "3", "--format", "json"])
    assert sim.exit_code == 0 and json.loads(sim.output)["items"], sim.output
    assert runner.invoke(["projects", "similar"]).exit_code == 2
    assert runner.invoke(["projects", "show", pid]).exit_code == 0
    assert runner.invoke(["projects", "show", "nope"]).exit_code == 2
    lst = runner.invoke(["projects", "list", "--format", "json", "--state", "prechecked"])
    assert json.loads(lst.output)["total"] >= 3
    out = tmp_path / "x.xlsx"
    assert runner.invoke(["projects", "export", "-o", str(out)]).exit_code == 0 and out.stat().st_size > 0
    assert runner.invoke(["projects", "export", "-o", str(tmp_path / "x.txt")]).exit_code == 2
    assert runner.invoke(["projects", "decide", pid, "--decision", "approved", "--reason", "同意"]).exit_code == 2  # not reviewed
    assert runner.invoke(["projects", "review", pid, "--score", "necessity"]).exit_code == 2
