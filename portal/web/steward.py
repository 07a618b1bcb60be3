"""The data stewards' tools on an uploaded file: scan it (a background job) and see the detected columns
with examples masked and a suggested policy; preview a desensitization policy on sample rows before
running it; measure anonymity (k, l, risks) with the class-size distribution. Nothing is stored but the
scan job's result (masked)."""

from __future__ import annotations

import base64
import os
import tempfile
from contextlib import contextmanager
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

import opendata.sample_policies  # noqa: F401 - registers the opendata:sample:* policies
from kernel.errors import CityGovError, ValidationFailed
from kernel.permissions import authorize
from portal import jobs
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import bp, charts
from portal.web.nav import N_, add

add("web.steward", N_("Data tools"), "opendata:sample:scan", order=45)

MAX_FILE = 16 * 1024 * 1024
PREVIEW_ROWS = 20
MEASURE_ROWS = 200_000
SUFFIXES = (".csv", ".tsv", ".xlsx", ".json", ".ndjson", ".jsonl")


def masked(value: str) -> str:
    """An example as the page shows it: first and last character kept, the rest starred."""
    from opendata.operators import mask

    value = str(value)
    if len(value) <= 2:
        return "*" * len(value)
    return mask(value, keep_first=1, keep_last=1)


@contextmanager
def _as_file(data: bytes, filename: str):
    suffix = os.path.splitext(filename or "")[1].lower()
    if suffix not in SUFFIXES:
        raise ValidationFailed("unsupported file type", errors=[{"field": "file",
                                                                 "message": "CSV, TSV, XLSX, JSON or NDJSON"}])
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="citygov-steward-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        os.unlink(path)


def _upload(errors: dict[str, list[str]]) -> tuple[bytes, str] | None:
    f = request.files.get("file")
    if f is None or not f.filename:
        errors.setdefault("file", []).append(_("Choose a file."))
        return None
    data = f.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        errors.setdefault("file", []).append(_("The file is larger than 16 MiB."))
        return None
    return data, f.filename


def _run_scan(session, principal, job, report) -> dict[str, Any]:
    from opendata.policy import dump_policy, suggest_policy
    from opendata.scan import scan_table
    from opendata.tabular import open_table

    authorize(principal, "opendata:sample:scan")
    report(10, "reading the file")
    with _as_file(base64.b64decode(job.payload or ""), job.params.get("filename", "")) as path:
        table = open_table(path)
        report(30, f"{len(table.columns)} columns; scanning")
        rep = scan_table(table, sample_rows=job.params.get("sample_rows") or 5000)
        examples: dict[str, list[str]] = {c: [] for c in table.columns}
        for row in table.rows():
            for name, cell in zip(table.columns, row):
                if cell and len(examples[name]) < 3:
                    examples[name].append(masked(cell))
            if all(len(v) >= 3 for v in examples.values()):
                break
    report(90, "suggesting a policy")
    columns = [{**{k: v for k, v in c.as_dict().items() if k != "detections"}, "examples": examples.get(c.name, []),
                "detected": [{"entity": d.get("entity"), "confidence": round(float(d.get("confidence", 0)), 3),
                              "mode": d.get("mode")} for d in c.detections[:5]]} for c in rep.columns]
    return {"summary": f"{len(rep.direct_identifiers())} column(s) with direct identifiers",
            "links": [{"href": f"/steward/scans/{job.id}", "text": job.params.get("filename", "scan")}],
            "rows_scanned": rep.rows_scanned, "complete": rep.complete, "columns": columns,
            "policy": dump_policy(suggest_policy(rep), "yaml")}


jobs.register("opendata:scan", _run_scan, action="opendata:sample:scan")


@bp.route("/steward", methods=["GET", "POST"])
@login_required
def steward():
    session = get_session()
    principal = current_principal()
    authorize(principal, "opendata:sample:scan")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        up = _upload(errors)
        if up is not None:
            job = jobs.job_enqueue(session, principal, "opendata:scan", title=_("Scan %(name)s", name=up[1]),
                                   params={"filename": up[1]}, payload=base64.b64encode(up[0]).decode("ascii"))
            from flask import redirect

            return redirect(url_for("web.job_page", job_id=job.id))
    return render_template("web/steward.html", errors=errors), (422 if errors else 200)


@bp.get("/steward/scans/<job_id>")
@login_required
def steward_scan(job_id: str):
    job = jobs.job_get(get_session(), current_principal(), job_id)
    if job.kind != "opendata:scan":
        from kernel.errors import NotFound

        raise NotFound("not a scan")
    return render_template("web/steward_scan.html", job=job, result=job.result or {})


