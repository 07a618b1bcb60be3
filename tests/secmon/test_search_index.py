"""Event search by CIDR (PostgreSQL: inet containment on GiST indexes; SQLite: address lists) and by source port,
checked against an independent scan of every stored event; junk addresses in EVE are stored and never break the
insert (PostgreSQL's index expression maps them to NULL)."""

import ipaddress
import json

import pytest
from sqlalchemy import select, text

from secmon import search, services
from secmon.models import SecmonEvent
from tests.factories import make_user, principal_of
from tests.secmon.test_strike_campaigns import SYS, planted_file

JUNK = ("not-an-ip", "1.2.3", "999.1.1.1", "fe80::1%eth0", "::ffff:zz", "2001:db8:99::5", "::ffff:198.51.100.7",
        "10.77.1.10/24", "")


def _junk_lines():
    out = []
    for k, ip in enumerate(JUNK):
        out.append(json.dumps({"timestamp": f"2023-08-20T11:00:{k:02d}.000000+0000", "event_type": "flow",
                               "src_ip": ip, "src_port": 40000 + k, "dest_ip": "10.77.1.10", "dest_port": 22,
                               "proto": "TCP", "flow_id": 900000 + k}))
    return out


@pytest.fixture
def stored(db_session, suricata_data, tmp_path):
    lines, _ = planted_file(suricata_data, tmp_path)
    p = tmp_path / "eve.json"
    p.write_text("\n".join(lines + _junk_lines()) + "\n")
    rep = services.eve_ingest(db_session, SYS, [p], sensor="tpot")
    assert rep.events == len(lines) + len(JUNK)  # every line stored, junk addresses included
    return principal_of(db_session, make_user(db_session, "security_analyst"))


def _all(session, analyst, **kw):
    keys, offset = set(), 0
    while True:
        r = search.event_search(session, analyst, limit=500, offset=offset, **kw)
        keys.update(h["event"] for h in r["items"])
        if not r["has_more"]:
            return keys
        offset += 500


def _scan(session, pred):
    rows = session.execute(select(SecmonEvent.source_id, SecmonEvent.line_offset, SecmonEvent.src_ip,
                                  SecmonEvent.dest_ip, SecmonEvent.src_port)).all()
    return {f"{s}:{o}" for s, o, src, dst, sp in rows if pred(src, dst, sp)}


def _in(net):
    def inside(ip):
        try:
            a = ipaddress.ip_address(ip)
        except (ValueError, TypeError):
            return False
        if a.version == 6 and a.ipv4_mapped is not None and net.version == 4:
            return False  # stored as written: an IPv4-mapped IPv6 address is not inside an IPv4 network
        return a.version == net.version and a in net
    return inside


def test_cidr_search_equals_a_scan_of_every_event(db_session, stored):
    nets = ["198.51.100.0/24", "198.51.0.0/16", "10.77.0.0/16", "10.77.1.10/32", "2001:db8::/32", "0.0.0.0/0",
            "203.0.113.0/24"]
    # the T-Pot's own addresses: a /24 and a /16 around a real source
    real = db_session.execute(text("SELECT src_ip FROM secmon_event WHERE src_ip LIKE '%.%.%.%' "
                                   "AND src_ip NOT LIKE '10.77.%' ORDER BY src_ip LIMIT 1")).scalar()
    nets += [str(ipaddress.ip_network(f"{real}/24", strict=False)), str(ipaddress.ip_network(f"{real}/12",
                                                                                              strict=False))]
    for cidr in nets:
        inside = _in(ipaddress.ip_network(cidr))
        expect = _scan(db_session, lambda s, d, _p, _in=inside: _in(s) or _in(d))
        assert _all(db_session, stored, ip=cidr) == expect, cidr
        assert expect or cidr == "203.0.113.0/24"


def test_src_port_search_and_junk_addresses(db_session, stored):
    for port in (40000, 40003, 22):
        assert _all(db_session, stored, src_port=port) == _scan(db_session, lambda s, d, p, _q=port: p == _q)
    assert len(_all(db_session, stored, src_port=40000)) == 1
    # junk addresses are kept as written and found by exact address search
    assert len(_all(db_session, stored, ip="2001:db8:99::5")) == 1
    assert _all(db_session, stored, ip="10.77.1.10", src_port=40001)
