"""``citygov jobs list | work``: the background-job queue from the command line."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    from portal.cli._common import emit, format_option

    @cli.group("jobs")
    def jobs_group():
        """Background jobs queued by the web pages (imports, certification runs, scans …)."""

    @jobs_group.command("list")
    @click.option("--state", type=click.Choice(["queued", "running", "succeeded", "failed"]))
    @format_option
    def list_cmd(state, fmt):
        """Jobs, newest first."""
        from portal.cli._common import cli_session
        from portal.jobs import job_json, job_list

        with cli_session("cli:jobs") as (session, system):
            items, total = job_list(session, system, state=state, limit=200)
            out = {"total": total, "items": [job_json(j) for j in items]}
        emit(out, fmt, lambda d: "\n".join(f"{j['id']}  {j['state']:<9} {j['progress']:>3}%  {j['kind']:<24} {j['title']}"
                                           for j in d["items"]) or "no jobs")

    @jobs_group.command("cancel")
    @click.argument("job_id")
    @format_option
    def cancel_cmd(job_id, fmt):
        """Cancel a job that has not started (audited; a running job is not interrupted: exit 2)."""
        from portal.cli._common import cli_session
        from portal.jobs import job_cancel, job_json

        with cli_session("cli:jobs") as (session, system):
            out = job_json(job_cancel(session, system, job_id))
        emit(out, fmt, lambda d: f"job {d['id']} cancelled")

    @jobs_group.command("work")
    @click.option("--once", is_flag=True, help="Run the queued jobs, then stop.")
    def work_cmd(once):
        """Run background jobs and queued EVE pushes (a worker besides the one `citygov serve` starts)."""
        from flask import current_app

        from portal import jobs
        from portal.db import get_db
        from portal.jobs import eve_push

        engine = get_db().sessionmaker
        pushes = eve_push.queue(engine, current_app.config)
        if once:
            jobs.fail_stale(engine)
            n = jobs.run_pending(engine)
            m = 0
            while pushes():
                m += 1
            click.echo(f"ran {n} job(s), ingested {m} queued EVE push(es)")
            return
        worker = jobs.Worker(engine, queues=(pushes,))
        worker.start()
        try:
            while worker.is_alive():
                worker.join(1)
        except KeyboardInterrupt:
            worker.stop()
