"""Request-scoped context that crosses layers without being a parameter: the request id.

The portal sets it per HTTP request (and CLI commands / scheduler jobs set their own), the audit log
reads it when an event is recorded, and the structured logger prints it.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("citygov_request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
