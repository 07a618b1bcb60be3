"""Permission matrix: roles × actions × own / other organisation. A department user never reads or changes
another department's proposals; experts see only what they are assigned; the commission sees everything."""

from __future__ import annotations

import pytest

from kernel.errors import CityGovError, NotAuthenticated, NotAuthorized, NotFound
from kernel.permissions import is_allowed
from kernel.principal import ANONYMOUS
from registry import services as reg
from registry.policies import Access
from tests.registry.conftest import expert_refs, proposal

ACTIONS = ["view", "update", "submit", "list", "similar", "decide", "precheck"]
#: who may do what to a draft of department A ("own" = department A's submitter)
DRAFT_EXPECTED = {
    "sub_a": {"view", "update", "submit", "list"},
    "sub_b": set(),
    "admin": {"view", "update", "submit", "list", "similar", "decide", "precheck"},
    "reviewer": {"view", "list", "similar", "decide", "precheck"},
    "exp1": set(),
    "vendor": set(),
}


def attempt(world, who: str, action: str, project) -> bool:
    s, p = world.session, world.p[who]
    try:
        if action == "view":
            reg.project_get(s, p, project.id)
        elif action == "update":
            reg.project_update(s, p, project.id, proposal(budget=13_000_000))
        elif action == "submit":
            reg.project_submit(s, p, project.id)
        elif action == "list":
            items, _ = reg.project_list(s, p)
            return project.id in {i.id for i in items}
        elif action == "similar":
            reg.project_similar(s, p, project_id=project.id)
        elif action == "decide":
            # a draft cannot be decided: reaching the state check (Conflict) means the policy let it through
            try:
                reg.project_decide(s, p, project.id, "rejected", reason="policy probe")
            except CityGovError as exc:
                if exc.status == 409:
                    return True
                raise
        elif action == "precheck":
            try:
                reg.project_precheck(s, p, project.id)
            except CityGovError as exc:
                if exc.status == 409:
                    return True
                raise
        return True
    except (NotAuthorized, NotFound, NotAuthenticated):
        return False


@pytest.mark.parametrize("who", sorted(DRAFT_EXPECTED))
def test_draft_matrix(world, who):
    """Each action against a fresh draft of department A."""
    allowed = set()
    for action in ACTIONS:
        project = reg.project_create(world.session, world.p["sub_a"], proposal(), org_id=world.org_a.id)
        if attempt(world, who, action, project):
            allowed.add(action)
    assert allowed == DRAFT_EXPECTED[who]


def test_other_department_can_never_read_or_change_drafts(world):
    s, p = world.session, world.p
    draft = reg.project_create(s, p["sub_a"], proposal(title="甲局的草稿项目"), org_id=world.org_a.id)
    for fn in (lambda: reg.project_get(s, p["sub_b"], draft.id),
               lambda: reg.project_update(s, p["sub_b"], draft.id, proposal()),
               lambda: reg.project_submit(s, p["sub_b"], draft.id),
               lambda: reg.project_history(s, p["sub_b"], draft.id),
               lambda: reg.reviews_get(s, p["sub_b"], draft.id)):
        with pytest.raises(NotFound):  # indistinguishable from a project that does not exist
            fn()
    with pytest.raises(NotAuthorized):  # nor create in another organisation's name
        reg.project_create(s, p["sub_b"], proposal(), org_id=world.org_a.id)
    items, total = reg.project_list(s, p["sub_b"])
    assert draft.id not in {i.id for i in items}
    with pytest.raises(NotAuthorized):
        reg.project_similar(s, p["sub_b"], project_id=draft.id)
    assert draft.title == "甲局的草稿项目" and draft.revision == 1


def test_editing_only_while_draft_or_returned(world):
    s, p = world.session, world.p
    project = reg.project_create(s, p["sub_a"], proposal(), org_id=world.org_a.id)
    reg.project_submit(s, p["sub_a"], project.id)
    assert reg.project_get(s, p["sub_a"], project.id).state == "prechecked"  # still visible to its owner
    with pytest.raises(NotAuthorized):
        reg.project_update(s, p["sub_a"], project.id, proposal())
    reg.project_decide(s, p["admin"], project.id, "returned_for_revision", reason="请补充材料")
    reg.project_update(s, p["sub_a"], project.id, proposal(budget=1_000_000))
    with pytest.raises(NotFound):
        reg.project_update(s, p["sub_b"], project.id, proposal())


def test_experts_see_only_assigned(world):
    s, p = world.session, world.p
    assigned = reg.project_create(s, p["sub_a"], proposal(), org_id=world.org_a.id)
    other = reg.project_create(s, p["sub_b"], proposal(title="乙局项目"), org_id=world.org_b.id)
    reg.project_submit(s, p["sub_a"], assigned.id)
    reg.panel_form(s, p["admin"], assigned.id, expert_refs(world, "exp1", "exp2", "exp3"))
    assert reg.project_get(s, p["exp1"], assigned.id).id == assigned.id
    with pytest.raises(NotFound):
        reg.project_get(s, p["exp1"], other.id)
    items, total = reg.project_list(s, p["exp1"])
    assert [i.id for i in items] == [assigned.id] and total == 1
    with pytest.raises(NotAuthorized):
        reg.project_update(s, p["exp1"], assigned.id, proposal())
    assert reg.project_json(s, p["exp1"], assigned)["matches"] is None  # other projects stay hidden
    assert reg.project_json(s, p["admin"], assigned)["matches"] is not None


def test_anonymous_and_policy_table():
    acc = Access(org_id="A", state="draft")
    with pytest.raises(NotAuthenticated):
        from kernel.permissions import authorize
        authorize(ANONYMOUS, "registry:project:view", acc)
    for action in ("registry:project:view", "registry:project:update", "registry:project:list",
                   "registry:project:similar", "registry:project:decide"):
        assert not is_allowed(ANONYMOUS, action, acc)
