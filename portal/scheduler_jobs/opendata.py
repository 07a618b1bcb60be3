"""Daily check for stale open datasets (not updated within their declared frequency)."""

from __future__ import annotations

from portal.scheduler import JobSpec

JOBS = [
    JobSpec(id="opendata:dataset:stale", func="portal.scheduler_jobs.opendata:flag_stale_datasets", trigger="interval",
            trigger_args={"hours": 24}, misfire_grace_time=6 * 3600,
            description="Flag published datasets not updated within their declared frequency"),
]


def flag_stale_datasets() -> str:
    from opendata.stale import flag_stale
    from portal.cli._common import cli_session

    with cli_session("scheduler:opendata-stale") as (session, system):
        got = flag_stale(session, system)
        return f"{len(got)} stale dataset(s) flagged" + (": " + ", ".join(d.name for d in got) if got else "")
