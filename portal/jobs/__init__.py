"""Background jobs: a page queues long work, a worker runs it, the page follows its progress.

* A job *kind* is registered with :func:`register` by the page module that offers it:
  ``register("registry:import", run_import, action="registry:project:import")``. ``run(session, principal,
  job, report)`` does the work with the acting principal and returns a JSON-able result; it calls
  ``report(percent, message)`` as it goes. Errors it raises (``kernel.errors``) become the job's failure
  reason (detail plus per-field / per-row errors); anything else fails the job with the exception's type.
* :func:`job_enqueue` checks the kind's policy *before* queueing (so a page never queues work the user
  may not do); the worker runs it again as the same user (roles re-read at run time), so the service's
  own ``authorize()`` still decides.
* The worker claims a queued job with a conditional ``UPDATE`` (one winner, across threads and
  processes), keeps a heartbeat, and on start fails jobs whose worker died (no heartbeat for
  ``STALE_SECONDS``) with that reason. ``citygov serve`` runs one worker thread; ``citygov jobs work``
  runs a separate worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from kernel.clock import as_utc, isoformat, utcnow
from kernel.errors import CityGovError, Conflict, NotFound, ValidationFailed
from kernel.permissions import authorize, policy
from kernel.principal import Principal, Role
from portal.jobs.models import Job

log = logging.getLogger("citygov.jobs")

STATES = ("queued", "running", "succeeded", "failed")
STALE_SECONDS = 120
MAX_PAYLOAD = 16 * 1024 * 1024

Report = Callable[[int, str], None]
RunFn = Callable[[Session, Principal, Job, Report], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    kind: str
    run: RunFn
    action: str  # the policy checked before queueing (the underlying service checks it again)


_KINDS: dict[str, JobKind] = {}


def register(kind: str, run: RunFn, *, action: str) -> None:
    _KINDS[kind] = JobKind(kind, run, action)


def kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


@policy("portal:job:view")
def can_view_job(principal: Principal, job: Any = None) -> bool:
    """Your own jobs; commission administrators see every job."""
    if principal.has_role(Role.COMMISSION_ADMIN):
        return True
    return job is not None and principal.id is not None and getattr(job, "user_id", None) == principal.id


@policy("portal:job:cancel")
def can_cancel_job(principal: Principal, job: Any = None) -> bool:
    """Whoever queued the job; commission administrators cancel any job."""
    return can_view_job(principal, job)


@policy("portal:job:list")
def can_list_jobs(principal: Principal, _resource: Any = None) -> bool:
    return not principal.is_anonymous


def job_enqueue(session: Session, principal: Principal, kind: str, *, title: str, params: dict[str, Any] | None = None,
                payload: str | None = None) -> Job:
    spec = _KINDS.get(kind)
    if spec is None:
        raise ValidationFailed(f"unknown job kind {kind!r}", errors=[{"field": "kind", "message": "unknown"}])
    authorize(principal, spec.action)
    if payload is not None and len(payload) > MAX_PAYLOAD:
        raise ValidationFailed("the uploaded file is too large for a job",
                               errors=[{"field": "file", "message": f"at most {MAX_PAYLOAD} bytes"}])
    job = Job(kind=kind, title=title[:300], user_id=principal.id, actor=principal.actor, org_id=principal.org_id,
              params=params or {}, payload=payload)
    session.add(job)
    session.commit()
    return job


def job_get(session: Session, principal: Principal, job_id: str) -> Job:
    job = session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 32 else None
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    authorize(principal, "portal:job:view", job)
    return job


def job_list(session: Session, principal: Principal, *, limit: int = 50, offset: int = 0,
             state: str | None = None) -> tuple[list[Job], int]:
    authorize(principal, "portal:job:list")
    q = select(Job)
    if not principal.has_role(Role.COMMISSION_ADMIN):
        q = q.where(Job.user_id == principal.id)
    if state:
        q = q.where(Job.state == state)
    total = session.exec(select(sa.func.count()).select_from(q.subquery())).one()
    rows = session.exec(q.order_by(Job.created_at.desc(), Job.id).offset(offset).limit(limit))  # type: ignore[attr-defined]
    return list(rows), int(total)


def job_cancel(session: Session, principal: Principal, job_id: str) -> Job:
    """Cancel a job that has not started: it fails with the reason "cancelled by …" (audited). A job a worker
    already runs is not interrupted (its service commits its own work): that is a 409."""
    import audit

    job = job_get(session, principal, job_id)
    authorize(principal, "portal:job:cancel", job)
    t = Job.__table__
    detail = f"cancelled by {principal.name or principal.actor} before it started"
    won = session.execute(sa.update(t).where(t.c.id == job.id, t.c.state == "queued").values(
        state="failed", finished_at=utcnow(), message="cancelled", payload=None,
        error={"detail": detail, "code": "cancelled"})).rowcount
    if won != 1:
        session.rollback()
        raise Conflict(f"job {job.id} is {session.get(Job, job.id).state}: only a queued job can be cancelled")
    audit.record(session, principal, "portal:job:cancel", object_type="job", object_id=job.id,
                 state={"state": "failed"}, details={"kind": job.kind, "title": job.title})
    session.commit()
    session.refresh(job)
    return job


def job_json(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "title": job.title, "state": job.state, "progress": job.progress,
            "message": job.message, "result": job.result, "error": job.error, "actor": job.actor,
            "created_at": isoformat(job.created_at),
            "started_at": isoformat(job.started_at) if job.started_at else None,
            "finished_at": isoformat(job.finished_at) if job.finished_at else None}


# ------------------------------------------------------------------------------------------ worker


def _principal_of(session: Session, job: Job) -> Principal:
    from portal.accounts import services as accounts
    from portal.accounts.models import User

    user = session.get(User, job.user_id) if job.user_id else None
    if user is None or not user.active:
        raise CityGovError("the user who queued this job no longer exists or is disabled")
    return accounts.principal_for_user(session, user)


Sessions = Callable[[], Session]  # a session factory (the app database's sessionmaker)


def _claim(sessions: Sessions) -> str | None:
    t = Job.__table__
    with sessions() as conn:
        candidates = conn.execute(sa.select(t.c.id).where(t.c.state == "queued")
                                  .order_by(t.c.created_at, t.c.id).limit(5)).scalars().all()
        for job_id in candidates:
            now = utcnow()
            won = conn.execute(sa.update(t).where(t.c.id == job_id, t.c.state == "queued").values(
                state="running", started_at=now, heartbeat_at=now, attempts=t.c.attempts + 1,
                message="started")).rowcount
            conn.commit()
            if won == 1:
                return job_id
    return None


def _update(sessions: Sessions, job_id: str, **values: Any) -> None:
    t = Job.__table__
    with sessions() as conn:
        conn.execute(sa.update(t).where(t.c.id == job_id).values(**values))
        conn.commit()


def fail_stale(sessions: Sessions, *, stale_seconds: int = STALE_SECONDS) -> int:
    """Jobs left ``running`` by a worker that stopped (no heartbeat) fail with that reason."""
    t = Job.__table__
    cutoff = utcnow() - timedelta(seconds=stale_seconds)
    with sessions() as conn:
        n = conn.execute(sa.update(t).where(t.c.state == "running", t.c.heartbeat_at < cutoff).values(
            state="failed", finished_at=utcnow(), message="worker stopped",
            error={"detail": "the worker running this job stopped before it finished; queue it again"})).rowcount
        conn.commit()
        return n


def run_one(sessions: Sessions) -> str | None:
    """Claim and run one queued job; returns its id (None when the queue is empty)."""
    job_id = _claim(sessions)
    if job_id is None:
        return None
    reporter = _Reporter(sessions, job_id)

    def report(percent: int, message: str) -> None:
        reporter.put(max(0, min(100, int(percent))), str(message)[:500])

    with sessions() as session:
        job = session.get(Job, job_id)
        try:
            principal = _principal_of(session, job)
            session.commit()  # end the reading transaction: the job's services open their own
            spec = _KINDS.get(job.kind)
            if spec is None:
                raise CityGovError(f"no worker knows jobs of kind {job.kind!r}")
            result = spec.run(session, principal, job, report)
            session.rollback()  # a job commits its own work (its services do); end any reading transaction
        except CityGovError as exc:
            session.rollback()
            reporter.close()
            error = {"detail": exc.detail, "code": exc.code, "errors": exc.errors[:1000]}
            _update(sessions, job_id, state="failed", finished_at=utcnow(), error=error, message=exc.detail[:500])
            return job_id
        except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never lost
            session.rollback()
            reporter.close()
            log.exception("job %s (%s) failed", job_id, job.kind)
            _update(sessions, job_id, state="failed", finished_at=utcnow(), message=type(exc).__name__,
                    error={"detail": f"unexpected error ({type(exc).__name__}); the operators have the log"})
            return job_id
    reporter.close()
    _update(sessions, job_id, state="succeeded", progress=100, finished_at=utcnow(), result=result, message="done",
            payload=None)
    return job_id


class _Reporter:
    """Progress writes off the job's thread: on SQLite the job's own write transaction holds the database
    lock, so a progress row written from the job's thread would wait for itself. The reporter thread writes
    the latest progress whenever the lock allows (at most a few times a second); PostgreSQL writes at once."""

    def __init__(self, sessions: Sessions, job_id: str):
        self.sessions, self.job_id = sessions, job_id
        self.latest: tuple[int, str] | None = None
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.done = False
        # a session factory bound to one connection (tests: savepoints in an outer transaction) is used
        # from this thread only, so progress is then written synchronously
        self.threaded = not isinstance(getattr(sessions, "kw", {}).get("bind"), sa.Connection)
        self.thread = threading.Thread(target=self._run, name=f"job-progress-{job_id[:8]}", daemon=True)
        if self.threaded:
            self.thread.start()

    def put(self, percent: int, message: str) -> None:
        if not self.threaded:
            _update(self.sessions, self.job_id, progress=percent, message=message, heartbeat_at=utcnow())
            return
        with self.lock:
            self.latest = (percent, message)
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                item, self.latest = self.latest, None
            if item is not None:
                try:
                    _update(self.sessions, self.job_id, progress=item[0], message=item[1], heartbeat_at=utcnow())
                except Exception:  # noqa: BLE001 - progress is best effort; the outcome is written by run_one
                    log.warning("could not record the progress of job %s", self.job_id)
            if self.done:
                return
            time.sleep(0.2)

    def close(self) -> None:
        if not self.threaded:
            return
        self.done = True
        self.wake.set()
        self.thread.join(timeout=60)


def run_pending(sessions: Sessions, *, limit: int = 1000) -> int:
    n = 0
    while n < limit and run_one(sessions):
        n += 1
    return n


#: another queue the worker drains between jobs: ``poll()`` does one item and returns True, or finds none
Queue = Callable[[], bool]


class Worker(threading.Thread):
    """A daemon thread polling the job queue and ``queues`` (``citygov serve`` starts one; with several
    worker processes it runs in a background process of its own)."""

    def __init__(self, sessions: Sessions, *, poll_seconds: float = 1.0, queues: tuple[Queue, ...] = ()):
        super().__init__(name="citygov-jobs", daemon=True)
        self.sessions = sessions
        # the other queues are polled more often (an EVE push waits for them); each poll is one indexed query
        self.poll_seconds = min(poll_seconds, 0.25) if queues else poll_seconds
        self.queues = queues
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            fail_stale(self.sessions)
        except Exception:  # noqa: BLE001
            log.exception("could not fail stale jobs")
        while not self.stopping.is_set():
            try:
                busy = run_one(self.sessions) is not None
                for poll in self.queues:
                    busy = poll() or busy
                if not busy:
                    self.stopping.wait(self.poll_seconds)
            except Exception:  # noqa: BLE001 - keep the worker alive (database restarts …)
                log.exception("job worker loop")
                self.stopping.wait(5)

    def stop(self) -> None:
        self.stopping.set()


def age_seconds(job: Job) -> float:
    return (utcnow() - as_utc(job.created_at)).total_seconds()
