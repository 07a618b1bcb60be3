import sqlalchemy as sa
import pytest

from portal import create_app
from portal.config import ConfigurationError


@pytest.mark.parametrize("secret", [None, "", "dev", "changeme", "short"])
def test_production_refuses_missing_or_default_secret(tmp_path, monkeypatch, secret):
    monkeypatch.delenv("CITYGOV_SECRET_KEY", raising=False)
    overrides = {"INSTANCE_PATH": str(tmp_path)}
    if secret is not None:
        overrides["SECRET_KEY"] = secret
    with pytest.raises(ConfigurationError):
        create_app(overrides)


def test_settings_come_from_prefixed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYGOV_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("CITYGOV_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("CITYGOV_MAX_CONTENT_LENGTH", "1234")
    app = create_app()
    assert app.instance_path == str((tmp_path / "inst").resolve())
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst' / 'citygov.sqlite'}"
    assert app.config["SESSION_COOKIE_SECURE"] is True  # production by default


def test_instance_config_py_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("CITYGOV_SECRET_KEY", raising=False)
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-the-instance-folder-0123456789'\nLOG_FORMAT = 'json'\n")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"].startswith("from-the-instance")
    assert app.config["LOG_FORMAT"] == "json"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from portal.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_bad_env_value_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32, "ENV": "staging"})


def test_sqlite_commits_are_durable(tmp_path):
    from portal.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'd.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()
