"""The ``citygov`` command.

Core commands live here (init, db, serve, user, org, token, scheduler, demo). Each module
``portal/cli/<area>.py`` with a ``register(cli)`` function adds its area's commands; nothing else needs
editing. Expected errors (bad input, refused operations) exit with status 2 and a one-line message.
"""

from __future__ import annotations

import getpass
import importlib
import os
import pkgutil
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from kernel.errors import CityGovError
from portal.cli._common import cli_session, emit, fail, format_option
from portal.config import ConfigurationError


#: commands that serve HTTP or show the routes get the whole app; every other command the app without pages and
#: API (see ``create_app(http=False)``)
SERVING_COMMANDS = frozenset({"serve", "scheduler", "demo", "run", "routes", "shell"})


def _create_app():
    from portal import create_app

    ctx = click.get_current_context(silent=True)
    top = ctx.find_root().invoked_subcommand if ctx is not None else None
    try:
        return create_app(http=top is None or top in SERVING_COMMANDS)
    except ConfigurationError as exc:
        fail(str(exc))


class CityGovGroup(FlaskGroup):
    """Flask's group (app loading, ``run``/``shell``/``routes``) whose help and command lookup never
    need a configured app: all of citygov's commands are registered on the group itself."""

    def list_commands(self, ctx):
        self._load_plugin_commands()
        return sorted(click.Group.list_commands(self, ctx))

    def get_command(self, ctx, name):
        self._load_plugin_commands()
        return click.Group.get_command(self, ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CityGovError as exc:
            click.echo(f"error: {exc.detail}", err=True)
            for err in exc.errors:
                where = err.get("field") or err.get("pointer") or err.get("row") or ""
                click.echo(f"  {where}: {err.get('message')}", err=True)
            raise SystemExit(2) from None
        except ConfigurationError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(2) from None


cli = CityGovGroup(create_app=_create_app, name="citygov", add_version_option=False, load_dotenv=False,
                   set_debug_flag=False,
                   help="citygov: governance, standards and security compliance of the city's informatization "
                        "programme. Configure with CITYGOV_INSTANCE_PATH / CITYGOV_DATABASE_URL / "
                        "CITYGOV_SECRET_KEY; `citygov demo` shows everything on a fresh instance.")
cli = click.version_option(package_name="citygov", prog_name="citygov")(cli)


def main() -> None:
    _register_areas()
    try:
        cli.main(prog_name="citygov")
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _exit(code: object) -> None:
    """End the process as the interpreter would, minus tearing down every module (a fifth of a short command's
    CPU time): wait for non-daemon threads, run the exit handlers (``atexit``, ``weakref.finalize``: temporary
    directories, logging), flush the standard streams, then leave with the status."""
    import atexit
    import threading

    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    status = int(code) if isinstance(code, int) else (0 if code is None else 1)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (citygov … | head): nothing more can be said
            pass
    os._exit(status)


def _register_areas() -> None:
    here = str(Path(__file__).resolve().parent)
    for module in sorted(m.name for m in pkgutil.iter_modules([here]) if not m.name.startswith("_")):
        mod = importlib.import_module(f"portal.cli.{module}")
        register = getattr(mod, "register", None)
        if callable(register):
            register(cli)


# --------------------------------------------------------------------------- init and db


def _instance_path(explicit: str | None, default: str | None = None) -> str:
    path = explicit or os.environ.get("CITYGOV_INSTANCE_PATH") or default
    if path is None:
        from flask import Flask

        path = Flask("portal", instance_relative_config=True).instance_path  # what create_app() uses
    return str(Path(path).resolve())


def initialise(instance: str, *, admin_username: str = "admin", admin_password: str | None = None,
               org_code: str = "COMMISSION", org_name: str = "市政务服务数据管理局（信息化委员会）",
               database_url: str | None = None, quiet: bool = False, extra: dict | None = None):
    """Create the instance folder, its secret key, the database schema and the first admin (idempotent).

    Returns ``(app, admin_password_or_None)``: the password is returned only when it was generated now.
    """
    from portal import config as config_mod
    from portal import create_app
    from portal import db as db_mod

    Path(instance).mkdir(parents=True, exist_ok=True)
    if not os.environ.get("CITYGOV_SECRET_KEY"):
        config_mod.write_instance_secret(instance)
    overrides = {"INSTANCE_PATH": instance, **(extra or {})}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    app = create_app(overrides)
    db_mod.upgrade(app.config["DATABASE_URL"])
    generated = None
    with app.app_context():
        from sqlmodel import select

        from portal.accounts import services as accounts
        from portal.accounts.models import Organisation, User

        with cli_session("init") as (session, system):
            if session.exec(select(User)).first() is None:
                org = session.exec(select(Organisation).where(Organisation.code == org_code)).first()
                if org is None:
                    org = accounts.org_create(session, system, code=org_code, name=org_name,
                                              name_en="City Informatization Commission", kind="commission")
                if admin_password is None:
                    admin_password = generated = secrets.token_urlsafe(12)
                accounts.user_create(session, system, username=admin_username, display_name="Administrator",
                                     password=admin_password, org=org.code,
                                     roles=["commission_admin", "commission_reviewer"])
    return app, generated


@cli.command("init", with_appcontext=False)
@click.option("--instance", type=click.Path(file_okay=False), help="Instance folder (default CITYGOV_INSTANCE_PATH or ./instance).")
@click.option("--admin-username", default="admin", show_default=True)
@click.option("--admin-password", envvar="CITYGOV_ADMIN_PASSWORD", help="Default: prompt on a terminal, else generate.")
@format_option
def init_command(instance, admin_username, admin_password, fmt):
    """Create the instance folder, secret key, database (migrated to the latest schema) and first admin."""
    path = _instance_path(instance)
    if admin_password is None and sys.stdin.isatty() and fmt == "text":
        admin_password = getpass.getpass(f"password for {admin_username} (empty: generate): ") or None
    app, generated = initialise(path, admin_username=admin_username, admin_password=admin_password)
    data = {"instance": path, "database": _redact(app.config["DATABASE_URL"]), "admin": admin_username,
            "generated_password": generated}
    emit(data, fmt, lambda d: "\n".join([f"instance: {d['instance']}", f"database: {d['database']}"]
                                         + ([f"admin {d['admin']} password (shown once): {generated}"] if generated else [])))


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group("db")
def db_group():
    """Database schema (Alembic migrations of every package)."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@format_option
def db_upgrade(revision, fmt):
    """Migrate the database to the latest schema."""
    from portal import db as db_mod

    url = current_app.config["DATABASE_URL"]
    db_mod.upgrade(url, revision)
    current = sorted(db_mod.current_revisions(url))
    emit({"revisions": current}, fmt, f"database at {', '.join(current)}")


@db_group.command("current")
@format_option
def db_current(fmt):
    """Show the applied and the latest revisions."""
    from portal import db as db_mod

    url = current_app.config["DATABASE_URL"]
    with db_mod.get_db(current_app).session_scope() as session:
        current = db_mod.current_revisions(url, connection=session.connection())
    heads = db_mod.head_revisions(url)
    data = {"current": sorted(current), "heads": sorted(heads), "up_to_date": current == heads}
    emit(data, fmt, lambda d: f"current: {', '.join(d['current']) or '-'}\nheads: {', '.join(d['heads'])}\n"
                              f"{'up to date' if d['up_to_date'] else 'run: citygov db upgrade'}")


# --------------------------------------------------------------------------- serve


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Request threads per worker process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes on the one port (one per core serves a busy instance: see the README).")
@click.option("--no-worker", is_flag=True,
              help="Do not run background jobs and queued EVE pushes here (run `citygov jobs work`).")
def serve(host, port, threads, workers, no_worker):
    """Serve the portal with waitress (production WSGI server) and a background worker (jobs, queued EVE
    pushes): a thread of the one process, or with --workers a process of its own at a lower CPU priority."""
    from portal import db as db_mod
    from portal import serving
    from portal.warmup import warm_up

    url = current_app.config["DATABASE_URL"]
    if db_mod.current_revisions(url) != db_mod.head_revisions(url):
        fail("the database schema is not up to date: run `citygov db upgrade`")
    app = current_app._get_current_object()
    database = db_mod.get_db(app)

    def start_jobs():
        from portal.jobs import Worker, eve_push

        worker = Worker(database.sessionmaker, queues=(eve_push.queue(database.sessionmaker, app.config),))
        worker.start()
        return worker

    def on_start(i: int) -> None:
        database.engine.dispose(close=False)  # the pool inherited from the supervisor belongs to it
        warm_up(app)  # before this worker listens: its first requests do not wait for lazy loads

    def background() -> None:
        database.engine.dispose(close=False)
        start_jobs().join()

    if workers > 1 and not hasattr(os, "fork"):
        fail("--workers needs a POSIX system (fork); serve with --workers 1")
    click.echo(f"citygov serving on http://{host}:{port}/" + (f" ({workers} worker processes)" if workers > 1 else ""))
    # bodies above MAX_CONTENT_LENGTH are refused by waitress before the app runs; portal.serving has the
    # app answer them (problem+json / error page) instead of waitress's plain text
    try:
        if workers == 1:
            warm_up(app)
            serving.tune_gil(threads)
            server = serving.create_server(app, host=host, port=port, threads=threads)
            if not no_worker:
                start_jobs()
            serving.freeze_heap()
            server.run()
            return
        database.engine.dispose()  # the supervisor keeps no connection the workers would share
        status = serving.serve_workers(app, host=host, port=port, threads=threads, workers=workers,
                                       on_start=on_start, background=None if no_worker else background)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    if status:
        raise SystemExit(status)


# --------------------------------------------------------------------------- users, orgs, tokens


@cli.group("org")
def org_group():
    """Organisations: the commission, departments, districts, vendors."""


@org_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--kind", type=click.Choice(["commission", "department", "district", "vendor"]), required=True)
@click.option("--name-en")
@click.option("--district")
@format_option
def org_add(code, name, kind, name_en, district, fmt):
    from portal.accounts import services as accounts

    with cli_session("cli:org") as (session, system):
        org = accounts.org_create(session, system, code=code, name=name, kind=kind, name_en=name_en, district=district)
        emit({"id": org.id, "code": org.code}, fmt, f"organisation {org.code} created")


@org_group.command("list")
@format_option
def org_list(fmt):
    from portal.accounts import services as accounts

    with cli_session("cli:org") as (session, system):
        rows = [{"code": o.code, "name": o.name, "kind": o.kind, "district": o.district}
                for o in accounts.org_list(session, system)]
    emit(rows, fmt, lambda rs: "\n".join(f"{r['code']:<20} {r['kind']:<11} {r['name']}" for r in rs))


@cli.group("user")
def user_group():
    """Users and their roles."""


@user_group.command("add")
@click.argument("username")
@click.option("--org", required=True, help="Organisation code or id.")
@click.option("--name", "display_name", help="Display name (default: the username).")
@click.option("--role", "roles", multiple=True, help="Role; repeat for several.")
@click.option("--email")
@click.option("--password", envvar="CITYGOV_USER_PASSWORD", help="Default: prompt on a terminal, else generate.")
@format_option
def user_add(username, org, display_name, roles, email, password, fmt):
    """Create a user."""
    from portal.accounts import services as accounts

    generated = None
    if password is None:
        if sys.stdin.isatty() and fmt == "text":
            password = getpass.getpass(f"password for {username}: ")
        else:
            password = generated = secrets.token_urlsafe(12)
    with cli_session("cli:user") as (session, system):
        user = accounts.user_create(session, system, username=username, display_name=display_name or username,
                                    password=password, org=org, roles=list(roles), email=email)
        data = {"id": user.id, "username": user.username, "roles": sorted(roles), "generated_password": generated}
    emit(data, fmt, lambda d: f"user {d['username']} created"
                              + (f"; password (shown once): {generated}" if generated else ""))


@user_group.command("list")
@format_option
def user_list(fmt):
    from portal.accounts import services as accounts

    with cli_session("cli:user") as (session, system):
        rows = [{"username": u.username, "display_name": u.display_name, "active": u.active,
                 "roles": accounts.user_roles(session, u)} for u in accounts.user_list(session, system)]
    emit(rows, fmt, lambda rs: "\n".join(f"{r['username']:<20} {'active' if r['active'] else 'inactive':<9} "
                                         f"{','.join(r['roles'])}" for r in rs))


@cli.group("token")
def token_group():
    """API tokens (bearer)."""


@token_group.command("create")
@click.option("--user", "username", required=True)
@click.option("--name", required=True)
@click.option("--scope", "scopes", multiple=True, help="Action pattern, e.g. 'registry:*'; default all.")
@click.option("--days", default=90, show_default=True, type=int)
@format_option
def token_create(username, name, scopes, days, fmt):
    """Create a token for a user and print its secret once."""
    from portal.accounts import services as accounts

    with cli_session("cli:token") as (session, system):
        user = accounts.user_get(session, username)
        # the token is the user's: its creation is authorised and audited as that user's act via the CLI
        owner = accounts.principal_for_user(session, user)
        token, secret = accounts.token_create(session, owner, user=user, name=name, scopes=list(scopes) or None,
                                              days=days, max_days=int(current_app.config["TOKEN_MAX_DAYS"]))
        data = {"id": token.id, "token": secret, "expires_at": token.expires_at.isoformat(), "scopes": token.scopes.split()}
    emit(data, fmt, lambda d: d["token"])


@token_group.command("revoke")
@click.argument("token_id")
@format_option
def token_revoke(token_id, fmt):
    """Revoke a token by id."""
    from portal.accounts import services as accounts

    with cli_session("cli:token") as (session, system):
        token = accounts.token_revoke(session, system, token_id)
        data = accounts.token_state(token)
    emit(data, fmt, f"token {token_id} revoked")


# --------------------------------------------------------------------------- scheduler and demo


@cli.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once now and exit (for cron and checks).")
@format_option
def scheduler_command(once, fmt):
    """Run the single scheduler process (APScheduler, SQLAlchemy job store)."""
    from portal import scheduler

    if once:
        outcomes = scheduler.run_all_once(current_app._get_current_object())
        emit(outcomes, fmt, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))
        return
    scheduler.run_forever(current_app._get_current_object())


@cli.command("demo", with_appcontext=False)
@click.option("--instance", type=click.Path(file_okay=False),
              help="Instance folder (default CITYGOV_INSTANCE_PATH, else ./citygov-demo).")
@format_option
def demo_command(instance, fmt):
    """Initialise an instance, seed realistic demo data and run every module's main flow end to end."""
    from portal import demo

    path = _instance_path(instance, default=str(Path.cwd() / "citygov-demo"))
    summary = demo.run(path, fmt=fmt)
    emit(summary, fmt, demo.render_text)
