"""Demo flow of data opening: a generated government table full of personal data is scanned, a policy
is suggested from the scan, the table is desensitized with the instance's keys, and the output is
re-scanned (the desensitizer refuses to publish a file that still holds direct identifiers)."""

from __future__ import annotations

from portal.demo import DemoContext

ORDER = 60


def run(ctx: DemoContext) -> dict:
    from opendata.desensitize import ResidualIdentifiers, desensitize
    from opendata.generate import write_csv
    from opendata.policy import suggest_policy
    from opendata.scan import scan_table
    from opendata.tabular import open_table
    from portal.cli.opendata import _instance_keys

    folder = ctx.instance / "demo-data"
    folder.mkdir(exist_ok=True)
    raw = folder / "citizens-raw.csv"
    write_csv(raw, rows=2000, seed=2026)
    report = scan_table(open_table(str(raw)), sample_rows=2000)
    found = {c.name: c.detections[0]["entity"] for c in report.direct_identifiers() if c.detections}
    policy = suggest_policy(report)
    refused = None
    try:
        result = desensitize(open_table(str(raw)), policy, folder / "citizens-open.csv", keys=_instance_keys())
    except ResidualIdentifiers as exc:
        # the gate: a column the suggestion keeps (legal persons' credit codes are public by law) still
        # holds identifiers, so the steward must say so explicitly before anything is published
        refused = [e["pointer"].rsplit("/", 1)[-1] for e in exc.errors]
        policy["keep_identifiers"] = refused
        result = desensitize(open_table(str(raw)), policy, folder / "citizens-open.csv", keys=_instance_keys())
    return {"rows": result.rows, "direct_identifier_columns": len(found),
            "first_attempt_refused_for": ",".join(refused or []) or "-",
            "operators": len(result.operators), "residual_identifiers": len(result.residual),
            "published": str(folder / "citizens-open.csv")}
