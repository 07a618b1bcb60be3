"""Rule-set builds as background jobs (``secmon:ruleset:build``): the rule files and policy files a page or an
API call uploads are written to a private temporary folder and built as suricata-update does into a stored,
audited rule-set version (``secmon.services.ruleset_import``, which checks ``secmon:ruleset:import`` again as
the user who queued the job). The job's result names the version and links the difference to the previous
version of the same name.

Input (``spec``, kept as the job's payload): ``{"name": str, "sensor": str | None, "files": {filename: text},
"policy": {"enable.conf" | "disable.conf" | "drop.conf" | "modify.conf": text}}``.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from kernel.errors import ValidationFailed
from portal import jobs

KIND = "secmon:ruleset:build"
POLICY_FILES = ("enable.conf", "disable.conf", "drop.conf", "modify.conf")
RULE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.(rules|config)$")
MAX_FILES = 500


def check_spec(spec: Any) -> dict[str, Any]:
    """The upload, checked before anything is queued: file names (no paths), texts, policy file names."""
    errors = []
    if not isinstance(spec, dict):
        raise ValidationFailed("a rule-set build is an object with name, files and policy")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors.append({"field": "name", "message": "a name of 1 to 200 characters"})
    files = spec.get("files")
    if not isinstance(files, dict) or not files:
        errors.append({"field": "files", "message": "at least one .rules file"})
        files = {}
    elif len(files) > MAX_FILES:
        errors.append({"field": "files", "message": f"at most {MAX_FILES} files"})
    for fname, text in files.items():
        if not isinstance(fname, str) or not RULE_FILE.match(fname):
            errors.append({"field": f"files/{fname}", "message": "a file name ending in .rules or .config, no path"})
        elif not isinstance(text, str):
            errors.append({"field": f"files/{fname}", "message": "the file's text"})
    if files and not any(str(f).endswith(".rules") for f in files):
        errors.append({"field": "files", "message": "at least one .rules file"})
    policy = spec.get("policy") or {}
    if not isinstance(policy, dict):
        errors.append({"field": "policy", "message": "an object of policy files"})
        policy = {}
    for fname, text in policy.items():
        if fname not in POLICY_FILES or not isinstance(text, str):
            errors.append({"field": f"policy/{fname}", "message": f"one of {', '.join(POLICY_FILES)} with its text"})
    sensor = spec.get("sensor")
    if sensor is not None and (not isinstance(sensor, str) or not sensor.strip()):
        errors.append({"field": "sensor", "message": "a sensor name"})
    if errors:
        raise ValidationFailed("the rule-set build cannot be queued", errors=errors)
    return {"name": name.strip(), "sensor": sensor or None, "files": dict(files),
            "policy": {k: v for k, v in policy.items() if v.strip()}}


def enqueue(session, principal, spec: Any):
    spec = check_spec(spec)
    payload = json.dumps(spec, ensure_ascii=False)
    return jobs.job_enqueue(session, principal, KIND, title=f"{spec['name']} ({len(spec['files'])} files)",
                            params={"name": spec["name"], "sensor": spec["sensor"]}, payload=payload)


def run(session, principal, job, report) -> dict[str, Any]:
    from secmon import services

    spec = check_spec(json.loads(job.payload or "{}"))
    previous = next((v["id"] for v in services.ruleset_versions(session, principal) if v["name"] == spec["name"]), None)
    session.rollback()  # end the reading transaction: the import opens its own
    report(5, f"writing {len(spec['files'])} uploaded files")
    with tempfile.TemporaryDirectory(prefix="citygov-rules-") as tmp:
        rules_dir = Path(tmp) / "rules"
        rules_dir.mkdir()
        for fname, text in spec["files"].items():
            (rules_dir / fname).write_text(text, encoding="utf-8")
        policy_dir = None
        if spec["policy"]:
            policy_dir = Path(tmp) / "policy"
            policy_dir.mkdir()
            for fname, text in spec["policy"].items():
                (policy_dir / fname).write_text(text, encoding="utf-8")
        report(20, "building the effective rule set")
        res = services.ruleset_import(session, principal, [rules_dir], name=spec["name"], policy_dir=policy_dir,
                                      sensor=spec["sensor"])
    stats = res["stats"]
    build = stats.get("build") or {}
    report(100, "built")
    links = [{"href": "/monitoring/rulesets", "text": "rule-set versions"}]
    if previous and previous != res["version_id"]:
        links.insert(0, {"href": f"/monitoring/rulesets?old={previous}&new={res['version_id']}",
                         "text": "difference to the previous version"})
    return {"summary": (f"{'unchanged: ' if res['unchanged'] else ''}version {res['version_id']} of {res['name']}: "
                        f"{stats.get('rules')} rules in the files ({stats.get('enabled')} enabled there), "
                        f"{len(res['errors'])} errors; built: "
                        + ", ".join(f"{k} {v}" for k, v in build.items())),
            "version_id": res["version_id"], "unchanged": res["unchanged"], "content_hash": res["content_hash"],
            "errors": res["errors"][:200], "links": links}


jobs.register(KIND, run, action="secmon:ruleset:import")
