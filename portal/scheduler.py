"""The single scheduler process (APScheduler 3, SQLAlchemy job store on the application database).

Run exactly one ``citygov scheduler`` per deployment, never inside web workers: a job store shared by
several schedulers runs jobs twice or misses them. Jobs are declared in ``portal/scheduler_jobs/*.py``
with explicit ids and ``replace_existing=True`` so restarts do not duplicate them.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

log = logging.getLogger("citygov.scheduler")

_APP: Flask | None = None


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function", callable with no arguments inside an app context
    trigger: str = "interval"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    misfire_grace_time: int | None = 3600
    description: str = ""


def job_specs() -> list[JobSpec]:
    import portal.scheduler_jobs as pkg

    specs: list[JobSpec] = []
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(Path(pkg.__file__).parent)])):
        module = importlib.import_module(f"portal.scheduler_jobs.{mod}")
        specs.extend(getattr(module, "JOBS", []))
    return specs


def current_app_for_jobs() -> Flask:
    """The app a job runs in (set by the scheduler process; created from the environment otherwise)."""
    global _APP
    if _APP is None:
        from portal import create_app

        _APP = create_app()
    return _APP


def run_job(spec_id: str) -> str:
    """Entry point stored in the job store: look the job up by id and run it in an app context."""
    spec = {s.id: s for s in job_specs()}[spec_id]
    module_name, func_name = spec.func.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    app = current_app_for_jobs()
    with app.app_context():
        try:
            outcome = func()
        except Exception:
            log.exception("job %s failed", spec_id)
            raise
    log.info("job %s: %s", spec_id, outcome)
    return str(outcome)


def build_scheduler(app: Flask, *, blocking: bool = True):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    from portal.db import get_db

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        jobstores={"default": SQLAlchemyJobStore(engine=get_db(app).engine, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone="Asia/Shanghai",
    )
    for spec in job_specs():
        scheduler.add_job("portal.scheduler:run_job", trigger=spec.trigger, args=[spec.id], id=spec.id,
                          name=spec.description or spec.id, replace_existing=True,
                          misfire_grace_time=spec.misfire_grace_time, **spec.trigger_args)
    return scheduler


def run_forever(app: Flask) -> None:
    global _APP
    _APP = app
    scheduler = build_scheduler(app, blocking=True)
    log.info("scheduler starting with jobs: %s", ", ".join(s.id for s in job_specs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")


def run_all_once(app: Flask) -> dict[str, str]:
    global _APP
    previous, _APP = _APP, app
    try:
        return {spec.id: run_job(spec.id) for spec in job_specs()}
    finally:
        _APP = previous
