"""``citygov projects targets|milestone|accept|evaluate|outcomes`` and ``citygov programme stats``: following a
built project from its targets to its evaluation, and the programme statistics, from the command line."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import click

from portal.cli._common import cli_session, emit, fail, format_option


def _outcomes_text(d: dict) -> str:
    lines = [f"{d['project_id']}  {d['state']}  budget {d['budget'] or 0:,.0f}  spent {d['spent']:,.0f}"]
    for t in d["targets"]:
        actual = "-" if t["actual"] is None else f"{t['actual']:g}"
        base = "-" if t["baseline"] is None else f"{t['baseline']:g}"
        lines.append(f"  target {t['indicator']}: baseline {base} → {t['target']:g} {t['unit']} by {t['due']}; actual {actual}")
    for m in d["milestones"]:
        lines.append(f"  milestone {m['reached_on']} {m['name']}: {m['spent']:,.0f}")
    for e in d["evidence"]:
        lines.append(f"  evidence {e['filename']} ({e['size']} bytes, sha256 {e['sha256'][:16]}…)")
    ev = d.get("evaluation")
    if ev:
        lines.append(f"  evaluation: {ev['rating']} ({ev['score']})")
        lines.extend(f"    - {r['text']}" for r in ev["reasons"])
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    projects = cli.commands.get("projects")
    if projects is None:  # the registry plug-in defines the group; load it first
        from portal.cli import registry as base

        base.register(cli)
        projects = cli.commands["projects"]

    @projects.command("outcomes")
    @click.argument("project_id")
    @format_option
    def outcomes_cmd(project_id, fmt):
        """Targets, milestones and spending, evidence files and evaluation of a project."""
        from registry import evaluation

        with cli_session("cli:projects") as (session, system):
            out = evaluation.project_outcomes(session, system, project_id)
        emit(out, fmt, _outcomes_text)

    @projects.command("targets")
    @click.argument("project_id")
    @click.argument("file", type=click.Path(dir_okay=False))
    @format_option
    def targets_cmd(project_id, file, fmt):
        """Declare an approved project's targets from a JSON FILE: a list of {indicator, unit, baseline, target,
        due, direction}."""
        from registry import evaluation

        try:
            targets = json.loads(Path(file).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            fail(f"{file} is not a JSON list of targets: {exc}")
        if isinstance(targets, dict):
            targets = targets.get("targets")
        with cli_session("cli:projects") as (session, system):
            evaluation.targets_declare(session, system, project_id, targets)
            out = evaluation.project_outcomes(session, system, project_id)
        emit(out, fmt, _outcomes_text)

    @projects.command("start")
    @click.argument("project_id")
    @click.option("--reason", required=True, help="Why construction starts now (e.g. the contract reference).")
    @format_option
    def start_cmd(project_id, reason, fmt):
        """Start construction of an approved project (→ in_construction)."""
        from registry import services as reg

        with cli_session("cli:projects") as (session, system):
            project = reg.project_transition(session, system, project_id, "start_construction", reason=reason)
            out = {"id": project.id, "state": project.state}
        emit(out, fmt, lambda d: f"{d['id']} is {d['state']}")

    @projects.command("milestone")
    @click.argument("project_id")
    @click.option("--name", required=True)
    @click.option("--date", "reached_on", required=True, help="YYYY-MM-DD")
    @click.option("--spent", type=float, default=0.0, show_default=True, help="Money spent on this milestone.")
    @click.option("--note", default="")
    @format_option
    def milestone_cmd(project_id, name, reached_on, spent, note, fmt):
        """Record a construction milestone and what it cost."""
        from registry import evaluation

        with cli_session("cli:projects") as (session, system):
            out = evaluation.milestone_record(session, system, project_id, name=name, reached_on=reached_on,
                                              spent=spent, note=note)
        emit(out, fmt, lambda d: f"recorded {d['name']}: spent {d['total_spent']:,.0f} of {d['budget'] or 0:,.0f}"
                                 + (" — OVER BUDGET" if d["over_budget"] else ""))

    @projects.command("accept")
    @click.argument("project_id")
    @click.option("--actual", "actuals", multiple=True, help="indicator=value (repeat, one per target).")
    @click.option("--evidence", "evidence", multiple=True, type=click.Path(dir_okay=False), help="Evidence file (repeat).")
    @click.option("--date", "completed_on", help="Acceptance date (default: today).")
    @click.option("--reason", default="acceptance")
    @format_option
    def accept_cmd(project_id, actuals, evidence, completed_on, reason, fmt):
        """Acceptance: record the actual value of every target with evidence files (→ completed)."""
        from registry import evaluation

        values = {}
        for item in actuals:
            key, sep, value = item.rpartition("=")
            try:
                values[key.strip()] = float(value)
            except ValueError:
                sep = ""
            if not sep or not key.strip():
                raise click.UsageError(f"--actual {item!r}: expected indicator=number")
        files = []
        for path in evidence:
            try:
                files.append((Path(path).name, Path(path).read_bytes(),
                              mimetypes.guess_type(path)[0] or "application/octet-stream"))
            except OSError as exc:
                fail(f"cannot read {path}: {exc.strerror}")
        with cli_session("cli:projects") as (session, system):
            evaluation.project_accept(session, system, project_id, actuals=values, evidence=files,
                                      completed_on=completed_on, reason=reason)
            out = evaluation.project_outcomes(session, system, project_id)
        emit(out, fmt, _outcomes_text)

    @projects.command("evaluate")
    @click.argument("project_id")
    @click.option("--comment", default="")
    @format_option
    def evaluate_cmd(project_id, comment, fmt):
        """Evaluate a completed project: actual against target per indicator, a rating and its reasons."""
        from registry import evaluation

        with cli_session("cli:projects") as (session, system):
            evaluation.project_evaluate(session, system, project_id, comment=comment)
            out = evaluation.project_outcomes(session, system, project_id)
        emit(out, fmt, _outcomes_text)

    @cli.group("programme")
    def programme():
        """The informatization programme as a whole."""

    @programme.command("stats")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write XLSX or JSON (by the file name).")
    @format_option
    def stats_cmd(output, fmt):
        """Programme statistics per district, department, area and year."""
        from registry import statistics

        with cli_session("cli:programme") as (session, system):
            data = statistics.programme_statistics(session, system)
        if output:
            kind = Path(output).suffix.lower()
            if kind not in (".xlsx", ".json"):
                raise click.UsageError("--output must end in .xlsx or .json")
            content = statistics.to_xlsx(data) if kind == ".xlsx" else json.dumps(data, ensure_ascii=False, indent=1).encode()
            try:
                Path(output).write_bytes(content)
            except OSError as exc:
                fail(f"cannot write {output}: {exc.strerror}")

        def text(d):
            t = d["totals"]
            lines = [f"{t['projects']} projects; budget requested {t['budget_requested']:,.0f}, approved "
                     f"{t['budget_approved']:,.0f}, spent {t['budget_spent']:,.0f}; duplicates caught "
                     f"{t['duplicates_caught']} ({t['duplicate_budget']:,.0f}); cloud {t['cloud_deployment_rate'] or 0:.0%}; "
                     f"shared platforms {t['shared_platform_reuse_rate'] or 0:.0%}; data commitments kept: "
                     f"{t['data_commitments_kept']}"]
            for row in d["by"]["district"]:
                lines.append(f"  {row['key']:<8} {row['projects']:>6} projects  requested {row['budget_requested']:>16,.0f}"
                             f"  approved {row['budget_approved']:>16,.0f}")
            return "\n".join(lines)

        emit(data, fmt, text)
