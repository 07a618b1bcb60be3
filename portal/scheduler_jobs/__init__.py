"""Scheduled jobs. Each module here defines ``JOBS``: a list of :class:`portal.scheduler.JobSpec`.

Job functions are thin, idempotent wrappers around service functions, referenced by import path so
that APScheduler's SQLAlchemy job store can persist them.
"""
