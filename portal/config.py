"""Configuration: defaults, then the instance folder's ``config.py``, then ``CITYGOV_*`` variables.

Settings (environment variable → config key):

- ``CITYGOV_DATABASE_URL`` → ``DATABASE_URL`` (default: SQLite file ``citygov.sqlite`` in the instance
  folder; PostgreSQL as ``postgresql+psycopg://user@host/db``)
- ``CITYGOV_SECRET_KEY`` → ``SECRET_KEY`` (required in production; never the default)
- ``CITYGOV_INSTANCE_PATH`` → the instance folder (keys, SQLite file, generated secrets)
- ``CITYGOV_ENV`` → ``ENV``: ``production`` (default), ``development`` or ``testing``
- ``CITYGOV_MAX_CONTENT_LENGTH`` (bytes, default 16 MiB), ``CITYGOV_LOG_FORMAT`` (``text``|``json``),
  ``CITYGOV_LOGIN_MAX_FAILURES`` / ``CITYGOV_LOGIN_WINDOW_SECONDS`` / ``CITYGOV_LOGIN_BACKOFF_SECONDS`` /
  ``CITYGOV_LOGIN_ADDRESS_MAX_FAILURES`` (throttling per user-and-address pair and per address),
- ``CITYGOV_PASSWORD_DENYLIST``: a file of further refused passwords (read by portal.accounts.passwords),
- ``CITYGOV_TRUSTED_PROXIES`` → ``TRUSTED_PROXIES``: addresses/CIDRs of reverse proxies whose
  ``X-Forwarded-For``/``-Proto`` is believed (JSON list or comma-separated; default none),
  ``CITYGOV_TOKEN_DEFAULT_DAYS``, ``CITYGOV_AUDIT_ORIGIN`` (checkpoint origin line),
  ``CITYGOV_BABEL_DEFAULT_LOCALE`` (``zh_CN``).
- ``MAIL_SMTP`` (instance ``config.py``, or ``CITYGOV_MAIL_SMTP`` as a JSON object): the SMTP relay for notices
  to users (stale datasets to their stewards): ``{"host", "port", "sender", "starttls", "username",
  "password"}``; without it the relay of ``SECMON_NOTIFY["smtp"]`` is used, else no e-mail is sent.
- ``CITYGOV_PUBLIC_URL`` → ``PUBLIC_URL``: the address users reach the portal at, for links in e-mails.
- ``CITYGOV_SECMON_PUSH_STALE_SECONDS`` (default 120): a queued EVE push being ingested this long has lost its
  worker (killed, machine lost) and is taken up again by another.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

INSECURE_SECRET_KEYS = {"", "dev", "changeme", "changethis", "secret", "insecure-default"}

DEFAULTS: dict[str, Any] = {
    "ENV": "production",
    "SECRET_KEY": None,
    "DATABASE_URL": None,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 900,
    "LOGIN_BACKOFF_SECONDS": 30,
    "LOGIN_ADDRESS_MAX_FAILURES": 20,
    "TRUSTED_PROXIES": [],
    "TOKEN_DEFAULT_DAYS": 90,
    "TOKEN_MAX_DAYS": 366,
    "AUDIT_ORIGIN": "citygov.example/audit",
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "LANGUAGES": ["zh_CN", "en"],
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "JSON_SORT_KEYS": False,
    "SQL_ECHO": False,
    "SECMON_PUSH_STALE_SECONDS": 120,
}


class ConfigurationError(RuntimeError):
    """The configuration cannot run safely (e.g. production without a secret key)."""


def instance_path_from_env() -> str | None:
    value = os.environ.get("CITYGOV_INSTANCE_PATH")
    return str(Path(value).resolve()) if value else None


def load(app, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` in precedence order: defaults < instance config.py < env < overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CITYGOV", loads=_loads)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "citygov.sqlite")
    if app.config["ENV"] not in {"production", "development", "testing"}:
        raise ConfigurationError(f"CITYGOV_ENV must be production, development or testing, not {app.config['ENV']!r}")
    if app.config["ENV"] != "production":
        app.config["SESSION_COOKIE_SECURE"] = False
    app.config["TRUSTED_PROXIES"] = trusted_networks(app.config.get("TRUSTED_PROXIES"))
    _check_secret(app)


def trusted_networks(value: Any) -> list:
    """``TRUSTED_PROXIES`` as a list of :class:`ipaddress` networks (a bare address is a /32 or /128)."""
    import ipaddress

    if value is None or value == "":
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            out.append(item)
            continue
        try:
            out.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ConfigurationError(f"CITYGOV_TRUSTED_PROXIES: {item!r} is not an address or CIDR") from None
    return out


def _loads(value: str) -> Any:
    """Environment values: JSON when they parse as JSON numbers/booleans/lists, else the raw string."""
    import json

    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if not isinstance(parsed, dict) else value


def _check_secret(app) -> None:
    key = app.config.get("SECRET_KEY")
    if key in (None, "") and app.config["ENV"] != "production":
        key = app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    if key is None or str(key) in INSECURE_SECRET_KEYS or len(str(key)) < 16:
        raise ConfigurationError(
            "CITYGOV_SECRET_KEY is missing or insecure: set it to at least 16 random characters "
            "(`citygov init` writes one into the instance folder's config.py)"
        )


def write_instance_secret(instance_path: str) -> Path:
    """Write a generated secret key into ``<instance>/config.py`` unless one is there already."""
    path = Path(instance_path) / "config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if "SECRET_KEY" not in text:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"SECRET_KEY = {secrets.token_urlsafe(48)!r}\n")
        os.chmod(path, 0o600)
    return path
