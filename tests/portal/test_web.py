from tests.factories import PASSWORD, csrf_token


def test_pages_are_chinese_by_default_and_switch_to_english(client):
    page = client.get("/").get_data(as_text=True)
    assert "城市信息化治理平台" in page and 'lang="zh-CN"' in page
    client.get("/lang/en")
    assert "City informatization governance platform" in client.get("/").get_data(as_text=True)


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_login_requires_csrf_token(client, auth):
    auth.user(username="grace")
    resp = client.post("/login", data={"username": "grace", "password": PASSWORD})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


def test_login_logout_and_session_cookie_flags(app, client, auth):
    auth.user("commission_admin", username="heidi")
    app.config["SESSION_COOKIE_SECURE"] = True
    resp = auth.login(client, "heidi")
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert "heidi" in client.get("/account").get_data(as_text=True)
    page = client.get("/admin/users")
    assert page.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert client.get("/account").status_code == 302  # back to the login page


def test_wrong_password_shows_error(client, auth):
    auth.user(username="ivan")
    resp = auth.login(client, "ivan", "not the right one")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)


def test_open_redirect_is_refused(client, auth):
    auth.user(username="judy")
    page = client.get("/login?next=https://evil.example/")
    resp = client.post("/login?next=https://evil.example/",
                       data={"username": "judy", "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert resp.headers["Location"] == "/"


def test_non_admin_cannot_open_user_admin(client, auth):
    auth.user("vendor", username="ken")
    auth.login(client, "ken")
    assert client.get("/admin/users").status_code == 403


def test_create_token_on_account_page_shows_secret_once(client, auth):
    auth.user("expert", username="leo")
    auth.login(client, "leo")
    page = client.get("/account")
    resp = client.post("/account", data={"csrf_token": csrf_token(page), "action": "create_token", "name": "cli",
                                         "scopes": "*", "days": "30"})
    body = resp.get_data(as_text=True)
    assert "cgv_" in body and "<code>cgv_" in body
    assert client.get("/account").get_data(as_text=True).count("<code>cgv_") == 1  # only the prefix row now


def test_html_404_page(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"


def test_translations_are_compiled_from_the_po_file():
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    base = Path(__file__).resolve().parents[2] / "portal" / "translations" / "zh" / "LC_MESSAGES"
    po = {m.id: m.string for m in read_po((base / "messages.po").open("rb")) if m.id}
    mo = {m.id: m.string for m in read_mo((base / "messages.mo").open("rb")) if m.id}
    assert po == mo and all(po.values())


def test_audit_page_filters_events_for_admins_only(client, auth):
    auth.user("commission_admin", username="olga")
    auth.user("expert", username="pete")
    auth.login(client, "olga")
    page = client.get("/audit?area=portal&object_type=user").get_data(as_text=True)
    assert "portal:user:create" in page and "pete" not in page.split("<tbody>")[0]
    assert client.get("/audit?since=not-a-date").status_code == 400


def test_audit_page_refused_to_non_admin(client, auth):
    auth.user("expert", username="quinn")
    auth.login(client, "quinn")
    assert client.get("/audit").status_code == 403


def test_password_change_ends_other_sessions(client, auth, db_session):
    from portal.accounts import services as accounts

    user = auth.user("expert", username="rita")
    auth.login(client, "rita")
    assert client.get("/account").status_code == 200
    accounts.password_change(db_session, auth.principal(user), user.id, "another long passphrase")
    assert client.get("/account").status_code == 302
