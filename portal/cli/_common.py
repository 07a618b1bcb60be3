"""Helpers every CLI module shares: output formats, progress, exit codes, sessions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from flask import current_app

from kernel.context import request_id_var
from kernel.ids import new_id
from kernel.principal import Principal, system_principal

T = TypeVar("T")

format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Output format.")


def emit(data: Any, fmt: str, text: Callable[[Any], str] | str | None = None) -> None:
    """Print ``data`` as JSON (``--format json``) or as the text ``text`` renders from it."""
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    if text is None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif callable(text):
        click.echo(text(data))
    else:
        click.echo(text)


def progress(items: Iterable[T], *, total: int | None = None, description: str = "", fmt: str = "text") -> Iterator[T]:
    """A progress bar on a terminal (rich); silent when piped or in JSON mode."""
    if fmt == "json" or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import Progress

    with Progress(transient=True, console=None) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


@contextmanager
def cli_session(job: str = "cli") -> Iterator[tuple[Any, Principal]]:
    """A database session plus the system principal of a maintenance command, with a request id."""
    from portal.db import get_db

    token = request_id_var.set(f"{job}-{new_id()[:12]}")
    try:
        with get_db(current_app).session_scope() as session:
            yield session, system_principal(job)
    finally:
        request_id_var.reset(token)


@contextmanager
def app_context() -> Iterator[Any]:
    """The app context for a command registered with ``with_appcontext=False`` (one that needs the instance
    only on some paths, e.g. online verification): the app is created here, not before the command runs."""
    from flask.cli import ScriptInfo

    info = click.get_current_context().ensure_object(ScriptInfo)
    app = info.load_app()
    with app.app_context():
        yield app


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)
