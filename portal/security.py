"""Browser-facing protections: CSRF on every form (Flask-WTF), security headers and a strict CSP."""

from __future__ import annotations

import ipaddress

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def init_app(app: Flask) -> None:
    # First of the request hooks that read the body (CSRF reads the form): refuse oversize bodies from the
    # declared length, before anything is read, through the one error mapping (problem+json / error page).
    @app.before_request
    def _body_limit() -> None:
        from flask import request
        from werkzeug.exceptions import RequestEntityTooLarge

        from portal.serving import BODY_TOO_LARGE

        limit = app.config.get("MAX_CONTENT_LENGTH")
        if request.environ.get(BODY_TOO_LARGE) or (limit and (request.content_length or 0) > int(limit)):
            raise RequestEntityTooLarge(f"the request body is larger than the limit of {limit} bytes")

    # The API authenticates with bearer tokens only (never the session cookie), so portal.api exempts
    # its blueprints from CSRF; every web form carries a token.
    csrf.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("ENV") == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


class TrustedProxyFix:
    """Believe ``X-Forwarded-For``/``X-Forwarded-Proto`` only when the immediate peer is a configured proxy.

    Werkzeug's ProxyFix (one hop) is applied when ``REMOTE_ADDR`` lies in one of ``networks``; from any
    other peer the headers are ignored and ``remote_addr`` stays the socket's address, so a client cannot
    choose the address that login throttling counts.
    """

    def __init__(self, wsgi_app, networks) -> None:
        self.wsgi_app = wsgi_app
        self.networks = list(networks)
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1)

    def trusted(self, peer: str) -> bool:
        try:
            addr = ipaddress.ip_address((peer or "").split("%", 1)[0])
        except ValueError:
            return False
        return any(addr.version == n.version and addr in n for n in self.networks)

    def __call__(self, environ, start_response):
        if self.networks and self.trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)


def trust_proxies(app: Flask) -> None:
    """Wrap the app outermost (call last in the factory) so every layer sees the client's address."""
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config.get("TRUSTED_PROXIES") or [])
