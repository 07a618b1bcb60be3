"""The one place where exceptions become HTTP answers.

API requests (``/api/...``) get RFC 9457 ``application/problem+json``; web pages get an HTML error
page. Unexpected exceptions are logged with the request id and answered with a bare 500 problem that
reveals nothing.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, json, render_template, request
from werkzeug.exceptions import HTTPException

from kernel.context import current_request_id
from kernel.errors import CityGovError

log = logging.getLogger("citygov.portal")

PROBLEM_TYPE_BASE = "https://citygov.example/problems/"


def wants_problem_json() -> bool:
    return (request.path.startswith("/api/") or request.path in ("/healthz",)
            # machine endpoints outside /api: open-data downloads and the DCAT export
            or request.path.startswith(("/opendata/download/", "/catalog.", "/dataset/")))


def problem_response(status: int, body: dict) -> Response:
    body.setdefault("type", PROBLEM_TYPE_BASE + body.get("code", "about-blank"))
    body.setdefault("instance", request.path)
    rid = current_request_id()
    if rid:
        body.setdefault("request_id", rid)
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="citygov"'
    if status == 429 and "retry_after" in body:
        resp.headers["Retry-After"] = str(body["retry_after"])
    return resp


def _html(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, detail=detail), status


def handle_citygov_error(exc: CityGovError):
    g.error_code = exc.code
    if wants_problem_json():
        return problem_response(exc.status, exc.to_problem())
    if exc.status == 401:
        from flask import redirect, url_for

        return redirect(url_for("web.login", next=request.full_path))
    return _html(exc.status, exc.title, exc.detail)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
            415: "unsupported_media_type"}.get(status, f"http_{status}")
    if wants_problem_json():
        resp = problem_response(status, {"title": exc.name, "status": status, "detail": exc.description, "code": code})
        if status == 405 and getattr(exc, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp
    return _html(status, exc.name, exc.description or "")


def handle_unexpected(exc: Exception):
    log.exception("unhandled error", extra={"path": request.path})
    if wants_problem_json():
        return problem_response(500, {"title": "Internal server error", "status": 500, "code": "internal",
                                      "detail": "an unexpected error occurred; quote the request id"})
    return _html(500, "Internal server error", "An unexpected error occurred.")


def init_app(app: Flask) -> None:
    app.register_error_handler(CityGovError, handle_citygov_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
