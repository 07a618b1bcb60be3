"""OWASP ASVS 4.0.3 level 2: one test per requirement citygov claims (listed in README → Reliability →
Permissions and web security). Login throttling (V2.2.1) is proven in tests/portal/test_login_throttle.py,
the access-control requirements (V4.1.x, V4.2.1) by tests/reliability/test_permission_matrix.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from kernel.principal import Role
from tests.factories import PASSWORD, csrf_token

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I)


def _login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)})


def _dummy_url(rule) -> str | None:
    values = {a: ("en" if a == "code" else "csv" if a == "fmt" else "approve" if a == "action" else "0" * 32)
              for a in rule.arguments}
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # noqa: BLE001
        return None


def _web_post_rules(app):
    return [r for r in app.url_map.iter_rules()
            if "POST" in r.methods and not r.rule.startswith("/api/") and r.endpoint != "static"]


# ---------------------------------------------------------------- V4.2.2 / V3.5.3: CSRF


def test_v4_2_2_every_state_changing_form_requires_a_csrf_token(app, auth):
    from portal.security import csrf

    admin = auth.user(*[r.value for r in Role])
    client = FlaskClient(app)
    assert _login(client, admin.username).status_code == 302
    rules = _web_post_rules(app)
    assert len(rules) > 20
    unprotected = []
    for rule in rules:
        assert rule.endpoint not in csrf._exempt_views and rule.endpoint.split(".")[0] not in csrf._exempt_blueprints
        url = _dummy_url(rule)
        if url is None:
            continue
        for data in ({}, {"csrf_token": "forged"}):
            resp = client.post(url, data=data)
            if resp.status_code != 400 or "CSRF" not in resp.get_data(as_text=True):
                unprotected.append((rule.rule, data, resp.status_code))
    assert unprotected == []


def test_v4_2_2_every_post_form_in_the_templates_carries_the_token():
    missing = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
            if re.search(r'method\s*=\s*"post"', form, re.I) and "csrf_token" not in form:
                missing.append(f"{path.name}: {form[:80]}")
    assert missing == []


# ---------------------------------------------------------------- V3.2.1: session fixation


def test_v3_2_1_login_issues_a_new_session_and_the_old_one_stays_anonymous(app, auth):
    user = auth.user(Role.DEPARTMENT_SUBMITTER)
    client = FlaskClient(app)
    client.get("/lang/en")  # a pre-login session (what a fixation attacker would plant)
    page = client.get("/login")
    before = client.get_cookie("session").value
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(page)})
    after = client.get_cookie("session").value
    assert before != after
    planted = FlaskClient(app)
    planted.set_cookie("session", before)
    resp = planted.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]  # the fixed cookie is worth nothing
    # and nothing of the pre-login session survives into the new one
    with client.session_transaction() as sess:
        assert "lang" not in sess and sess["user_id"] == user.id


def test_v3_3_x_password_change_ends_other_sessions(app, auth, db_session):
    from portal.accounts import services as accounts

    user = auth.user(Role.DEPARTMENT_SUBMITTER)
    client = FlaskClient(app)
    _login(client, user.username)
    assert client.get("/account").status_code == 200
    accounts.password_change(db_session, auth.principal(user), user.id, "a brand new passphrase 42")
    resp = client.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_v3_3_1_logout_invalidates_a_copied_session_cookie(app, auth, db_session):
    """The cookie is signed, not a credential on its own: logging out deletes the server-side session record, so
    a copy taken before (another browser, a stolen cookie) is anonymous afterwards; other sessions of the same user
    live on; an expired record signs nobody in."""
    from datetime import timedelta

    from sqlmodel import select

    from kernel.clock import utcnow
    from portal.accounts.models import WebSession

    user = auth.user(Role.DEPARTMENT_SUBMITTER)
    client, other = FlaskClient(app), FlaskClient(app)
    _login(client, user.username)
    _login(other, user.username)
    rows = db_session.exec(select(WebSession).where(WebSession.user_id == user.id)).all()
    assert len(rows) == 2 and all(len(r.id_hash) == 64 for r in rows)
    with client.session_transaction() as sess:
        assert sess["sid"] not in {r.id_hash for r in rows}  # only the hash is stored
    copy = FlaskClient(app)
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/account").status_code == 200
    page = client.get("/account")
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    resp = copy.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert other.get("/account").status_code == 200  # the user's other session is not touched
    # a record past its lifetime signs nobody in
    db_session.expire_all()
    (live,) = db_session.exec(select(WebSession).where(WebSession.user_id == user.id)).all()
    live.expires_at = utcnow() - timedelta(seconds=1)
    db_session.add(live)
    db_session.commit()
    resp = other.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# ---------------------------------------------------------------- V3.4.1-3: cookie attributes


def test_v3_4_cookie_flags_in_production(db_url, db_connection, tmp_path, db_session):
    from tests.reliability.matrix_support import app_with_overrides

    app = app_with_overrides(db_url, db_connection, tmp_path, ENV="production", TESTING=False)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    from tests.factories import make_user

    user = make_user(db_session, Role.VENDOR)
    client = FlaskClient(app, use_cookies=True)
    page = client.get("/login", base_url="https://citygov.example")
    resp = client.post("/login", base_url="https://citygov.example",
                       headers={"Referer": "https://citygov.example/login"},  # strict CSRF over HTTPS
                       data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert resp.status_code == 302
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attrs and "SameSite=Lax" in cookie
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


# ---------------------------------------------------------------- V14.4.3 and friends: CSP and headers


def _csp(resp) -> dict[str, list[str]]:
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_v14_4_3_csp_without_unsafe_inline_on_every_kind_of_answer(client, auth):
    h = auth.headers(auth.user(Role.VENDOR))
    for resp in (client.get("/"), client.get("/login"), client.get("/api/v1/me", headers=h),
                 client.get("/no-such-page"), client.get("/api/v1/projects/schema")):
        csp = _csp(resp)
        flat = " ".join(" ".join(v) for v in csp.values())
        assert "'unsafe-inline'" not in flat and "'unsafe-eval'" not in flat
        assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
        assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
        assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"  # V14.4.4
        assert resp.headers["Referrer-Policy"] == "same-origin"  # V14.4.6
        assert resp.headers["X-Frame-Options"] == "DENY"  # V14.4.7


def test_v14_4_3_templates_have_no_inline_script_style_or_handlers():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        for m in INLINE.finditer(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(TEMPLATES)}: {m.group(0)}")
    assert found == []


def test_v14_4_3_rendered_pages_have_no_inline_script_or_style(app, auth):
    """What the templates produce after macros and filters (charts, labels) — every parameterless page."""
    admin = auth.user(*[r.value for r in Role])
    client = FlaskClient(app)
    _login(client, admin.username)
    found, pages = [], 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        resp = client.get(rule.rule)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            pages += 1
            found += [f"{rule.rule}: {m.group(0)}" for m in INLINE.finditer(resp.get_data(as_text=True))]
    assert pages > 15 and found == []


# ---------------------------------------------------------------- V3.5 / V2.x: tokens


def test_v3_5_revoked_token_fails_on_the_very_next_request(client, auth, db_session):
    user = auth.user(Role.SECURITY_ANALYST)
    login = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    token = login.get_json()
    h = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/me", headers=h).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=h).status_code == 200
    after = client.get("/api/v1/me", headers=h)
    assert after.status_code == 401 and after.mimetype == "application/problem+json"
    # deactivating a user ends every token of theirs at once, too
    from portal.accounts import services as accounts
    from tests.factories import SYSTEM

    h2 = auth.headers(user)
    assert client.get("/api/v1/me", headers=h2).status_code == 200
    accounts.user_set_active(db_session, SYSTEM, user.id, False)
    assert client.get("/api/v1/me", headers=h2).status_code == 401


def test_v13_2_3_api_ignores_the_session_cookie(app, auth):
    """The API authenticates with bearer tokens only: a logged-in browser session gives no API access,
    so cross-site requests cannot ride on it (no CSRF surface on the API)."""
    user = auth.user(Role.COMMISSION_ADMIN)
    client = FlaskClient(app)
    _login(client, user.username)
    assert client.get("/account").status_code == 200
    resp = client.get("/api/v1/users")
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"


# ---------------------------------------------------------------- V2.1: password policy


@pytest.mark.parametrize("password, ok", [
    ("a" * 5 + "bcdef1", False),  # 11 characters (V2.1.1)
    ("abcdefghij12", True),  # 12
    ("long pass phrase " * 3 + "ok", True),  # 53, spaces allowed (V2.1.3/2.1.4)
    ("x1y2z3" * 10 + "pass", True),  # 64 permitted (V2.1.2)
    ("abcd" * 33, False),  # 132 > 128
    ("Password1234", False),  # common (V2.1.7), case-insensitive
    ("QWERTYUIOP123", False),
    ("woaini1314520", False),
    ("aaaaaaaaaaaaaa", False),  # too few distinct characters
])
def test_v2_1_password_policy(password, ok):
    from portal.accounts.passwords import password_problems

    assert (password_problems(password, "someone") == []) is ok, password_problems(password, "someone")


def test_v2_1_7_denylist_is_data_and_extensible(tmp_path, monkeypatch):
    from portal.accounts import passwords

    assert len(passwords.common_passwords()) > 100
    extra = tmp_path / "breached.txt"
    extra.write_text("shenzhen-bay-2026\n", encoding="utf-8")
    monkeypatch.setenv("CITYGOV_PASSWORD_DENYLIST", str(extra))
    passwords.common_passwords.cache_clear()
    try:
        assert passwords.password_problems("Shenzhen-Bay-2026")
    finally:
        monkeypatch.delenv("CITYGOV_PASSWORD_DENYLIST")
        passwords.common_passwords.cache_clear()
    assert passwords.password_problems("Shenzhen-Bay-2026") == []


def test_v2_1_policy_applies_on_create_and_change(client, auth):
    admin = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    from tests.factories import make_org

    org = make_org(auth.session, "ASVS-PW")
    resp = client.post("/api/v1/users", headers=admin, json={"username": "weakling", "display_name": "W",
                                                             "password": "Password1234", "org": org.code})
    assert resp.status_code == 422 and any(e.get("field") == "password" for e in resp.get_json()["errors"])
