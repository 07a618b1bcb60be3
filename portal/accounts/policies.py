"""One policy per identity use case (default deny lives in kernel.permissions)."""

from __future__ import annotations

from kernel.permissions import policy
from kernel.principal import Principal, Role


def _admin(principal: Principal) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("portal:organisation:create")
def can_create_org(principal: Principal, _org) -> bool:
    return _admin(principal)


@policy("portal:organisation:list")
def can_list_orgs(principal: Principal, _none) -> bool:
    return not principal.is_anonymous


@policy("portal:user:create")
def can_create_user(principal: Principal, _user) -> bool:
    return _admin(principal)


@policy("portal:user:list")
def can_list_users(principal: Principal, _none) -> bool:
    return _admin(principal)


@policy("portal:user:update")
def can_update_user(principal: Principal, _user) -> bool:
    return _admin(principal)


@policy("portal:user:read")
def can_read_user(principal: Principal, user) -> bool:
    return _admin(principal) or (user is not None and user.id == principal.id)


@policy("portal:token:create")
def can_create_token(principal: Principal, owner) -> bool:
    # a user creates tokens for themself; admins may not mint tokens for others (CLI does, as system)
    return principal.kind in ("user", "token") and owner is not None and owner.id == principal.id


@policy("portal:token:list")
def can_list_tokens(principal: Principal, owner) -> bool:
    return owner is not None and (owner.id == principal.id or _admin(principal))


@policy("portal:token:revoke")
def can_revoke_token(principal: Principal, token) -> bool:
    return token is not None and (token.user_id == principal.id or _admin(principal))
