"""Catalog use cases: datasets (DCAT-AP metadata in zh and en, owned by a department, drafts visible
only to its stewards), grading, and distributions stored by their SHA-256 digest.

Vocabularies (themes, frequencies, licences, formats) and the grading rules are data
(``data/catalog.yaml``). Every change is audited in the same transaction.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import select

import audit
from kernel.clock import utcnow
from kernel.db import Session
from kernel.errors import NotFound, PayloadTooLarge, ValidationFailed
from kernel.permissions import authorize, is_allowed
from kernel.principal import Principal
from opendata.models import Dataset, Distribution
from opendata.recognizers import DATA_DIR, SAFE_LOADER
from opendata.tabular import DataError, detect_encoding, open_table

__all__ = ["vocab", "dataset_create", "dataset_grade", "dataset_get", "distribution_add", "dataset_dict",
           "distributions_of", "blob_path", "GRADES"]

GRADES = ("not_open", "conditional", "unconditional")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@functools.lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    return yaml.load((DATA_DIR / "catalog.yaml").read_text(encoding="utf-8"), Loader=SAFE_LOADER)


def _validate_meta(meta: dict[str, Any], *, partial: bool = False) -> list[dict[str, str]]:
    v = vocab()
    errors: list[dict[str, str]] = []
    required = ("name", "title_zh", "title_en", "description_zh", "description_en", "theme", "licence",
                "frequency", "contact_email")
    for f in required:
        if not partial and not str(meta.get(f) or "").strip():
            errors.append({"pointer": f"/{f}", "message": "required"})
    if meta.get("name") and not _NAME.match(str(meta["name"])):
        errors.append({"pointer": "/name", "message": "lower-case letters, digits, '-' and '_' (2-100)"})
    if meta.get("theme") and meta["theme"] not in v["themes"]:
        errors.append({"pointer": "/theme", "message": f"unknown theme code {meta['theme']!r}; one of {', '.join(v['themes'])}"})
    if meta.get("licence") and meta["licence"] not in v["licences"]:
        errors.append({"pointer": "/licence", "message": f"unknown licence {meta['licence']!r}; one of {', '.join(v['licences'])}"})
    if meta.get("frequency") and meta["frequency"] not in v["frequencies"]:
        errors.append({"pointer": "/frequency", "message": f"unknown frequency {meta['frequency']!r}"})
    if meta.get("contact_email") and not _EMAIL.match(str(meta["contact_email"])):
        errors.append({"pointer": "/contact_email", "message": "not an e-mail address"})
    for f in ("temporal_start", "temporal_end"):
        if meta.get(f) and not _DATE.match(str(meta[f])):
            errors.append({"pointer": f"/{f}", "message": "YYYY-MM-DD"})
    kw = meta.get("keywords", [])
    if not isinstance(kw, list) or not all(isinstance(k, str) and k.strip() and len(k) <= 100 for k in kw):
        errors.append({"pointer": "/keywords", "message": "a list of non-empty strings (at most 100 characters each)"})
    qi = meta.get("quasi_identifiers", [])
    if not isinstance(qi, list) or not all(isinstance(k, str) for k in qi):
        errors.append({"pointer": "/quasi_identifiers", "message": "a list of column names"})
    return errors


_FIELDS = ("name", "title_zh", "title_en", "description_zh", "description_en", "theme", "keywords", "licence",
           "frequency", "temporal_start", "temporal_end", "spatial", "contact_email", "conforms_to", "quasi_identifiers")


def dataset_create(session: Session, principal: Principal, meta: dict[str, Any], *, organisation: str | None = None) -> Dataset:
    """A new draft dataset of the principal's department (grade ``not_open`` until graded)."""
    authorize(principal, "opendata:dataset:create")
    unknown = sorted(set(meta) - set(_FIELDS))
    errors = [{"pointer": f"/{k}", "message": "unknown field"} for k in unknown] + _validate_meta(meta)
    if errors:
        raise ValidationFailed("invalid dataset metadata", errors=errors)
    if session.exec(select(Dataset).where(Dataset.name == meta["name"])).first() is not None:
        raise ValidationFailed("a dataset with this name exists", errors=[{"pointer": "/name", "message": "taken"}])
    ds = Dataset(org_id=principal.org_id or "system", organisation=organisation or principal.org_id or "system",
                 prepared_by=principal.actor, **{k: meta[k] for k in _FIELDS if k in meta})
    session.add(ds)
    session.flush()
    audit.record(session, principal, "opendata:dataset:create", object_type="opendata_dataset", object_id=ds.id,
                 state=dataset_dict(session, ds), details={"org_id": ds.org_id},
                 private_details={"name": ds.name})  # a draft's name is not public until published
    session.commit()
    return ds


