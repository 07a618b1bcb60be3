import json

from tests.factories import make_org


def test_user_add_and_token_create(runner, db_session):
    make_org(db_session, "CLI-ORG")
    result = runner.invoke(["user", "add", "mia", "--org", "CLI-ORG", "--role", "data_steward", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["username"] == "mia" and data["generated_password"]
    token = runner.invoke(["token", "create", "--user", "mia", "--name", "etl", "--scope", "opendata:*"])
    assert token.exit_code == 0 and token.output.strip().startswith("cgv_")


def test_bad_input_exits_2_with_a_message(runner):
    result = runner.invoke(["user", "add", "x", "--org", "NO-SUCH-ORG", "--password", "long enough password"])
    assert result.exit_code == 2
    assert "org" in result.output


def test_db_current_reports_up_to_date(runner):
    result = runner.invoke(["db", "current", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["up_to_date"] is True


def test_init_and_demo_on_a_fresh_instance(tmp_path, monkeypatch):
    """The main job: `citygov demo` initialises a fresh SQLite instance, seeds it and runs every flow."""
    from click.testing import CliRunner

    from portal.cli import _register_areas, cli

    _register_areas()
    monkeypatch.delenv("CITYGOV_SECRET_KEY", raising=False)
    monkeypatch.delenv("CITYGOV_DATABASE_URL", raising=False)
    instance = tmp_path / "demo"
    monkeypatch.setenv("CITYGOV_INSTANCE_PATH", str(instance))
    result = CliRunner().invoke(cli, ["demo", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["organisations"] >= 9 and summary["users"] >= 9
    assert (instance / "config.py").read_text().startswith("SECRET_KEY")
    again = CliRunner().invoke(cli, ["demo", "--format", "json"])  # idempotent on the same instance
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["login"]["password"] == summary["login"]["password"]


def test_serve_refuses_production_without_secret(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from portal.cli import cli

    monkeypatch.delenv("CITYGOV_SECRET_KEY", raising=False)
    monkeypatch.setenv("CITYGOV_INSTANCE_PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2 and "SECRET_KEY" in result.output


def test_token_revoke_and_scheduler_once(runner, db_session):
    make_org(db_session, "CLI-ORG2")
    runner.invoke(["user", "add", "nina", "--org", "CLI-ORG2", "--password", "correct horse battery"])
    created = json.loads(runner.invoke(["token", "create", "--user", "nina", "--name", "x", "--format", "json"]).output)
    revoked = runner.invoke(["token", "revoke", created["id"], "--format", "json"])
    assert revoked.exit_code == 0 and json.loads(revoked.output)["revoked"] is True
    once = runner.invoke(["scheduler", "--once", "--format", "json"])
    assert once.exit_code == 0, once.output
    assert json.loads(once.output)["audit:checkpoint:sign"].startswith("checkpoint size")


def test_help_and_version_need_no_configuration(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from portal.cli import _register_areas, cli

    _register_areas()
    monkeypatch.delenv("CITYGOV_SECRET_KEY", raising=False)
    monkeypatch.setenv("CITYGOV_INSTANCE_PATH", str(tmp_path / "nothing-here"))
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "projects" in result.output and "audit" in result.output
    assert "citygov" in CliRunner().invoke(cli, ["--version"]).output
    assert CliRunner().invoke(cli, ["no-such-command"]).exit_code == 2


HEAVY = ("numpy", "scipy", "matplotlib", "weasyprint", "rdflib", "pyshacl", "openapi_core", "schemathesis",
         "openpyxl", "jsonschema", "prometheus_client", "cryptography")


def test_start_up_imports_no_heavy_library(tmp_path):
    """Creating the app and running a listing command loads none of the heavy libraries: they are imported by
    the commands and requests that use them (the cold `citygov projects similar` start-up cost, issue 17)."""
    import os
    import subprocess
    import sys

    probe = ("import atexit, sys\n"  # main() ends the process itself (after the exit handlers)
             f"atexit.register(lambda: print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules)))\n"
             "sys.argv = ['citygov', 'db', 'upgrade']\n"
             "from portal.cli import main\n"
             "main()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGOV_")}
    env.update(CITYGOV_INSTANCE_PATH=str(tmp_path / "inst"), CITYGOV_ENV="development",
               CITYGOV_SECRET_KEY="t" * 40, CITYGOV_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
               PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    listing = subprocess.run([sys.executable, "-c", probe.replace("'db', 'upgrade'", "'projects', 'list'")],
                             env=env, capture_output=True, text=True, timeout=300, check=False)
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert listing.stdout.strip().splitlines()[-1] == "HEAVY:", listing.stdout
