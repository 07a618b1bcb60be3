"""Human labels for the codes pages show (area, construction mode, deployment, lifecycle state …).

The proposal codes are labelled by the *published* proposal schema (``registry.proposal`` in the standards
registry): each ``oneOf`` branch carries ``const`` and a bilingual ``title`` such as
``"宽带网络 broadband network"``. The Chinese part is what the zh-CN pages show, the English part what the
English pages show. Lifecycle states and verdicts are the platform's own words, translated by gettext.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from portal.web.nav import N_

SCHEMA_FIELDS = ("area", "construction_mode", "deployment")
_SPLIT = re.compile(r"[A-Za-z]")

#: the lifecycle states and other platform codes, as English msgids
STATE_LABELS = {
    "draft": N_("draft"), "submitted": N_("submitted"), "prechecked": N_("pre-checked"),
    "under_expert_review": N_("under expert review"), "approved": N_("approved"),
    "returned_for_revision": N_("returned for revision"), "rejected": N_("rejected"),
    "in_construction": N_("in construction"), "completed": N_("completed"), "evaluated": N_("evaluated"),
}
OTHER_LABELS = {
    "duplicate": N_("duplicate"), "related": N_("related"), "distinct": N_("distinct"),
    "valid": N_("valid"), "revoked": N_("revoked"), "expired": N_("expired"), "superseded": N_("superseded"),
    "published": N_("published"), "deprecated": N_("deprecated"), "retired": N_("retired"),
    "open": N_("open"), "closed": N_("closed"), "queued": N_("queued"), "running": N_("running"),
    "succeeded": N_("succeeded"), "failed": N_("failed"),
}


def split_title(title: str) -> tuple[str, str]:
    """``"宽带网络 broadband network"`` → ``("宽带网络", "broadband network")``."""
    m = _SPLIT.search(title)
    if m is None:
        return title.strip(), title.strip()
    zh, en = title[: m.start()].strip(), title[m.start():].strip()
    return (zh or en), (en or zh)


@lru_cache(maxsize=8)
def _labels_of(schema_text_digest: str, schema_text: str) -> dict[str, dict[str, tuple[str, str]]]:
    doc = json.loads(schema_text)
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name in SCHEMA_FIELDS:
        prop = (doc.get("properties") or {}).get(name) or {}
        out[name] = {b["const"]: split_title(str(b.get("title") or b["const"]))
                     for b in prop.get("oneOf") or [] if isinstance(b, dict) and "const" in b}
    return out


def schema_labels(session) -> dict[str, dict[str, tuple[str, str]]]:
    """Labels from the latest published ``registry.proposal`` version (the packaged schema until the
    standards registry has one: a page view never publishes)."""
    from kernel.errors import NotFound
    from kernel.principal import ANONYMOUS
    from registry import proposal
    from standards import services as standards

    try:
        v = standards.version_get(session, ANONYMOUS, proposal.STANDARD_NAME)
        return _labels_of(v.sha256, v.content)
    except NotFound:
        text = proposal.packaged_schema_text()
        return _labels_of("packaged", text)


def _english() -> bool:
    loc = get_locale()
    return loc is not None and loc.language == "en"


def code_label(session, field: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    value = str(value)
    if field in SCHEMA_FIELDS:
        pair = schema_labels(session).get(field, {}).get(value)
        if pair is None:
            return value
        return pair[1] if _english() else pair[0]
    msgid = STATE_LABELS.get(value) if field == "state" else OTHER_LABELS.get(value, STATE_LABELS.get(value))
    return _(msgid) if msgid else value


def choices(session, field: str) -> list[tuple[str, str]]:
    """``(code, label)`` pairs for a filter or form ``<select>``, in the schema's order."""
    if field in SCHEMA_FIELDS:
        return [(code, code_label(session, field, code)) for code in schema_labels(session).get(field, {})]
    if field == "state":
        return [(code, _(msgid)) for code, msgid in STATE_LABELS.items()]
    raise KeyError(field)
