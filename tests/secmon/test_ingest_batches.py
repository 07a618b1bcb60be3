"""EVE ingestion in many batches: line batches, background commits, idempotency and errors across batches."""

import io
import random

import pytest
from sqlalchemy import text

from secmon import eve, services
from tests.secmon.test_ingest import ANALYST, count, lines


def _raw(data: bytes, **kw):
    return [(r.line_no, r.offset, r.length, r.error, r.data) for r in eve.iter_raw_lines(io.BytesIO(data), **kw)]


def test_line_batches_match_single_lines():
    rnd = random.Random(7)
    pieces = [b"\n", b"{}", b"x" * 30, b"\r\n", b'{"event_type":"dns"}\n', b""]
    for _ in range(300):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 15)))
        for max_line in (None, 8, 25):
            for chunk_size in (1, 5, 64, 1 << 20):
                items = list(eve.iter_line_batches(io.BytesIO(data), max_line=max_line, chunk_size=chunk_size))
                # rebuild the single lines from the batches, tracking numbers and offsets as a consumer does
                rebuilt, line_no, offset = [], 0, 0
                for item in items:
                    if isinstance(item, list):
                        nl = 0 if isinstance(item, eve.Unterminated) else 1
                        for part in item:
                            line_no += 1
                            rebuilt.append((line_no, offset, len(part) + nl, None, part + b"\n" * nl))
                            offset += len(part) + nl
                    else:
                        rebuilt.append((item.line_no, item.offset, item.length, item.error, item.data))
                        line_no, offset = item.line_no, item.offset + item.length
                assert rebuilt == _raw(data, max_line=max_line, chunk_size=chunk_size)
                assert offset == len(data)


def test_many_batches_with_background_commits(db_session, tmp_path):
    p = tmp_path / "eve.json"
    body = lines(40) + b"not json\n" + lines(30, 40, "alert") + lines(1)  # the last line repeats the first
    p.write_bytes(body + b'{"event_type":"dns","timestamp":"2023-08-18T05:38:00+00:00"}')  # no final newline
    rep = services.eve_ingest(db_session, ANALYST, [p], sensor="b1", batch_size=7)
    assert (rep.events, rep.quarantined) == (72, 1)
    assert rep.by_event_type == {"dns": 42, "alert": 30}
    assert count(db_session, "secmon_event") == 72 and count(db_session, "secmon_event", "event_type = 'alert'") == 30
    assert db_session.execute(text("SELECT high_water, events, quarantined FROM secmon_source")).one() == (
        p.stat().st_size, 72, 1)
    offsets = [r[0] for r in db_session.execute(text("SELECT line_offset FROM secmon_event ORDER BY 1"))]
    ends = [0] + [i + 1 for i, b in enumerate(p.read_bytes()) if b == ord("\n")]
    q = db_session.execute(text("SELECT line_offset, line_no FROM secmon_quarantine")).one()
    assert sorted(offsets + [q[0]]) == ends and q[1] == 41
    last = db_session.execute(text("SELECT raw, ts FROM secmon_event WHERE line_no = 73")).one()
    assert last[0].endswith('+00:00"}') and str(last[1]).startswith("2023-08-18 05:38:00")
    again = services.eve_ingest(db_session, ANALYST, [p], sensor="b1", batch_size=5)
    assert (again.events, again.quarantined, again.duplicates_skipped) == (0, 0, 73)
    # the file grows: only the new lines, whichever batch size
    with open(p, "ab") as fh:
        fh.write(b"\n" + lines(9, 100))
    grown = services.eve_ingest(db_session, ANALYST, [p], sensor="b1", batch_size=4)
    assert (grown.events, grown.duplicates_skipped) == (9, 73)  # the 73 lines seen (one quarantined)


def test_background_commit_error_is_raised_and_nothing_half_done(db_session, tmp_path, monkeypatch):
    p = tmp_path / "eve.json"
    p.write_bytes(lines(50))
    real_commit = type(db_session).commit
    calls = []

    def failing_commit(self):
        calls.append(1)
        if len(calls) == 4:  # a batch commit in the helper thread
            raise RuntimeError("disk on fire")
        return real_commit(self)

    monkeypatch.setattr(type(db_session), "commit", failing_commit)
    with pytest.raises(RuntimeError, match="disk on fire"):
        services.eve_ingest(db_session, ANALYST, [p], sensor="b2", batch_size=10)
    monkeypatch.setattr(type(db_session), "commit", real_commit)
    db_session.rollback()
    # what was committed is consistent: the high-water mark covers exactly the stored events
    n = count(db_session, "secmon_event")
    hw = db_session.execute(text("SELECT high_water FROM secmon_source")).scalar_one()
    assert n in (10, 20) and hw == len(b"".join(lines(50).splitlines(keepends=True)[:n]))
    # and a retry completes the file without duplicates
    rep = services.eve_ingest(db_session, ANALYST, [p], sensor="b2", batch_size=10)
    assert rep.events == 50 - n and rep.duplicates_skipped == n
    assert count(db_session, "secmon_event") == 50


def test_absent_fields_are_sql_null(db_session, tmp_path):
    p = tmp_path / "eve.json"
    p.write_bytes(lines(3))
    services.eve_ingest(db_session, ANALYST, [p], sensor="n1")
    # no app_proto / flow_id / rcode in these events: stored as NULL (not text, not 0), however they are bound
    assert count(db_session, "secmon_event", "app_proto IS NULL AND flow_id IS NULL AND dns_rcode IS NULL "
                 "AND schema_error IS NULL") == 3
    if db_session.get_bind().dialect.name == "sqlite":
        import sqlite3

        assert sqlite3.connect(":memory:").execute("SELECT typeof(?)", (None,)).fetchone() == ("null",)
