"""Stale datasets: published datasets not updated within their declared frequency (``frequencies``
in ``data/catalog.yaml`` gives the days) are flagged once, with an audit entry naming the owning
department; the steward page shows the flag until the dataset is republished, and the owning department's
stewards get a notice (:func:`stale_notice`, sent by the portal's scheduler job)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

import audit
from kernel.clock import as_utc, utcnow
from kernel.db import Session
from kernel.principal import Principal
from opendata.catalog import vocab
from opendata.models import Dataset

__all__ = ["flag_stale", "mark_notified", "stale_notice", "unnotified"]


def flag_stale(session: Session, principal: Principal, *, now: datetime | None = None) -> list[Dataset]:
    now = now or utcnow()
    days = vocab()["frequencies"]
    flagged = []
    for ds in session.exec(select(Dataset).where(Dataset.state == "published", Dataset.stale_since.is_(None))):
        limit = days.get(ds.frequency)
        if limit is None:
            continue
        due = as_utc(ds.updated_at) + timedelta(days=limit)
        if due < now:
            ds.stale_since = now
            session.add(ds)
            audit.record(session, principal, "opendata:dataset:stale", object_type="opendata_dataset", object_id=ds.id,
                         details={"name": ds.name, "owner_org": ds.org_id, "frequency": ds.frequency,
                                  "last_update": as_utc(ds.updated_at).isoformat(), "due": due.isoformat()})
            flagged.append(ds)
    session.commit()
    return flagged


def unnotified(session: Session) -> list[Dataset]:
    """Published stale datasets whose owners have not been told yet (never, or the notice failed)."""
    return list(session.exec(select(Dataset).where(Dataset.state == "published", Dataset.stale_since.is_not(None),
                                                   Dataset.stale_notified_at.is_(None)).order_by(Dataset.name)))


def mark_notified(session: Session, principal: Principal, ds: Dataset, *, recipients: int) -> None:
    """Record that the owners of ``ds`` were told (audited with the number of recipients, never their addresses)."""
    ds.stale_notified_at = utcnow()
    session.add(ds)
    audit.record(session, principal, "opendata:dataset:stale-notice", object_type="opendata_dataset", object_id=ds.id,
                 details={"name": ds.name, "owner_org": ds.org_id, "recipients": recipients})
    session.commit()


def stale_notice(ds: Dataset, *, base_url: str = "") -> tuple[str, str]:
    """The subject and text of the notice to the owning department's stewards (Chinese first, then English)."""
    days = vocab()["frequencies"].get(ds.frequency)
    last = as_utc(ds.updated_at).date().isoformat()
    link = f"{base_url.rstrip('/')}/opendata/steward" if base_url else "/opendata/steward"
    subject = f"[citygov 开放数据] 数据集逾期未更新 / dataset overdue for update: {ds.title_zh[:80]} ({ds.name})"
    text = (f"数据集「{ds.title_zh}」（{ds.name}）声明的更新频率为 {ds.frequency}（{days} 天），"
            f"最近一次更新为 {last}，已逾期。请更新数据并重新发布：{link}\n\n"
            f"The dataset {ds.name} declares the update frequency {ds.frequency} ({days} days); it was last updated on "
            f"{last} and is overdue. Please update and republish it: {link}\n")
    return subject, text
