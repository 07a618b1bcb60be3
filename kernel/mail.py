"""Sending one e-mail over SMTP (STARTTLS and login optional): the incident alarms of ``secmon`` and the
stale-dataset notices to data owners use the same relay settings and the same code."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


@dataclass(frozen=True)
class Relay:
    """An SMTP relay: ``{"host", "port" (25), "sender", "starttls", "username", "password", "timeout"}``."""

    host: str
    port: int = 25
    sender: str = "citygov@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_mapping(cls, m: dict[str, Any] | None) -> Relay | None:
        if not m or not m.get("host"):
            return None
        return cls(host=str(m["host"]), port=int(m.get("port", 25)), sender=str(m.get("sender", "citygov@localhost")),
                   starttls=bool(m.get("starttls", False)), username=m.get("username"), password=m.get("password"),
                   timeout=float(m.get("timeout", 10.0)))


def send_email(relay: Relay, recipients: list[str], subject: str, text: str) -> None:
    """Send ``text`` to ``recipients`` (raises ``OSError`` / ``smtplib.SMTPException`` when the relay refuses)."""
    msg = EmailMessage()
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")[:200]
    msg["From"] = relay.sender
    msg["To"] = ", ".join(recipients)
    msg.set_content(text)
    with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as s:
        if relay.starttls:
            s.starttls()
        if relay.username:
            s.login(relay.username, relay.password or "")
        s.send_message(msg)