def dataset_get(session: Session, principal: Principal, ident: str) -> Dataset:
    """By id or name; drafts of other departments are 'not found' (their existence is not revealed)."""
    ds = session.get(Dataset, ident) or session.exec(select(Dataset).where(Dataset.name == ident)).first()
    if ds is None or not is_allowed(principal, "opendata:dataset:read", ds):
        raise NotFound(f"dataset {ident!r} not found")
    return ds


def dataset_grade(session: Session, principal: Principal, ident: str, grade: str, reason: str) -> Dataset:
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:dataset:edit", ds)
    errors = []
    if grade not in GRADES:
        errors.append({"pointer": "/grade", "message": f"one of {', '.join(GRADES)}"})
    if len(reason.strip()) < 5:
        errors.append({"pointer": "/reason", "message": "a written reason is required"})
    if ds.state in ("published",):
        errors.append({"pointer": "/state", "message": "withdraw or update the release before regrading"})
    if errors:
        raise ValidationFailed("invalid grade", errors=errors)
    ds.grade, ds.grade_reason, ds.updated_at = grade, reason.strip(), utcnow()
    if ds.state != "draft":
        ds.state = "draft"  # a new grade needs a new check
    session.add(ds)
    audit.record(session, principal, "opendata:dataset:grade", object_type="opendata_dataset", object_id=ds.id,
                 state=dataset_dict(session, ds), details={"grade": grade, "reason": ds.grade_reason})
    session.commit()
    return ds


def blob_path(storage: str | os.PathLike, sha256: str) -> Path:
    return Path(storage) / sha256[:2] / sha256


