"""The certification engine without a database: HAR edge cases, bad input, the live probe against a real
tiny server on 127.0.0.1 (plus one that hangs and one that trickles), reports."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from kernel.ids import sha256_hex
from registry.certify import engine, har, probe, reports, samples
from standards.loading import InputError, InputTooLarge


def _std():
    spec = samples.standard_spec()
    return engine.Standard("unified-data-service@1.0.0", spec, sha256_hex(json.dumps(spec)))


def _run(vendor=None, entries=None, **kw):
    hars = [engine.Har("t.har", entries)] if entries is not None else None
    return engine.run_certification(_std(), json.dumps(vendor or samples.vendor_spec()), vendor_filename="v.json",
                                    hars=hars, **kw)


def test_good_traffic_with_base64_gzip_and_missing_bodies():
    r = _run(entries=samples.good_har()["log"]["entries"])
    assert r["conformant"], [f for f in r["findings"] if f["level"] == "error"]
    assert {c["operation"]: c["traffic"] for c in r["coverage"]} == {
        "GET /datasets": 2, "GET /datasets/{datasetId}": 2, "POST /datasets/{datasetId}/records": 1}
    assert any(f.get("entry") == 5 and "not recorded" in f["message"] for f in r["findings"])


def test_binary_and_undecodable_bodies_are_findings_not_crashes():
    server = "https://data.pengcheng.example/api"
    entries = samples.good_har()["log"]["entries"][:1]
    e = json.loads(json.dumps(entries[0]))
    e["response"]["content"] = {"size": 4, "mimeType": "application/octet-stream", "encoding": "base64",
                                "text": base64.b64encode(b"\x00\xff\xfe\x01").decode()}
    e["response"]["headers"] = [{"name": "Content-Type", "value": "application/octet-stream"}]
    broken = json.loads(json.dumps(entries[0]))
    broken["response"]["content"] = {"size": 9, "mimeType": "application/json", "encoding": "base64", "text": "%%%"}
    gz = json.loads(json.dumps(entries[0]))
    gz["response"]["content"] = {"size": 9, "mimeType": "application/json", "encoding": "base64",
                                 "text": base64.b64encode(b"\x1f\x8b\x08garbage").decode()}
    weird = {"request": {"method": "GET", "url": f"{server}/datasets", "headers": "nope", "postData": 5},
             "response": {"status": "x", "content": []}}
    aborted = {"request": {"method": "GET", "url": f"{server}/datasets"}, "response": {"status": 0}}
    r = _run(entries=[e, broken, gz, weird, aborted, 7, {"request": {"method": "GET", "url": "ftp://x/y"}}])
    parts = {(f["entry"], f["part"]) for f in r["findings"] if f["check"] == "traffic"}
    assert (0, "content type") in parts
    assert (2, "body") in parts and (3, "har") in parts and (4, "status") in parts
    assert (5, "har") in parts and (6, "har") in parts
    assert not r["conformant"]


def test_har_loading_limits_and_errors(tmp_path):
    with pytest.raises(InputError, match="truncated"):
        har.load_har(b'{"log": {"entries": [{"request": {}}', name="cut.har")
    with pytest.raises(InputError, match="not a HAR"):
        har.load_har(b"[]")
    with pytest.raises(InputError, match="not a list"):
        har.load_har(b'{"log": {"entries": {}}}')
    with pytest.raises(InputTooLarge, match="limit"):
        har.load_har(b" " * 100, max_bytes=10)
    big = tmp_path / "big.har"
    with big.open("wb") as fh:  # sparse 200 MB file: refused from its size, before reading
        fh.truncate(200 * 1024 * 1024)
    t = time.monotonic()
    with pytest.raises(InputTooLarge, match="HAR limit"):
        har.read_har_file(str(big))
    assert time.monotonic() - t < 2


def test_vendor_spec_problems():
    bad = samples.vendor_spec()
    bad["paths"]["/datasets"]["get"]["responses"] = "nope"
    r = _run(vendor=bad, entries=samples.good_har()["log"]["entries"])
    checks = {c["id"]: c["status"] for c in r["checks"]}
    assert checks["spec-validity"] == "failed" and checks["traffic"] == "skipped" and not r["conformant"]
    with pytest.raises(InputError):
        engine.run_certification(_std(), b"{not json", vendor_filename="v.json")
    r = _run(vendor=samples.breaking_vendor_spec())
    assert {f["rule"] for f in r["findings"] if f["check"] == "conformance" and f["level"] == "error"} >= {
        "api-path-removed-without-deprecation", "response-property-became-optional"}
    assert [c for c in r["coverage"] if not c["implemented"]][0]["operation"] == "POST /datasets/{datasetId}/records"


def test_reports_render_every_format():
    r = _run(entries=samples.bad_har()["log"]["entries"])
    import xml.etree.ElementTree as ET

    for fmt in reports.FORMATS:
        out = reports.render(r, fmt)
        assert out
    root = ET.fromstring(reports.render(r, "junit"))
    assert int(root.get("failures")) >= 1
    sarif = json.loads(reports.render(r, "sarif"))
    assert any(res.get("properties", {}).get("entry") == 4 for res in sarif["runs"][0]["results"])
    assert "&lt;" not in reports.render(r, "text")


# -------------------------------------------------------------------------------------------- probe


class _Handler(BaseHTTPRequestHandler):
    mode = "good"

    def log_message(self, *a):
        pass

    def _send(self, status, body, ctype="application/json"):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        mode = self.server.mode
        self.server.seen_auth.append(self.headers.get("Authorization"))
        self.server.methods.append("GET")
        if mode == "hang":
            time.sleep(3)
            return
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(30):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
            return
        url = urlsplit(self.path)
        if mode == "good":  # a conforming server: it checks what it is sent
            if url.path == "/api/datasets":
                q = parse_qs(url.query)
                lim = q.get("limit", ["10"])
                if len(lim) != 1 or not re.fullmatch(r"[0-9]+", lim[0]) or not 1 <= int(lim[0]) <= 100:
                    return self._send(400, {"title": "bad limit", "status": 400}, "application/problem+json")
                return self._send(200, [{"id": "DS-001", "title": "t"}])
            if url.path.startswith("/api/datasets/"):
                ds = unquote(url.path.rsplit("/", 1)[1])
                if not re.fullmatch(r"[A-Z]{2}-[0-9]{3}", ds):
                    return self._send(404, {"title": "no such dataset", "status": 404}, "application/problem+json")
                return self._send(200, {"id": ds, "title": "t"})
            if url.path == "/api/health":
                return self._send(200, {"status": "ok"})
            return self._send(404, {"title": "nope"}, "application/problem+json")
        if url.path.startswith("/api/datasets/"):
            return self._send(200, {"id": "DS-001"} if mode == "bad" else {"id": "DS-001", "title": "t"})
        if url.path.startswith("/api/datasets"):
            return self._send(200, [{"id": "DS-001", "title": "t"}])
        self._send(404, {"title": "nope"}, "application/problem+json")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        self.server.seen_auth.append(self.headers.get("Authorization"))
        self.server.methods.append("POST")
        if self.server.mode == "good":
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, {"title": "not JSON", "status": 400}, "application/problem+json")
            ok = (isinstance(body, dict) and isinstance(body.get("id"), str) and isinstance(body.get("value"),
                  (int, float)) and not isinstance(body.get("value"), bool))
            if not ok:
                return self._send(400, {"title": "bad record", "status": 400}, "application/problem+json")
            return self._send(201, {"id": body["id"], "value": body["value"]})
        body = json.loads(raw or b"{}")
        self._send(201 if self.server.mode != "bad" else 500, body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.mode = "good"
    srv.seen_auth = []
    srv.methods = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_probe_against_a_real_local_server(server):
    base = f"http://127.0.0.1:{server.server_address[1]}/api"
    r = _run(base_url=base, probe_limits={"headers": {"Authorization": "Bearer s3cret"}})
    assert r["conformant"], [f for f in r["findings"] if f["level"] == "error"][:5]
    meta = r["probe"]
    assert meta["read_only"] is False  # loopback: every method
    assert meta["auth_headers"] == ["Authorization"] and "s3cret" not in json.dumps(r)
    assert set(server.seen_auth) == {"Bearer s3cret"} and "POST" in server.methods
    # every operation of the vendor document, positive and negative requests
    assert all(c["probe"] >= 2 for c in r["coverage"])
    assert meta["checks"]["negative_data_rejection"]["passed"] >= 8
    assert meta["checks"]["negative_data_rejection"]["failed"] == 0
    assert set(meta["checks"]) == set(engine.PROBE_CHECKS)
    assert all(v["failed"] == 0 for v in meta["checks"].values())
    server.mode = "bad"
    r = _run(base_url=base)
    rules = {f["rule"] for f in r["findings"] if f["check"] == "probe" and f["level"] == "error"}
    assert {"not_a_server_error", "response_schema_conformance", "status_code_conformance",
            "negative_data_rejection"} <= rules
    neg = next(f for f in r["findings"] if f["rule"] == "negative_data_rejection")
    assert neg["case"] == "negative" and "instead of a 4xx" in neg["message"]
    assert r["probe"]["checks"]["negative_data_rejection"]["failed"] >= 1


def test_probe_read_only_and_bounds(server):
    base = f"http://127.0.0.1:{server.server_address[1]}/api"
    r = _run(base_url=base, probe_limits={"read_only": True, "max_requests": 5})
    assert r["probe"]["read_only"] is True and r["probe"]["requests"] == 5
    assert "POST" not in server.methods and r["probe"]["stopped"].startswith("request limit of 5")
    r = _run(base_url=base, probe_limits={"max_response_ms": 0.001, "max_requests": 3, "negative": False})
    assert {f["rule"] for f in r["findings"] if f["check"] == "probe"} == {"max_response_time"}
    assert r["probe"]["checks"]["max_response_time"]["failed"] == 3


def test_probe_read_only_is_the_default_for_third_party_hosts():
    assert probe.is_third_party(("https", "api.vendor.example", 443, "", "203.0.113.7"))
    assert not probe.is_third_party(("http", "localhost", 80, "", "127.0.0.1"))
    assert not probe.is_third_party(("http", "localhost", 80, "", "::1"))
    with pytest.raises(probe.ProbeRefused):
        probe.run_probe("http://127.0.0.1:9/", samples.vendor_spec(), headers={"X-Bad": "a\nb"})


def test_probe_bounded_against_hanging_and_trickling_servers(server):
    base = f"http://127.0.0.1:{server.server_address[1]}/api"
    for mode in ("hang", "trickle"):
        server.mode = mode
        t = time.monotonic()
        r = _run(base_url=base, probe_limits={"timeout": 0.5, "max_seconds": 1.2, "max_requests": 2})
        elapsed = time.monotonic() - t
        assert elapsed < 4, (mode, elapsed)
        assert not r["conformant"]
        assert any(f["rule"] == "probe-request-failed" and "timeout" in f["message"] for f in r["findings"]), mode


def test_probe_refuses_disallowed_hosts_before_connecting(monkeypatch):
    def no_connect(*a, **kw):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    for url in ("http://example.org/", "http://10.0.0.1/", "http://169.254.169.254/latest", "ftp://127.0.0.1/",
                "http://user:pw@127.0.0.1/", "http://[::ffff:10.0.0.1]/", "not a url"):
        with pytest.raises(probe.ProbeRefused):
            _run(base_url=url)
    assert probe.check_target("http://127.0.0.1:8080/x")[1] == "127.0.0.1"
    assert probe.check_target("http://localhost:8080/")[4] in ("127.0.0.1", "::1")
    with pytest.raises(probe.ProbeRefused):
        probe.check_target("http://10.1.2.3/", ["127.0.0.0/8"])
    assert probe.check_target("http://10.1.2.3/", ["10.0.0.0/8"])[4] == "10.1.2.3"
