import uuid

import pytest

from kernel import ANONYMOUS, NotAuthenticated, NotAuthorized, Principal, authorize, is_allowed, new_id, policy
from kernel.errors import ValidationFailed
from kernel.principal import system_principal


@policy("kerneltest:thing:touch")
def _can_touch(principal, thing):
    return principal.has_role("toucher") and thing == "mine"


def user(*roles, scopes=None):
    return Principal(kind="token" if scopes is not None else "user", id="u1", name="u1", roles=frozenset(roles),
                     scopes=scopes, token_id="t1" if scopes is not None else None)


def test_unknown_action_is_denied_even_to_everyone_else():
    assert not is_allowed(user("commission_admin"), "kerneltest:nothing:registered")
    with pytest.raises(NotAuthorized):
        authorize(user("commission_admin"), "kerneltest:nothing:registered")


def test_policy_decides_with_resource():
    authorize(user("toucher"), "kerneltest:thing:touch", "mine")
    with pytest.raises(NotAuthorized):
        authorize(user("toucher"), "kerneltest:thing:touch", "theirs")
    with pytest.raises(NotAuthorized):
        authorize(user("other"), "kerneltest:thing:touch", "mine")


def test_anonymous_gets_not_authenticated():
    with pytest.raises(NotAuthenticated):
        authorize(ANONYMOUS, "kerneltest:thing:touch", "mine")


def test_token_scopes_limit_the_user_roles():
    assert is_allowed(user("toucher", scopes=frozenset({"kerneltest:*"})), "kerneltest:thing:touch", "mine")
    assert not is_allowed(user("toucher", scopes=frozenset({"registry:*"})), "kerneltest:thing:touch", "mine")


def test_system_principal_passes_registered_policies_only():
    system = system_principal("job")
    assert is_allowed(system, "kerneltest:thing:touch", "theirs")
    assert not is_allowed(system, "kerneltest:nothing:registered")
    assert system.actor == "system:job"


def test_policy_cannot_be_registered_twice_by_different_functions():
    with pytest.raises(RuntimeError):
        @policy("kerneltest:thing:touch")
        def other(principal, thing):  # pragma: no cover - never called
            return True


def test_new_id_is_time_ordered_uuid7():
    a, b = new_id(), new_id()
    assert len(a) == 32 and uuid.UUID(a).version == 7
    assert a[:12] <= b[:12]


def test_errors_render_problem_members():
    exc = ValidationFailed("bad", errors=[{"field": "x", "message": "required"}])
    problem = exc.to_problem()
    assert problem["status"] == 422 and problem["errors"][0]["field"] == "x"