def _check_format(path: Path, fmt: str) -> tuple[int | None, str | None]:
    """Is the file what it is declared to be? Returns (rows, source encoding of a re-encoded CSV)."""
    head = path.open("rb").read(65536)
    if fmt == "XLSX":
        if not zipfile.is_zipfile(path):
            raise ValidationFailed("the file is not an XLSX workbook", errors=[{"pointer": "/format", "message": "not XLSX"}])
        t = open_table(path, format="xlsx")
        return sum(1 for _ in t.rows()), None
    if fmt in ("JSON", "GEOJSON"):
        try:
            doc = json.loads(path.read_bytes().decode(detect_encoding(head)))
        except (ValueError, UnicodeDecodeError, DataError) as exc:
            raise ValidationFailed(f"the file is not valid JSON: {exc}", errors=[{"pointer": "/format", "message": "not JSON"}]) from None
        if fmt == "GEOJSON" and not (isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature")):
            raise ValidationFailed("the file is not GeoJSON (no FeatureCollection / Feature)",
                                   errors=[{"pointer": "/format", "message": "not GeoJSON"}])
        return (len(doc) if isinstance(doc, list) else len(doc.get("features", [])) if isinstance(doc, dict) else None), None
    # CSV
    if head.startswith(b"PK\x03\x04") or b"\x00" in head[:4096]:
        raise ValidationFailed("the file is not CSV text (binary content)", errors=[{"pointer": "/format", "message": "not CSV"}])
    t = open_table(path, format="csv")
    rows = sum(1 for _ in t.rows())
    enc = t.as_dict().get("encoding")
    return rows, enc


def distribution_add(session: Session, principal: Principal, ident: str, *, source: str | os.PathLike,
                     filename: str, fmt: str, storage: str | os.PathLike, title: str | None = None) -> Distribution:
    """Attach a file to a dataset. The declared format is checked (a CSV must parse, JSON must be JSON,
    ...); CSV text in GBK / GB18030 is stored re-encoded as UTF-8; files over the configured size are
    refused. The dataset goes back to ``draft`` (a new check is needed)."""
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:dataset:edit", ds)
    fmt = fmt.upper()
    v = vocab()
    if fmt not in v["formats"]:
        raise ValidationFailed(f"unknown format {fmt!r}", errors=[{"pointer": "/format", "message": f"one of {', '.join(v['formats'])}"}])
    if ds.state == "withdrawn":
        raise ValidationFailed("the dataset is withdrawn", errors=[{"pointer": "/state", "message": "withdrawn"}])
    src = Path(source)
    size = src.stat().st_size
    if size > v["max_upload_bytes"]:
        raise PayloadTooLarge(f"the file has {size} bytes; at most {v['max_upload_bytes']} are accepted")
    if size == 0:
        raise ValidationFailed("the file is empty", errors=[{"pointer": "/file", "message": "empty"}])
    try:
        rows, enc = _check_format(src, fmt)
    except DataError as exc:
        raise ValidationFailed(f"the file is not valid {fmt}: {exc.detail}", errors=[{"pointer": "/file", "message": exc.detail}]) from None
    storage = Path(storage)
    storage.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload.", dir=storage)
    h = hashlib.sha256()
    converted = None
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            if fmt == "CSV" and enc and enc.lower().replace("-", "") in ("gbk", "gb18030"):
                converted = enc
                reader = codecs.getreader("gb18030")(fh)
                for chunk in iter(lambda: reader.read(1 << 20), ""):
                    b = chunk.encode("utf-8")
                    h.update(b)
                    out.write(b)
            else:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
        digest = h.hexdigest()
        target = blob_path(storage, digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        from kernel.atomicfile import commit

        commit(tmp, target)  # fsync, rename, fsync the folder: the blob is complete once the row refers to it
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dist = Distribution(dataset_id=ds.id, title=title or filename, format=fmt, media_type=v["formats"][fmt],
                        filename=Path(filename).name, byte_size=target.stat().st_size, sha256=digest, rows=rows)
    session.add(dist)
    if ds.state != "draft":
        ds.state = "draft"
    ds.updated_at = utcnow()
    session.add(ds)
    session.flush()
    audit.record(session, principal, "opendata:distribution:add", object_type="opendata_dataset", object_id=ds.id,
                 state=dataset_dict(session, ds),
                 details={"distribution": dist.id, "sha256": digest, "format": fmt, "bytes": dist.byte_size,
                          "converted_from": converted})
    session.commit()
    return dist


def distributions_of(session: Session, ds: Dataset) -> list[Distribution]:
    return list(session.exec(select(Distribution).where(Distribution.dataset_id == ds.id).order_by(Distribution.created_at)))


def dataset_dict(session: Session, ds: Dataset) -> dict[str, Any]:
    d = {k: getattr(ds, k) for k in _FIELDS}
    d.update(id=ds.id, org_id=ds.org_id, organisation=ds.organisation, grade=ds.grade, grade_reason=ds.grade_reason,
             state=ds.state, version=ds.version, prepared_by=ds.prepared_by, approved_by=ds.approved_by,
             distributions=[{"id": x.id, "sha256": x.sha256, "format": x.format, "bytes": x.byte_size, "filename": x.filename}
                            for x in distributions_of(session, ds)])
    return d
