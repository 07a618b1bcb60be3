"""EVE ingestion: counts, quarantine, idempotency, rotation, bad input, schema flags, monitoring views."""

import gzip
import io
import shutil

import pytest
from sqlalchemy import text

from kernel import NotAuthorized, NotFound, Principal, ValidationFailed
from secmon import eve, services

ANALYST = Principal(kind="user", id="analyst-1", name="analyst", roles=frozenset({"security_analyst"}))
NOBODY = Principal(kind="user", id="vendor-1", name="vendor", roles=frozenset({"vendor"}))


def count(session, table, where="1=1", **params):
    return session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one()


def lines(n, start=0, event_type="dns"):
    return b"".join(
        b'{"timestamp":"2023-08-18T05:38:%02d.000001+0000","event_type":"%s","src_ip":"10.0.0.%d","dest_ip":"8.8.8.8",'
        b'"src_port":1000,"dest_port":53,"proto":"UDP","dns":{"type":"query","rrname":"x%d.example","rrtype":"A"}}\n'
        % (i % 60, event_type.encode(), i % 250, i) for i in range(start, start + n))


def test_broken_sample_quarantine_and_reingest(db_session, suricata_data):
    path = suricata_data / "eve" / "surevego-2017-broken.eve.json"
    rep = services.eve_ingest(db_session, ANALYST, [path], sensor="edge-1")
    assert rep.events + rep.quarantined == 273
    assert rep.quarantined == 10 and rep.events == 263
    q = services.quarantine_list(db_session, ANALYST)
    assert len(q) == 10 and all(x["source"].endswith("surevego-2017-broken.eve.json") and x["line"] > 0 for x in q)
    assert sum(1 for x in q if x["reason"] == "blank line") == 4
    # line 2 decodes but its timestamp is garbage: stored and flagged, not dropped
    bad = db_session.execute(text("SELECT schema_status, schema_error, ts FROM secmon_event WHERE line_no = 2")).one()
    assert bad[0] == "invalid" and "timestamp" in bad[1] and bad[2] is None
    again = services.eve_ingest(db_session, ANALYST, [path], sensor="edge-1")
    assert (again.events, again.quarantined, again.duplicates_skipped) == (0, 0, 273)
    assert count(db_session, "secmon_event") == 263


def test_rotation_growth_and_identical_events(db_session, tmp_path):
    d = tmp_path / "log"
    d.mkdir()
    same = lines(1) * 3  # byte-identical events at different offsets are distinct real events
    (d / "eve.json").write_bytes(same + lines(5, 1))
    r1 = services.eve_ingest(db_session, ANALYST, [d], sensor="s1")
    assert r1.events == 8
    # the live file grows, then rotates into eve.json.1.gz and a new eve.json starts
    with open(d / "eve.json", "ab") as fh:
        fh.write(lines(4, 10))
    r2 = services.eve_ingest(db_session, ANALYST, [d / "eve.json"], sensor="s1")
    assert (r2.events, r2.duplicates_skipped) == (4, 8)
    with gzip.open(d / "eve.json.1.gz", "wb") as fh:
        fh.write((d / "eve.json").read_bytes() + lines(2, 20))
    (d / "eve.json").write_bytes(lines(3, 30, "alert"))
    r3 = services.eve_ingest(db_session, ANALYST, [d], sensor="s1")
    assert (r3.events, r3.duplicates_skipped) == (5, 12)
    assert count(db_session, "secmon_event") == 17
    # a different sensor is a different identity space
    r4 = services.eve_ingest(db_session, ANALYST, [d / "eve.json"], sensor="s2")
    assert r4.events == 3


