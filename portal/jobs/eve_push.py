"""The sensors' asynchronous EVE pushes (:mod:`secmon.push_queue`), drained by the background worker.

:func:`after_push` is the work that follows every push that stored events, synchronous or not: the
correlation pass extends the open incidents, and the alarms it raises are queued for the scheduler — both
with the instance's configuration (``SECMON_CORRELATION_RULES``, ``SECMON_NOTIFY``). :func:`queue` is what
the job worker polls between jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kernel.db import Session


def after_push(session: Session, sensor: str, config: Mapping[str, Any]) -> dict[str, int]:
    from kernel import system_principal
    from secmon import incidents, notify
    from secmon.correlation import load_config

    p = system_principal(f"sensor-push:{sensor}")
    path = config.get("SECMON_CORRELATION_RULES")
    corr = incidents.incidents_correlate(session, p, config=load_config(path) if path else None)
    notify.notifications_enqueue(session, p, notify.NotifyConfig.from_mapping(config.get("SECMON_NOTIFY")))
    return {"incidents_created": corr["incidents_created"], "incidents_extended": corr["incidents_extended"]}


def queue(sessions: Callable[[], Session], config: Mapping[str, Any]) -> Callable[[], bool]:
    """A poll for the job worker: ingest one waiting push (True) or find none (False)."""
    from secmon import push_queue

    def after(session: Session, sensor: str) -> dict[str, int]:
        return after_push(session, sensor, config)

    stale = int(config.get("SECMON_PUSH_STALE_SECONDS") or push_queue.STALE_SECONDS)

    def poll() -> bool:
        with sessions() as session:
            push_id = push_queue.push_claim(session, stale_seconds=stale)
            if push_id is None:
                return False
            push_queue.push_run(session, push_id, after=after)
            return True

    return poll
