"""Alarms on serious intrusions: when an incident reaches a notify level (default high/critical) a notification
is queued per configured channel — a webhook signed with HMAC-SHA256 over the body, an e-mail over SMTP —
and delivered with retries and exponential backoff; every attempt is in the delivery log
(``secmon_notification``). The channels come from the portal's configuration (:class:`NotifyConfig`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

import audit
from kernel import Principal, authorize, new_id, utcnow
from kernel.db import Session
from kernel.mail import Relay, send_email
from secmon.incidents import OPEN_STATES, incident_dict
from secmon.models import SecmonIncident, SecmonNotification

SIGNATURE_HEADER = "X-Citygov-Signature"


@dataclass
class Webhook:
    url: str
    secret: str


@dataclass(frozen=True)
class Smtp(Relay):
    """The alarm e-mail channel: a relay (``kernel.mail.Relay``) and the duty recipients."""

    recipients: list[str] = field(default_factory=list)


@dataclass
class NotifyConfig:
    webhooks: list[Webhook] = field(default_factory=list)
    smtp: Smtp | None = None
    levels: frozenset[str] = frozenset({"high", "critical"})
    max_attempts: int = 5
    backoff_seconds: float = 30.0  # 30 s, 60 s, 120 s, … between attempts
    timeout: float = 10.0

    @classmethod
    def from_mapping(cls, m: dict | None) -> "NotifyConfig":
        m = m or {}
        hooks = [Webhook(h["url"], h["secret"]) for h in m.get("webhooks", []) if h.get("url") and h.get("secret")]
        s = m.get("smtp") or {}
        relay = Relay.from_mapping(s) if s.get("recipients") else None
        smtp = Smtp(**vars(relay), recipients=list(s["recipients"])) if relay is not None else None
        return cls(webhooks=hooks, smtp=smtp, levels=frozenset(m.get("levels", ["high", "critical"])),
                   max_attempts=int(m.get("max_attempts", 5)), backoff_seconds=float(m.get("backoff_seconds", 30)))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _payload(inc: SecmonIncident) -> bytes:
    d = incident_dict(inc)
    doc = {"type": "secmon.incident.alarm", "incident": {k: d[k] for k in (
        "id", "title", "state", "severity", "score", "src_ip", "dest_ip", "sid", "signature", "system_id", "org_id",
        "mlps_level", "first_seen", "last_seen", "alert_count")}}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()


def notifications_enqueue(session: Session, principal: Principal, config: NotifyConfig) -> list[str]:
    """Queue one notification per channel target for every open incident at a notify level not alarmed yet."""
    authorize(principal, "secmon:incident:manage")
    now = utcnow()
    queued = []
    targets = [("webhook", h.url) for h in config.webhooks]
    if config.smtp is not None:
        targets += [("email", ",".join(config.smtp.recipients))]
    if not targets:
        return []
    for inc in session.execute(select(SecmonIncident).where(
            SecmonIncident.notified_at.is_(None), SecmonIncident.severity.in_(sorted(config.levels)),
            SecmonIncident.state.in_(OPEN_STATES)).order_by(SecmonIncident.id)).scalars():
        body = _payload(inc)
        for channel, target in targets:
            n = SecmonNotification(id=new_id(), incident_id=inc.id, channel=channel, target=target[:500],
                                   status="pending", attempts=0, payload_sha256=hashlib.sha256(body).hexdigest(),
                                   created_at=now, next_attempt_at=now)
            session.add(n)
            queued.append(n.id)
        inc.notified_at = now
        session.add(inc)
        audit.record(session, principal, "secmon:incident:manage", object_type="secmon_incident", object_id=inc.id,
                     state={"notified_at": now.isoformat()}, details={"op": "alarm", "channels": len(targets)})
    session.commit()
    return queued


def _send_webhook(hook: Webhook, body: bytes, timeout: float) -> int:
    req = urllib.request.Request(hook.url, data=body, method="POST", headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, body),
        "User-Agent": "citygov-secmon"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured URL
        return resp.status


def _send_email(smtp: Smtp, inc: SecmonIncident, body: bytes) -> None:
    send_email(smtp, smtp.recipients, f"[citygov secmon] {inc.severity.upper()} incident: {inc.title[:150]}",
               f"Incident {inc.id} ({inc.severity}) on system {inc.system_id or '-'}\n"
               f"{inc.title}\nsource {inc.src_ip} → {inc.dest_ip}, {inc.alert_count} alerts, "
               f"first {inc.first_seen}, last {inc.last_seen}\n\n" + body.decode())


def notifications_deliver(session: Session, principal: Principal, config: NotifyConfig, *,
                          now: datetime | None = None) -> dict:
    """Attempt every due pending notification once; failures are retried later with exponential backoff until
    ``max_attempts``, then marked failed. Returns counts; the log keeps each attempt's error and status."""
    authorize(principal, "secmon:incident:manage")
    now = now or utcnow()
    hooks = {h.url: h for h in config.webhooks}
    delivered = failed = retried = 0
    due = session.execute(select(SecmonNotification).where(
        SecmonNotification.status == "pending", SecmonNotification.next_attempt_at <= now)
        .order_by(SecmonNotification.created_at, SecmonNotification.id)).scalars().all()
    for n in due:
        inc = session.get(SecmonIncident, n.incident_id)
        body = _payload(inc)
        n.attempts += 1
        try:
            if n.channel == "webhook":
                hook = hooks.get(n.target)
                if hook is None:
                    raise RuntimeError("webhook no longer configured")
                n.response_status = _send_webhook(hook, body, config.timeout)
            else:
                if config.smtp is None:
                    raise RuntimeError("SMTP no longer configured")
                _send_email(config.smtp, inc, body)
            n.status, n.delivered_at, n.last_error, n.next_attempt_at = "delivered", now, None, None
            delivered += 1
        except urllib.error.HTTPError as exc:
            n.response_status = exc.code
            n.last_error = f"HTTP {exc.code}"
        except (OSError, smtplib.SMTPException, RuntimeError, ValueError) as exc:
            n.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if n.status != "delivered":
            if n.attempts >= config.max_attempts:
                n.status, n.next_attempt_at = "failed", None
                failed += 1
            else:
                n.next_attempt_at = now + timedelta(seconds=config.backoff_seconds * (2 ** (n.attempts - 1)))
                retried += 1
        session.add(n)
        audit.record(session, principal, "secmon:incident:manage", object_type="secmon_notification", object_id=n.id,
                     state={"status": n.status, "attempts": n.attempts},
                     details={"channel": n.channel, "incident": n.incident_id, "error": n.last_error})
        session.commit()
    return {"attempted": len(due), "delivered": delivered, "retrying": retried, "failed": failed}


def notification_log(session: Session, principal: Principal, *, incident_id: str | None = None,
                     limit: int = 100) -> list[dict]:
    authorize(principal, "secmon:incident:manage")
    q = select(SecmonNotification).order_by(SecmonNotification.created_at.desc(), SecmonNotification.id)
    if incident_id:
        q = q.where(SecmonNotification.incident_id == incident_id)
    return [{"id": n.id, "incident_id": n.incident_id, "channel": n.channel, "target": n.target, "status": n.status,
             "attempts": n.attempts, "last_error": n.last_error, "response_status": n.response_status,
             "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None}
            for n in session.execute(q.limit(max(1, min(limit, 1000)))).scalars()]
