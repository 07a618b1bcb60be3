"""Serving the app with waitress, with waitress's own error answers routed through the app.

Waitress refuses a body above ``max_request_body_size`` itself (before the app runs) with a plain-text
413. :class:`_AppErrorTask` instead replays such a request to the app *without its body*, flagged with
``BODY_TOO_LARGE`` in the environ, so the answer comes from the one error mapping in :mod:`portal.errors`
(problem+json for the API, an HTML page for the web) with the usual security headers and request id.
"""

from __future__ import annotations

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

BODY_TOO_LARGE = "citygov.body_too_large"
_FORWARDED_HEADERS = ("HOST", "ACCEPT", "ACCEPT_LANGUAGE", "COOKIE", "USER_AGENT", "X_REQUEST_ID",
                      "X_FORWARDED_FOR", "X_FORWARDED_PROTO")


class _AppErrorTask(ErrorTask):
    def execute(self):
        req = self.request
        error = getattr(req, "error", None)
        if getattr(error, "code", None) != 413 or not getattr(req, "path", None):
            return super().execute()
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        headers = {name.replace("_", "-").title(): req.headers[name]
                   for name in _FORWARDED_HEADERS if name in req.headers}
        builder = EnvironBuilder(path=req.path, method=req.command or "GET", query_string=req.query or "",
                                 headers=headers, environ_overrides={
                                     BODY_TOO_LARGE: True,
                                     "REMOTE_ADDR": str(self.channel.addr[0]) if self.channel.addr else "",
                                     "wsgi.url_scheme": self.channel.server.adj.url_scheme or "http"})
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, response_headers = run_wsgi_app(self.channel.server.application, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        self.status = status
        self.response_headers.extend((k, v) for k, v in response_headers.items()
                                     if k.lower() not in ("content-length", "connection"))
        self.set_close_on_finish()  # the unread body is still on the wire
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _AppErrorTask


def create_server(app, *, host: str = "127.0.0.1", port: int = 8000, threads: int = 8, **kw):
    """A waitress server for ``app`` whose body-size refusals are answered by the app. ``port=0`` picks a
    free port (``server.effective_port``)."""
    from waitress.server import create_server as waitress_create

    limit = int(app.config["MAX_CONTENT_LENGTH"])
    server = waitress_create(app, host=host, port=port, threads=threads, ident="citygov",
                             max_request_body_size=limit, **kw)
    for srv in [server, *getattr(server, "map", {}).values()]:
        if hasattr(srv, "channel_class"):
            srv.channel_class = _Channel
    return server


def serve(app, **kw) -> None:
    server = create_server(app, **kw)
    server.run()
