"""The composition root: the Flask app factory.

``create_app(overrides=None)`` builds an app from defaults, the instance folder's ``config.py``,
``CITYGOV_*`` environment variables and ``overrides`` (tests), in that order of precedence.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from portal.config import instance_path_from_env


def create_app(overrides: dict[str, Any] | None = None, *, http: bool = True) -> Flask:
    """``http=False`` builds the app a command-line command needs (configuration, database, policies, i18n)
    without the web pages and the API, and maps only the core tables up front: nothing is served, so the ~40
    page and API modules are not imported and a package's tables are mapped when its services are first used
    (what keeps a cold ``citygov projects similar`` under a second). Commands that serve use the full app."""
    instance_path = (overrides or {}).get("INSTANCE_PATH") or instance_path_from_env()
    kwargs = {"instance_path": instance_path} if instance_path else {}
    app = Flask(__name__, instance_relative_config=True, **kwargs)
    os.makedirs(app.instance_path, exist_ok=True)

    from portal import config

    config.load(app, overrides)

    from portal import auth, db, errors, i18n, observability, security

    observability.init_app(app)
    db.init_app(app, all_models=http)
    security.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    if http:
        from portal import api, web

        web.init_app(app)
        api.init_app(app)
    _import_domain_policies()
    _configure_index_store(app)
    security.trust_proxies(app)

    @app.get("/healthz")
    def healthz():
        import sqlalchemy as sa

        from portal.api import ok

        try:
            db.get_session().exec(sa.text("SELECT 1")).one()
        except Exception as exc:  # noqa: BLE001 - report any database failure as unhealthy
            from portal.errors import problem_response

            return problem_response(503, {"title": "Unhealthy", "status": 503, "code": "database_unreachable",
                                          "detail": type(exc).__name__})
        return ok({"status": "ok", "database": db.get_db(app).engine.dialect.name})

    db.guard_views(app)  # after every view is registered
    return app


def _configure_index_store(app: Flask) -> None:
    """Every process of this instance (servers and commands alike) maps the same persisted similarity index
    (``<instance>/registry-index``, or ``REGISTRY_INDEX_PATH``)."""
    from pathlib import Path

    from portal.db import get_db
    from registry import indexstore

    directory = app.config.get("REGISTRY_INDEX_PATH") or str(Path(app.instance_path) / "registry-index")
    indexstore.configure(get_db(app).engine, directory)


def _import_domain_policies() -> None:
    """Import each package so its ``@policy`` functions are registered before any request."""
    import importlib

    import portal.accounts  # noqa: F401

    # the packages (their __init__ registers their policies) and the sub-packages / modules whose policies the
    # API and page modules would otherwise register only when their (lazily imported) services are first used
    for pkg in ("audit", "standards", "registry", "registry.certify", "secmon", "secmon.evaluation", "opendata",
                "opendata.sample_policies"):
        try:
            importlib.import_module(pkg)
        except ModuleNotFoundError as exc:
            if exc.name != pkg:
                raise
