"""Warm a serving process before it takes connections: what its first requests would otherwise wait for.

A new worker (``citygov serve``, also each restarted one under ``--workers``) loads lazily: the OpenAPI document
that request bodies are checked against, the body validators, the similarity index (a mapped snapshot plus the
changes since). Loaded on the first request that needs them, they made that request — and, with one thread a
worker, every request queued behind it — wait 0.3–0.8 s. Loaded here, before the worker listens, they cost the
start instead. Nothing here changes data; a failure is logged and left to the first request to report.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

log = logging.getLogger("citygov.serving")


def warm_up(app: Flask) -> float:
    """Load the lazily built state of ``app``'s request paths; the seconds it took."""
    t0 = time.perf_counter()
    with app.app_context():
        from portal.api import _validator, openapi_document
        from portal.db import get_db

        try:
            if "ProjectDocument" in openapi_document()["components"]["schemas"]:
                _validator("ProjectDocument")  # proposals: the body every submission checks
        except Exception:  # noqa: BLE001 - the first request reports it
            log.exception("warm-up: the OpenAPI document")
        session = get_db(app).session()
        try:
            from registry import services as registry

            registry.library_index(session)
        except Exception:  # noqa: BLE001 - e.g. a database not migrated yet: serve reports that itself
            log.exception("warm-up: the similarity index")
        finally:
            session.rollback()
            session.close()
    return time.perf_counter() - t0
