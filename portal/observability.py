"""Request ids, structured logs (text or JSON lines) and Prometheus metrics."""

from __future__ import annotations

import atexit
import copy
import json
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
import uuid

from flask import Flask, Response, g, request

from kernel.clock import utcnow
from kernel.context import current_request_id, request_id_var

_RID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra`` fields."""

    _skip = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": utcnow().isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in self._skip and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class _EnqueueHandler(logging.handlers.QueueHandler):
    """Hands records to the writer thread; the message is merged here (the request's values), the
    exception stays attached so the writer's formatter renders it."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg = record.getMessage()
        record.args = None
        return record


_LISTENER: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    global _LISTENER
    if _LISTENER is not None:
        _LISTENER.stop()  # drains the queue: nothing logged before exit is lost
        _LISTENER = None


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """citygov's log lines go to stderr from one writer thread: request threads only enqueue a record.
    (Writing from every request thread made them queue for the handler's lock while the holder waited
    for the GIL — a fifth of the request time under 8 concurrent clients, see benchmarks/load_serve.py.)"""
    global _LISTENER, _CONFIGURED
    _CONFIGURED = (fmt, level)
    root = logging.getLogger("citygov")
    for handler in list(root.handlers):
        if getattr(handler, "_citygov", False):
            root.removeHandler(handler)
    _stop_listener()
    stream = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        stream.setFormatter(JsonFormatter())
    else:
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    records: queue.SimpleQueue = queue.SimpleQueue()
    handler = _EnqueueHandler(records)
    handler._citygov = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())  # runs in the request's thread, where the request id is known
    _LISTENER = logging.handlers.QueueListener(records, stream)
    _LISTENER.start()
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    root.propagate = False


atexit.register(_stop_listener)

#: the last configure_logging arguments: a forked worker (``citygov serve --workers``) starts its own writer
#: thread, since threads do not survive a fork (its records would queue up unwritten)
_CONFIGURED: tuple[str, str] | None = None


def _restart_in_child() -> None:
    global _LISTENER
    if _CONFIGURED is not None:
        _LISTENER = None  # the parent's thread is not in this process; its queue object is replaced too
        configure_logging(*_CONFIGURED)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)


class Metrics:
    """Request counters and latency histograms, created on the first request (a CLI command that never
    serves one does not import prometheus_client)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("citygov_http_requests_total", "HTTP requests",
                                ["method", "endpoint", "status"], registry=self.registry)
        self.latency = Histogram("citygov_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "endpoint"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def init_app(app: Flask) -> None:
    configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))
    holder: list[Metrics] = []
    lock = threading.Lock()

    def metrics_of() -> Metrics:
        if not holder:
            with lock:
                if not holder:
                    holder.append(Metrics())
                    app.extensions["citygov.metrics"] = holder[0]
        return holder[0]
    access_log = logging.getLogger("citygov.access")

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if _RID_RE.match(incoming) else uuid.uuid4().hex
        g.request_id = rid
        g.request_id_token = request_id_var.set(rid)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-Id"] = rid
        started = g.get("started")
        endpoint = request.endpoint or "unmatched"
        if started is not None:
            elapsed = time.perf_counter() - started
            metrics = metrics_of()
            metrics.requests.labels(request.method, endpoint, str(response.status_code)).inc()
            metrics.latency.labels(request.method, endpoint).observe(elapsed)
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"status": response.status_code, "duration_ms": round(elapsed * 1000, 2),
                                   "endpoint": endpoint})
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)

    @app.get("/metrics")
    def metrics_view():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics_of().registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                        headers={"Content-Type": CONTENT_TYPE_LATEST})
