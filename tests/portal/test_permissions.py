"""The permission matrix: who may do what, through the one mechanism, on both back-ends."""

import pytest

from kernel.errors import NotAuthorized, NotFound
from kernel.permissions import is_allowed
from portal.accounts import services as accounts
from portal.accounts.models import ApiToken
from tests.factories import make_org, make_user, principal_of

ROLES = ["commission_admin", "commission_reviewer", "expert", "department_submitter", "vendor",
         "security_analyst", "data_steward"]

# action -> roles allowed (on an object not their own)
MATRIX = {
    "portal:organisation:create": {"commission_admin"},
    "portal:user:create": {"commission_admin"},
    "portal:user:list": {"commission_admin"},
    "portal:user:update": {"commission_admin"},
    "portal:organisation:list": set(ROLES),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_identity_matrix(db_session, role, action):
    principal = principal_of(db_session, make_user(db_session, role))
    assert is_allowed(principal, action, None) == (role in MATRIX[action])


@pytest.mark.parametrize("role", ROLES)
def test_nobody_revokes_another_users_token_except_admin(db_session, role):
    owner = make_user(db_session, "vendor")
    token, _secret = accounts.token_create(db_session, principal_of(db_session, owner), user=owner, name="t")
    other = principal_of(db_session, make_user(db_session, role))
    if role == "commission_admin":
        accounts.token_revoke(db_session, other, token.id)
    else:  # 404, not 403: the answer must not confirm that the token exists
        with pytest.raises(NotFound):
            accounts.token_revoke(db_session, other, token.id)
        assert db_session.get(ApiToken, token.id).revoked_at is None


def test_department_cannot_see_other_departments_users(db_session):
    make_org(db_session, "DEP-A")
    principal = principal_of(db_session, make_user(db_session, "department_submitter", org="DEP-A"))
    with pytest.raises(NotAuthorized):
        accounts.user_list(db_session, principal)
