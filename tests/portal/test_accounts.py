from datetime import timedelta

import pytest
from sqlmodel import select

from audit.models import AuditEvent
from kernel.errors import Conflict, NotFound, NotAuthenticated, NotAuthorized, TooManyRequests, ValidationFailed
from portal.accounts import services as accounts
from portal.accounts.models import ApiToken
from tests.factories import PASSWORD, SYSTEM, make_org, make_user, principal_of


def events(session, action):
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_user_create_validates_every_field(db_session):
    make_org(db_session, "D1")
    with pytest.raises(ValidationFailed) as err:
        accounts.user_create(db_session, SYSTEM, username="Bad Name!", display_name="", password="short",
                             org="NOPE", roles=["king"])
    fields = {e["field"] for e in err.value.errors}
    assert fields == {"username", "display_name", "password", "org", "roles"}


def test_user_create_is_audited_and_unique(db_session):
    user = make_user(db_session, "department_submitter", username="alice")
    assert user.password_hash.startswith("$argon2id$")
    assert [e.object_id for e in events(db_session, "portal:user:create") if e.object_id == user.id] == [user.id]
    with pytest.raises(Conflict):
        make_user(db_session, username="alice")


def test_only_commission_admin_creates_users(db_session):
    org = make_org(db_session, "D2")
    submitter = principal_of(db_session, make_user(db_session, "department_submitter", org=org))
    with pytest.raises(NotAuthorized):
        accounts.user_create(db_session, submitter, username="mallory", display_name="M", password=PASSWORD,
                             org="D2")
    admin = principal_of(db_session, make_user(db_session, "commission_admin"))
    created = accounts.user_create(db_session, admin, username="bob", display_name="Bob", password=PASSWORD, org="D2")
    assert created.org_id == org.id


def test_authenticate_and_throttle(db_session):
    make_user(db_session, username="carol")
    assert accounts.authenticate(db_session, username="carol", password=PASSWORD).username == "carol"
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            accounts.authenticate(db_session, username="carol", password="wrong password!", max_failures=3)
    with pytest.raises(TooManyRequests):  # even the right password waits now
        accounts.authenticate(db_session, username="carol", password=PASSWORD, max_failures=3)


def test_unknown_user_and_wrong_password_look_the_same(db_session):
    make_user(db_session, username="dave")
    with pytest.raises(NotAuthenticated) as a:
        accounts.authenticate(db_session, username="nobody", password=PASSWORD)
    with pytest.raises(NotAuthenticated) as b:
        accounts.authenticate(db_session, username="dave", password="not the password")
    assert a.value.detail == b.value.detail


def test_token_is_stored_hashed_scoped_expiring_revocable(db_session):
    user = make_user(db_session, "security_analyst")
    principal = principal_of(db_session, user)
    token, secret = accounts.token_create(db_session, principal, user=user, name="ci", scopes=["secmon:*"], days=1)
    row = db_session.get(ApiToken, token.id)
    assert secret.startswith("cgv_") and secret not in (row.token_hash, row.prefix)
    as_token = accounts.principal_for_token(db_session, secret)
    assert as_token.kind == "token" and as_token.scopes == frozenset({"secmon:*"}) and as_token.id == user.id
    row.expires_at = row.created_at - timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    with pytest.raises(NotAuthenticated):
        accounts.principal_for_token(db_session, secret)
    token2, secret2 = accounts.token_create(db_session, principal, user=user, name="ci2")
    accounts.token_revoke(db_session, principal, token2.id)
    with pytest.raises(NotAuthenticated):
        accounts.principal_for_token(db_session, secret2)
    assert events(db_session, "portal:token:revoke")


def test_nobody_mints_tokens_for_someone_else(db_session):
    admin = principal_of(db_session, make_user(db_session, "commission_admin"))
    victim = make_user(db_session, "expert")
    with pytest.raises(NotAuthorized):
        accounts.token_create(db_session, admin, user=victim, name="sneaky")


def test_deactivating_a_user_revokes_their_tokens(db_session):
    user = make_user(db_session, "vendor")
    _t, secret = accounts.token_create(db_session, principal_of(db_session, user), user=user, name="x")
    accounts.user_set_active(db_session, SYSTEM, user.id, False)
    with pytest.raises(NotAuthenticated):
        accounts.principal_for_token(db_session, secret)


def test_failed_audit_append_leaves_no_user(db_session, monkeypatch):
    """No change without its event: if the audit append fails, the user is not created."""
    import audit

    make_org(db_session, "D9")

    def broken(*a, **k):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        accounts.user_create(db_session, SYSTEM, username="ghost", display_name="G", password=PASSWORD, org="D9")
    db_session.rollback()
    with pytest.raises(NotFound):
        accounts.user_get(db_session, "ghost")