@bp.route("/steward/preview", methods=["GET", "POST"])
@login_required
def steward_preview():
    """Apply a policy to the first rows of a file and show before (masked) and after, nothing written."""
    from opendata.operators import Keys, OperatorError, build_operator
    from opendata.policy import check_policy_columns, parse_policy
    from opendata.tabular import open_table

    principal = current_principal()
    authorize(principal, "opendata:sample:desensitize")
    errors: dict[str, list[str]] = {}
    policy_text = request.form.get("policy", "")
    preview = None
    if request.method == "POST":
        up = _upload(errors)
        try:
            policy = parse_policy(policy_text)
        except ValidationFailed as exc:
            errors.setdefault("policy", []).extend([exc.detail] + [f"{e.get('pointer', '')} {e['message']}"
                                                                   for e in exc.errors[:20]])
            policy = None
        if up is not None and policy is not None:
            try:
                with _as_file(*up) as path:
                    table = open_table(path)
                    check_policy_columns(policy, table.columns)
                    keys = Keys(pseudonym=os.urandom(32), encryption={"default": os.urandom(32)})  # preview only
                    on_unlisted = policy.get("on_unlisted", "keep")
                    ops = []
                    for i, c in enumerate(table.columns):
                        spec = policy["columns"].get(c) or ({"type": "drop"} if on_unlisted == "drop" else {"type": "keep"})
                        try:
                            op = build_operator(spec, column=c, keys=keys)
                        except OperatorError as exc:
                            raise ValidationFailed(str(exc), errors=[{"field": c, "message": str(exc)}]) from None
                        ops.append((i, c, spec, op))
                    rows = []
                    for n, row in enumerate(table.rows()):
                        if n >= PREVIEW_ROWS:
                            break
                        before = [masked(row[i]) if i < len(row) and row[i] else "" for i, _c, _s, _o in ops]
                        after = [op(row[i] if i < len(row) else None) if op else None for i, _c, _s, op in ops]
                        rows.append({"before": before, "after": after})
                    preview = {"columns": [(c, spec.get("type")) for _i, c, spec, _o in ops], "rows": rows}
            except CityGovError as exc:
                if exc.status in (401, 403):
                    raise
                errors.setdefault("policy", []).extend([exc.detail] + [e.get("message", "") for e in exc.errors[:20]])
    return render_template("web/steward_preview.html", errors=errors, policy_text=policy_text, preview=preview), \
        (422 if errors else 200)


@bp.route("/steward/anonymity", methods=["GET", "POST"])
@login_required
def steward_anonymity():
    from opendata.anonymity import measure
    from opendata.tabular import open_table

    principal = current_principal()
    authorize(principal, "opendata:sample:measure")
    errors: dict[str, list[str]] = {}
    form = {k: request.form.get(k, "").strip() for k in ("qi", "sensitive", "k")}
    result = chart = None
    if request.method == "POST":
        up = _upload(errors)
        qi = [q.strip() for q in form["qi"].replace("，", ",").split(",") if q.strip()]
        if not qi:
            errors.setdefault("qi", []).append(_("Name at least one quasi-identifier column."))
        try:
            k = int(form["k"] or "5")
            if k < 2:
                raise ValueError
        except ValueError:
            errors.setdefault("k", []).append(_("A whole number of at least 2."))
            k = 5
        if up is not None and not errors:
            try:
                with _as_file(*up) as path:
                    table = open_table(path)
                    rows = []
                    for n, row in enumerate(table.rows()):
                        if n >= MEASURE_ROWS:
                            break
                        rows.append(["" if c is None else c for c in row])
                    rep = measure(rows, table.columns, qi, form["sensitive"] or None, k_threshold=k)
                result = rep.as_dict()
                result["truncated"] = len(rows) >= MEASURE_ROWS
                chart = charts.bar_chart([(str(size), int(n)) for size, n in rep.class_sizes.items()],
                                         title=_("Equivalence classes by size"))
            except CityGovError as exc:
                if exc.status in (401, 403):
                    raise
                field = "qi" if any("qi" in str(e.get("field", "")) or "column" in e.get("message", "")
                                    for e in exc.errors) else "file"
                errors.setdefault(field, []).extend([exc.detail] + [e.get("message", "") for e in exc.errors[:10]])
    return render_template("web/steward_anonymity.html", errors=errors, form=form, result=result, chart=chart), \
        (422 if errors else 200)
