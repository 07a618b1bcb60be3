"""Stale datasets: published datasets not updated within their declared frequency (``frequencies``
in ``data/catalog.yaml`` gives the days) are flagged once, with an audit entry naming the owning
department; the steward page shows the flag until the dataset is republished."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

import audit
from kernel.clock import as_utc, utcnow
from kernel.db import Session
from kernel.principal import Principal
from opendata.catalog import vocab
from opendata.models import Dataset

__all__ = ["flag_stale"]


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