def test_bad_input_is_counted_not_fatal(db_session, tmp_path, monkeypatch):
    monkeypatch.setattr(eve, "MAX_LINE", 1000)
    p = tmp_path / "bad.json"
    p.write_bytes(lines(2) + b"\x00\xff\xfe garbage\n" + b'{"event_type":"dns","x":"\xff\xfe"}\n'
                  + b'{"event_type":"dns","timestamp":"2023-01-01T00:00:00+0000","pad":"' + b"a" * 5000 + b'"}\n'
                  + b"[1,2]\n" + b'{"no":"type"}\n' + lines(1, 5) + b'{"event_type":"dns","timestamp":"2023-')
    rep = services.eve_ingest(db_session, ANALYST, [p], sensor="s1")
    reasons = [q["reason"] for q in services.quarantine_list(db_session, ANALYST)]
    assert rep.events == 3 and rep.quarantined == 6, reasons
    assert any("UTF-8" in r for r in reasons) and any("longer than" in r for r in reasons)
    assert any("not a JSON object" in r for r in reasons) and any("no event_type" in r for r in reasons)
    # truncated gzip: the events before the damage are kept, the damage is quarantined
    good = gzip.compress(lines(50, 100))
    t = tmp_path / "trunc.json.gz"
    t.write_bytes(good[: len(good) // 2])
    rep2 = services.eve_ingest(db_session, ANALYST, [t], sensor="s1")
    assert rep2.quarantined == 2 and 0 < rep2.events < 50  # the cut-off last line + the stream error
    assert any("truncated" in q["reason"] for q in services.quarantine_list(db_session, ANALYST))


def test_stream_and_sensor_token(db_session):
    from kernel import system_principal

    reg = services.sensor_register(db_session, system_principal("t"), "edge-9")
    other = services.sensor_register(db_session, system_principal("t"), "edge-8")
    p = services.sensor_principal(db_session, "edge-9", reg["token"])
    rep = services.eve_ingest_stream(db_session, p, io.BytesIO(lines(7)), sensor="edge-9", name="http-push")
    assert rep.events == 7
    from kernel import NotAuthenticated

    with pytest.raises(NotAuthenticated):
        services.sensor_principal(db_session, "edge-9", other["token"])
    with pytest.raises(NotAuthenticated):
        services.eve_ingest_stream(db_session, p, io.BytesIO(lines(1)), sensor="edge-8", name="x")


def test_authorization(db_session, tmp_path):
    (tmp_path / "e.json").write_bytes(lines(1))
    with pytest.raises(NotAuthorized):
        services.eve_ingest(db_session, NOBODY, [tmp_path / "e.json"], sensor="s1")
    with pytest.raises(NotAuthorized):
        services.top_alerts(db_session, NOBODY)


def test_schema_version_flagging(db_session, suricata_data, tmp_path):
    src = suricata_data / "eve" / "oisf-pr13999-suricata8-http-tls.eve.json"
    head = b"".join(src.open("rb").readlines()[:200])
    (tmp_path / "s8.json").write_bytes(head)
    schema_dir = str(suricata_data / "eve-schema")
    rep = services.eve_ingest(db_session, ANALYST, [tmp_path / "s8.json"], sensor="s8", schema_dir=schema_dir)
    assert rep.sources[0]["engine_version"] == "8" and rep.schema_invalid == 0 and rep.events == 200
    # forced to the 7.0.x schema, Suricata 8 output fails on every line: stored and flagged, never dropped
    rep7 = services.eve_ingest(db_session, ANALYST, [tmp_path / "s8.json"], sensor="s7", schema_dir=schema_dir,
                               engine_version="7")
    assert rep7.events == 200 and rep7.schema_invalid == 200
    z = suricata_data / "eve" / "zeus-analysis-suricata7.0.7.eve.json"
    (tmp_path / "z.json").write_bytes(b"".join(z.open("rb").readlines()[:300]))
    repz = services.eve_ingest(db_session, ANALYST, [tmp_path / "z.json"], sensor="z", schema_dir=schema_dir)
    assert repz.sources[0]["engine_version"] == "7" and repz.schema_invalid == 0


def test_monitoring_views(db_session, suricata_data, tmp_path):
    services.eve_ingest(db_session, ANALYST, [suricata_data / "eve" / "kvnlxu-2025-et-metadata-alerts.eve.json"],
                        sensor="lab", validate=False)
    services.eve_ingest(db_session, ANALYST, [suricata_data / "eve" / "d3vzer0-2017-fileinfo-stats.eve.json"],
                        sensor="dc", validate=False)
    n_alerts = count(db_session, "secmon_alert")
    assert n_alerts > 0
    over = services.alerts_over_time(db_session, ANALYST, bucket="day")
    assert sum(x["count"] for x in over) == count(db_session, "secmon_alert", "ts IS NOT NULL")
    top = services.top_alerts(db_session, ANALYST, by="signature", limit=5)
    assert top and top[0]["count"] >= top[-1]["count"]
    assert services.top_alerts(db_session, ANALYST, by="sensor")[0]["value"] in ("lab", "dc")
    # import one rule so that exactly one sid is known
    sid, gid = db_session.execute(text("SELECT sid, gid FROM secmon_alert WHERE sid IS NOT NULL LIMIT 1")).one()
    (tmp_path / "one.rules").write_text(f'alert ip any any -> any any (msg:"known"; gid:{gid}; sid:{sid}; rev:1;)\n')
    v = services.ruleset_import(db_session, ANALYST, [tmp_path / "one.rules"], name="one", sensor="lab")
    unknown = services.alerts_unknown_sid(db_session, ANALYST, limit=10000)  # the version built for "lab"
    assert sid not in {u["sid"] for u in unknown} and unknown
    cov = services.rule_coverage(db_session, ANALYST, version_id=v["version_id"])
    assert cov["enabled_rules"] == 1 and cov["fired_enabled_rules"] == 1
    # a later import for another sensor does not change what "lab" runs
    (tmp_path / "two.rules").write_text('alert ip any any -> any any (msg:"other"; sid:9999999; rev:1;)\n')
    v2 = services.ruleset_import(db_session, ANALYST, [tmp_path / "two.rules"], name="two", sensor="dc")
    assert services.rule_coverage(db_session, ANALYST, sensor="lab")["version_id"] == v["version_id"]
    assert services.rule_coverage(db_session, ANALYST, sensor="dc")["version_id"] == v2["version_id"]
    with pytest.raises(ValidationFailed):  # sensors differ: the caller must say which version
        services.rule_coverage(db_session, ANALYST)
    with pytest.raises(NotFound):
        services.alerts_unknown_sid(db_session, ANALYST, version_id="nope")
    health = {h["sensor"]: h for h in services.sensor_health(db_session, ANALYST)}
    assert health["dc"]["stats_events"] == 90 and health["dc"]["kernel_packets"] is not None


def test_ruleset_import_is_versioned_and_audited(db_session, suricata_data):
    before = count(db_session, "audit_event")
    r = services.ruleset_import(db_session, ANALYST, [suricata_data / "rules" / "oisf"], name="oisf")
    assert r["stats"]["rules"] == 494 and not r["unchanged"]
    assert count(db_session, "secmon_rule", "version_id = :v", v=r["version_id"]) == 494
    assert count(db_session, "audit_event") == before + 1
    again = services.ruleset_import(db_session, ANALYST, [suricata_data / "rules" / "oisf"], name="oisf")
    assert again["unchanged"] and again["version_id"] == r["version_id"]
    with pytest.raises(NotAuthorized):
        services.ruleset_import(db_session, NOBODY, [suricata_data / "rules" / "oisf"])


def test_ruleset_version_covers_config_and_policy_files(db_session, suricata_data, tmp_path):
    """Issue 11 fix 2: threshold.config, classification.config and policy files change the version."""
    d = tmp_path / "rs"
    shutil.copytree(suricata_data / "rules" / "oisf", d)
    pol = tmp_path / "policy"
    pol.mkdir()
    first = services.ruleset_import(db_session, ANALYST, [d], name="rs")
    assert services.ruleset_import(db_session, ANALYST, [d], name="rs")["unchanged"]
    seen = {first["content_hash"]}
    steps = [
        lambda: (d / "threshold.config").write_text("suppress gen_id 1, sig_id 2200000, track by_src, ip 0.0.0.0/0\n"),
        lambda: (d / "classification.config").write_text(
            (d / "classification.config").read_text() + "config classification: x-new,Something new,1\n"),
        lambda: (pol / "disable.conf").write_text("2200000\n"),
        lambda: (pol / "modify.conf").write_text('2200001 "alert" "drop"\n'),
    ]
    for step in steps:
        step()
        before = count(db_session, "audit_event")
        r = services.ruleset_import(db_session, ANALYST, [d], name="rs", policy_dir=pol)
        assert not r["unchanged"] and r["content_hash"] not in seen, step
        assert count(db_session, "audit_event") == before + 1
        seen.add(r["content_hash"])
        again = services.ruleset_import(db_session, ANALYST, [d], name="rs", policy_dir=pol)
        assert again["unchanged"] and again["version_id"] == r["version_id"]


@pytest.mark.slow
def test_tpot_slice(db_session, suricata_data, tmp_path):
    d = suricata_data / "eve" / "tpot-honeypot-2023"
    for name in ("eve.json.1.gz", "eve.json.7.gz", "eve.json"):
        shutil.copy(d / name, tmp_path / name)
    rep = services.eve_ingest(db_session, ANALYST, [tmp_path], sensor="tpot")
    assert rep.quarantined == 0 and rep.events == count(db_session, "secmon_event")
    assert rep.by_event_type["alert"] == count(db_session, "secmon_alert")
    assert services.eve_ingest(db_session, ANALYST, [tmp_path], sensor="tpot").events == 0


def test_nul_in_strings_is_stored_escaped(db_session, tmp_path):
    p = tmp_path / "nul.json"
    p.write_bytes(b'{"timestamp":"2023-08-18T05:38:42.437967+0000","event_type":"http","src_ip":"1.2.3.4\\u0000",'
                  b'"http":{"hostname":"a\\u0000b","http_method":"\\u0001\\u0000"}}\n')
    rep = services.eve_ingest(db_session, ANALYST, [p], sensor="s1")
    assert rep.events == 1
    assert db_session.execute(text("SELECT hostname FROM secmon_http")).scalar_one() == "a\\x00b"


def test_stdin_stream_commits_each_chunk_before_blocking(db_session, monkeypatch):
    import sys

    seen = []

    class Pipe:
        def __init__(self):
            self.chunks = [lines(3), lines(2, 3)[:50], lines(2, 3)[50:]]

        def read1(self, n):
            seen.append(count(db_session, "secmon_event"))  # what is committed when the reader would block
            return self.chunks.pop(0) if self.chunks else b""

    monkeypatch.setattr(sys, "stdin", type("S", (), {"buffer": Pipe()})())
    rep = services.eve_ingest(db_session, ANALYST, ["-"], sensor="pipe")
    assert rep.events == 5
    assert seen == [0, 3, 3, 5]


def test_retention(db_session, tmp_path):
    from datetime import timedelta

    from kernel import system_principal, utcnow

    old = (utcnow() - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%S.000001+0000")
    new = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000001+0000")
    p = tmp_path / "r.json"
    p.write_bytes(
        b"".join(b'{"timestamp":"%s","event_type":"alert","alert":{"signature_id":%d,"gid":1}}\n' % (t.encode(), i)
                 for i, t in enumerate([old, old, new]))
        + b'{"timestamp":"garbage","event_type":"dns"}\n')
    rep = services.eve_ingest(db_session, ANALYST, [p], sensor="r")
    assert rep.events == 4
    with pytest.raises(NotAuthorized):
        services.events_purge(db_session, ANALYST, older_than_days=180)
    res = services.events_purge(db_session, system_principal("retention"), older_than_days=180)
    assert res["events_deleted"] == 2
    assert count(db_session, "secmon_event") == 2 and count(db_session, "secmon_alert") == 1
    if db_session.get_bind().dialect.name == "postgresql":
        assert len(res["partitions_dropped"]) == 1
        assert len(services.event_partitions(db_session)) == 2  # yesterday and today (the unparsable time)


@pytest.mark.slow
def test_et_open_import_keeps_every_rule(db_session, suricata_data):
    r = services.ruleset_import(db_session, ANALYST, [suricata_data / "rules" / "et-open-2024-04-21",
                                                      suricata_data / "rules" / "oisf"], name="et+oisf")
    v = r["version_id"]
    assert count(db_session, "secmon_rule", "version_id = :v", v=v) == 34850 + 494  # deleted.rules included
    assert count(db_session, "secmon_rule", "version_id = :v AND effective = :t", v=v, t=True) == 25400
    assert r["stats"]["ignored_by_default"] == ["emerging-deleted.rules"]
