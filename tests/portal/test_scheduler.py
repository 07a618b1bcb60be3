"""The scheduler's jobs are thin wrappers around services; tests call them through the scheduler's
own entry point (no APScheduler timing is tested)."""

from apscheduler.schedulers.base import BaseScheduler

from portal import scheduler


def test_jobs_are_declared_with_explicit_ids():
    specs = scheduler.job_specs()
    ids = [s.id for s in specs]
    assert "audit:checkpoint:sign" in ids and len(ids) == len(set(ids))
    for spec in specs:
        module, func = spec.func.split(":")
        assert callable(getattr(__import__(module, fromlist=[func]), func))


def test_checkpoint_job_signs_and_is_idempotent(app, auth):
    auth.user("expert")  # at least one audited event
    scheduler._APP = app
    try:
        first = scheduler.run_job("audit:checkpoint:sign")
        second = scheduler.run_job("audit:checkpoint:sign")
    finally:
        scheduler._APP = None
    assert first.startswith("checkpoint size ") and first == second


def test_scheduler_builds_with_sqlalchemy_job_store(app):
    sched = scheduler.build_scheduler(app, blocking=False)
    assert isinstance(sched, BaseScheduler)
    assert sched._jobstores["default"].__class__.__name__ == "SQLAlchemyJobStore"
