"""The proposal lifecycle as an explicit state machine (python-statemachine).

    draft → submitted → prechecked → under_expert_review → decided:
        approved → in_construction → completed (acceptance) → evaluated
        returned_for_revision → submitted (resubmission)
        rejected

The commission may also return a pre-checked proposal before any panel is formed. The library checks the
graph when the class is defined (one initial state, every state reaches a final one); the state itself is
persisted as a plain string column of :class:`registry.models.Project`.
"""

from __future__ import annotations

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from kernel.errors import Conflict


class ProjectLifecycle(StateMachine):
    draft = State(initial=True)
    submitted = State()
    prechecked = State()
    under_expert_review = State()
    approved = State()
    returned_for_revision = State()
    rejected = State(final=True)
    in_construction = State()
    completed = State()
    evaluated = State(final=True)

    submit = draft.to(submitted) | returned_for_revision.to(submitted)
    precheck = submitted.to(prechecked)
    start_review = prechecked.to(under_expert_review)
    approve = under_expert_review.to(approved)
    return_for_revision = under_expert_review.to(returned_for_revision) | prechecked.to(returned_for_revision)
    reject = under_expert_review.to(rejected)
    start_construction = approved.to(in_construction)
    complete = in_construction.to(completed)
    evaluate = completed.to(evaluated)


STATES = tuple(s.id for s in ProjectLifecycle.states)
EVENTS = ("submit", "precheck", "start_review", "approve", "return_for_revision", "reject",
          "start_construction", "complete", "evaluate")
#: decision → event
DECISIONS = {"approved": "approve", "returned_for_revision": "return_for_revision", "rejected": "reject"}
#: states in which the submitting department may still edit its proposal
EDITABLE = ("draft", "returned_for_revision")
DECIDED = ("approved", "returned_for_revision", "rejected")
#: states counted as "existing or in flight" for duplicate detection (everything except drafts)
IN_LIBRARY = tuple(s for s in STATES if s not in ("draft",))


def fire(obj, event: str) -> tuple[str, str]:
    """Apply ``event`` to ``obj.state``; returns ``(from, to)`` or raises :class:`Conflict` naming the
    allowed events."""
    before = obj.state
    machine = ProjectLifecycle(model=obj, state_field="state")
    try:
        machine.send(event)
    except TransitionNotAllowed:
        allowed = sorted(e.id for e in machine.allowed_events)
        raise Conflict(f"cannot {event.replace('_', ' ')} a project that is {before.replace('_', ' ')}",
                       state=before, event=event, allowed_events=allowed) from None
    return before, obj.state


def allowed_events(state: str) -> list[str]:
    class _M:
        pass

    m = _M()
    m.state = state
    return sorted(e.id for e in ProjectLifecycle(model=m, state_field="state").allowed_events)
