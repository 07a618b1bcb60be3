"""``citygov secmon rules version-lint VERSION_ID``: the lint results of a stored rule-set version (the same
findings as its web page and ``GET /secmon/rulesets/{id}/lint``)."""

from __future__ import annotations

import sys

import click


def register(cli: click.Group) -> None:
    from portal.cli._common import cli_session, emit, format_option

    secmon = cli.commands.get("secmon")
    rules = getattr(secmon, "commands", {}).get("rules") if secmon is not None else None
    if rules is None:  # the secmon commands are not installed
        return

    @rules.command("version-lint")
    @click.argument("version_id")
    @click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error", show_default=True)
    @format_option
    def version_lint_cmd(version_id, fail_on, fmt):
        """Lint a stored rule-set version (findings at the imported files' lines); exit 1 on findings."""
        from secmon.lint import Finding, format_text
        from secmon.version_lint import version_lint

        with cli_session("cli:secmon") as (session, system):
            result = version_lint(session, system, version_id)
            emit(result, fmt, lambda d: format_text([Finding(**f) for f in d["findings"]]).rstrip("\n")
             or f"{d['version']['name']}: no findings")
        levels = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
        if any(f["severity"] in levels for f in result["findings"]):
            sys.exit(1)
