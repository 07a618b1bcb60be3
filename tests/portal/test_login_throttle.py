"""Issue 15, fix 1: login throttling per (user, address) pair with backoff, per address across users, and
forwarded addresses believed only from configured proxies. Nobody can lock another user out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from kernel.clock import as_utc
from kernel.errors import NotAuthenticated, TooManyRequests
from portal.accounts import services as accounts
from portal.accounts.models import LoginAttempt
from portal.config import ConfigurationError, trusted_networks
from tests.factories import PASSWORD, make_user

ATTACKER, VICTIM_HOME, OTHER = "203.0.113.9", "198.51.100.7", "192.0.2.44"
BAD = "not the password!"


def _age(session, seconds: float) -> None:
    """Move every recorded attempt ``seconds`` into the past (time passing, without sleeping)."""
    for row in session.exec(select(LoginAttempt)):
        row.at = as_utc(row.at) - timedelta(seconds=seconds)
        session.add(row)
    session.commit()


def _fail(session, username, addr, throttle, times=1):
    for _ in range(times):
        with pytest.raises(NotAuthenticated):
            accounts.authenticate(session, username=username, password=BAD, remote_addr=addr, throttle=throttle)


def test_victim_logs_in_from_elsewhere_while_attacker_waits(db_session):
    make_user(db_session, "commission_admin", username="admin1")
    throttle = accounts.Throttle()  # the defaults: 5 free failures
    _fail(db_session, "admin1", ATTACKER, throttle, times=5)
    with pytest.raises(TooManyRequests) as err:  # even the right password waits, from the attacker's address
        accounts.authenticate(db_session, username="admin1", password=PASSWORD, remote_addr=ATTACKER,
                              throttle=throttle)
    assert err.value.extra["retry_after"] > 0
    user = accounts.authenticate(db_session, username="admin1", password=PASSWORD, remote_addr=VICTIM_HOME,
                                 throttle=throttle)
    assert user.username == "admin1"


def test_backoff_doubles_and_success_resets_the_pair(db_session):
    make_user(db_session, username="erin")
    throttle = accounts.Throttle(max_failures=3, backoff_seconds=10, window_seconds=900)
    _fail(db_session, "erin", ATTACKER, throttle, times=3)
    waits = []
    for _ in range(4):
        with pytest.raises(TooManyRequests) as err:
            accounts.authenticate(db_session, username="erin", password=BAD, remote_addr=ATTACKER, throttle=throttle)
        waits.append(err.value.extra["retry_after"])
        _age(db_session, waits[-1] + 1)  # wait it out, then fail once more
        _fail(db_session, "erin", ATTACKER, throttle)
    assert [w // 10 for w in waits] == [1, 2, 4, 8] or waits == [10, 20, 40, 80], waits
    assert all(b > a for a, b in zip(waits, waits[1:]))
    with pytest.raises(TooManyRequests):
        accounts.authenticate(db_session, username="erin", password=PASSWORD, remote_addr=ATTACKER, throttle=throttle)
    _age(db_session, 200)
    accounts.authenticate(db_session, username="erin", password=PASSWORD, remote_addr=ATTACKER, throttle=throttle)
    _fail(db_session, "erin", ATTACKER, throttle)  # counting starts again after the success
    accounts.authenticate(db_session, username="erin", password=PASSWORD, remote_addr=ATTACKER, throttle=throttle)


def test_backoff_is_capped_by_the_window(db_session):
    throttle = accounts.Throttle(max_failures=1, backoff_seconds=100, window_seconds=150, address_max_failures=99)
    _fail(db_session, "nobody-cap", ATTACKER, throttle)
    with pytest.raises(TooManyRequests) as err:
        accounts.authenticate(db_session, username="nobody-cap", password=BAD, remote_addr=ATTACKER, throttle=throttle)
    assert err.value.extra["retry_after"] <= 100
    _age(db_session, 101)
    _fail(db_session, "nobody-cap", ATTACKER, throttle)
    with pytest.raises(TooManyRequests) as err:
        accounts.authenticate(db_session, username="nobody-cap", password=BAD, remote_addr=ATTACKER, throttle=throttle)
    assert 100 < err.value.extra["retry_after"] <= 150  # 200 s of backoff, capped at the 150 s window


def test_password_spraying_from_one_address_is_limited(db_session):
    make_user(db_session, username="frank")
    throttle = accounts.Throttle(max_failures=5, address_max_failures=6, window_seconds=900)
    for i in range(6):  # one failure per user name: the pair rule alone would never trigger
        _fail(db_session, f"spray-{i}", ATTACKER, throttle)
    with pytest.raises(TooManyRequests) as err:
        accounts.authenticate(db_session, username="frank", password=PASSWORD, remote_addr=ATTACKER, throttle=throttle)
    assert 0 < err.value.extra["retry_after"] <= 901
    # frank, from his own address, is not affected
    accounts.authenticate(db_session, username="frank", password=PASSWORD, remote_addr=OTHER, throttle=throttle)
    _age(db_session, 901)  # the failures age out of the window
    accounts.authenticate(db_session, username="frank", password=PASSWORD, remote_addr=ATTACKER, throttle=throttle)


def test_throttled_attempts_are_not_recorded(db_session):
    throttle = accounts.Throttle(max_failures=2, backoff_seconds=60)
    _fail(db_session, "ghost", ATTACKER, throttle, times=2)
    for _ in range(5):
        with pytest.raises(TooManyRequests):
            accounts.authenticate(db_session, username="ghost", password=BAD, remote_addr=ATTACKER, throttle=throttle)
    rows = db_session.exec(select(LoginAttempt).where(LoginAttempt.username == "ghost")).all()
    assert len(rows) == 2  # waiting does not extend the wait


def test_trusted_proxies_setting_is_parsed_and_checked():
    nets = trusted_networks("10.0.0.0/8, 127.0.0.1 ::1")
    assert [str(n) for n in nets] == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
    assert trusted_networks(["192.168.1.0/24"])[0].num_addresses == 256
    assert trusted_networks(None) == [] and trusted_networks("") == []
    with pytest.raises(ConfigurationError):
        trusted_networks("not-an-address")


# --------------------------------------------------------------------------- through HTTP


def _app_with(db_url, db_connection, tmp_path, **overrides):
    from sqlalchemy.orm import sessionmaker
    from sqlmodel import Session

    from portal import create_app
    from portal.db import get_db
    from tests.conftest import TEST_SECRET

    app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": db_url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), "LOG_LEVEL": "WARNING", **overrides})
    db = get_db(app)
    db.engine.dispose()
    db.engine = db_connection.engine
    db.sessionmaker = sessionmaker(bind=db_connection, class_=Session, join_transaction_mode="create_savepoint",
                                   expire_on_commit=False)
    return app


def _api_login(client, username, password, peer, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, headers=headers,
                       environ_base={"REMOTE_ADDR": peer})


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(client, db_session):
    make_user(db_session, username="gina")
    for i in range(5):  # a new forged address each time: all counted against the real peer
        assert _api_login(client, "gina", BAD, ATTACKER, forwarded=f"10.9.9.{i}").status_code == 401
    res = _api_login(client, "gina", PASSWORD, ATTACKER, forwarded="10.9.9.200")
    assert res.status_code == 429 and res.content_type == "application/problem+json"
    assert int(res.headers["Retry-After"]) > 0
    addrs = set(db_session.exec(select(LoginAttempt.remote_addr).where(LoginAttempt.username == "gina")))
    assert addrs == {ATTACKER}
    # the victim, from elsewhere, logs in
    assert _api_login(client, "gina", PASSWORD, VICTIM_HOME).status_code == 201


def test_forwarded_for_from_a_trusted_proxy_is_the_client_address(db_url, db_connection, db_session, tmp_path):
    from tests.openapi_check import ValidatingClient

    app = _app_with(db_url, db_connection, tmp_path, TRUSTED_PROXIES="10.0.0.0/8")
    app.test_client_class = ValidatingClient
    client = app.test_client()
    make_user(db_session, username="hank")
    for _ in range(5):
        assert _api_login(client, "hank", BAD, "10.0.0.2", forwarded=f"9.9.9.9, {ATTACKER}").status_code == 401
    assert _api_login(client, "hank", PASSWORD, "10.0.0.2", forwarded=ATTACKER).status_code == 429
    # same proxy, another client behind it: not throttled
    assert _api_login(client, "hank", PASSWORD, "10.0.0.2", forwarded=VICTIM_HOME).status_code == 201
    addrs = set(db_session.exec(select(LoginAttempt.remote_addr).where(LoginAttempt.username == "hank")))
    assert addrs == {ATTACKER, VICTIM_HOME}  # the last hop the proxy appended, never the forged first entry
    # a peer outside the trusted networks cannot use the header
    _api_login(client, "hank", BAD, OTHER, forwarded=VICTIM_HOME)
    assert OTHER in set(db_session.exec(select(LoginAttempt.remote_addr).where(LoginAttempt.username == "hank")))


def test_web_login_throttles_the_pair_not_the_user(client, db_session):
    from tests.factories import csrf_token

    make_user(db_session, username="iris")

    def web_login(password, peer):
        page = client.get("/login", environ_base={"REMOTE_ADDR": peer})
        return client.post("/login", data={"username": "iris", "password": password, "csrf_token": csrf_token(page)},
                           environ_base={"REMOTE_ADDR": peer}, headers={"X-Forwarded-For": VICTIM_HOME})

    for _ in range(5):
        assert web_login(BAD, ATTACKER).status_code == 401
    blocked = web_login(PASSWORD, ATTACKER)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    client.post("/logout", data={})  # fresh session for the victim
    assert web_login(PASSWORD, VICTIM_HOME).status_code == 302
