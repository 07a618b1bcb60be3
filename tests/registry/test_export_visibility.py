"""Issue 15, fix 2: a department's export never names projects the department may not see.

The ``likely_duplicates`` column comes from the submit-time matches, which name other organisations'
proposals; every export goes through :func:`registry.services.visible_matches`, the rule the detail JSON uses.
"""

from __future__ import annotations

import io
import json
import random

import pytest

from registry import export, generator
from registry import services as reg


@pytest.fixture
def duplicate_across_departments(world):
    s, p = world.session, world.p
    docs = generator.library(12, seed=5, orgs=[world.org_a.code])
    theirs = []
    for d in docs:
        pr = reg.project_create(s, p["sub_a"], d, org_id=world.org_a.id)
        reg.project_submit(s, p["sub_a"], pr.id)
        theirs.append(pr.id)
    dup, _ = generator.near_duplicate(docs[3], random.Random(1), edit_rate=0.15)
    dup["organisation"] = world.org_b.code
    mine = reg.project_create(s, p["sub_b"], dup, org_id=world.org_b.id)
    reg.project_submit(s, p["sub_b"], mine.id)
    assert any(m["likely_duplicate"] and m["id"] in theirs for m in mine.matches), "fixture needs a match"
    return mine, theirs


def _export(session, principal, fmt: str) -> bytes:
    items = reg.projects_for_export(session, principal)
    return b"".join(export.stream(items, fmt, matches_of=lambda pr: reg.visible_matches(principal, pr)))


def _text_of(fmt: str, raw: bytes) -> str:
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(str(c) for row in wb.active.iter_rows(values_only=True) for c in row if c is not None)
    return raw.decode("utf-8-sig")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_department_export_names_no_other_departments_project(world, duplicate_across_departments, fmt):
    mine, theirs = duplicate_across_departments
    text = _text_of(fmt, _export(world.session, world.p["sub_b"], fmt))
    assert mine.id in text
    leaked = [pid for pid in theirs if pid in text]
    assert leaked == []
    # the commission sees the matches in the same export
    admin_rows = [r for r in export.stream(reg.projects_for_export(world.session, world.p["admin"]), "json",
                                           matches_of=lambda pr: reg.visible_matches(world.p["admin"], pr))]
    rows = json.loads(b"".join(admin_rows))
    row = next(r for r in rows if r["id"] == mine.id)
    assert set(row["likely_duplicates"].split("; ")) & set(theirs)


def test_export_rule_is_the_detail_views_rule(world, duplicate_across_departments):
    mine, _ = duplicate_across_departments
    s = world.session
    for who in ("sub_b", "admin", "reviewer"):
        principal = world.p[who]
        detail = reg.project_json(s, principal, mine)["matches"]
        assert detail == reg.visible_matches(principal, mine)
        row = export.row_of(mine, lambda pr: reg.visible_matches(principal, pr))
        expected = "; ".join(m["id"] for m in (detail or []) if m.get("likely_duplicate"))
        assert row["likely_duplicates"] == expected
    assert export.row_of(mine)["likely_duplicates"] == ""  # the default shows none
