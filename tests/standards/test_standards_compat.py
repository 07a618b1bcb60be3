"""JSON Schema compatibility with Confluent semantics (BACKWARD / FORWARD / FULL / transitive)."""

from __future__ import annotations

import pytest

from standards.compat import check, incompatibilities, is_compatible

BASE = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                         "age": {"type": "integer", "minimum": 0}}, "required": ["name"]}


def _with(**changes):
    import copy

    s = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = s
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is ...:
            node.pop(keys[-1])
        else:
            node[keys[-1]] = value
    return s


@pytest.mark.parametrize(("new", "backward", "rule"), [
    (_with(properties__email={"type": "string"}), True, None),                       # optional added (lenient)
    (_with(required=["name", "age"]), False, "REQUIRED_ATTRIBUTE_ADDED"),
    (_with(required=[]), True, None),
    (_with(properties__name__maxLength=10), False, "MAX_LENGTH_DECREASED"),
    (_with(properties__name__maxLength=40), True, None),
    (_with(properties__age__minimum=18), False, "MINIMUM_INCREASED"),
    (_with(properties__age__type="number"), True, None),                             # integer → number widens
    (_with(properties__age__type="string"), False, "TYPE_CHANGED"),
    (_with(properties__name__pattern="^[A-Z]"), False, "PATTERN_ADDED"),
    (_with(properties__name__format="email"), False, "FORMAT_ADDED"),
    (_with(additionalProperties=False), False, "ADDITIONAL_PROPERTIES_REMOVED"),
    (_with(properties__name__enum=["a", "b"]), False, "ENUM_ADDED"),
])
def test_backward_rules(new, backward, rule):
    found = incompatibilities(new, BASE)
    assert (not found) == backward, found
    if rule:
        assert rule in {f["rule"] for f in found}
        assert all("new_pointer" in f and "old_pointer" in f for f in found)


def test_forward_is_the_inverse():
    tightened = _with(required=["name", "age"])
    assert not is_compatible("BACKWARD", tightened, [BASE])
    assert is_compatible("FORWARD", tightened, [BASE])
    assert not is_compatible("FULL", tightened, [BASE])
    assert is_compatible("NONE", tightened, [BASE])


def test_enum_growth_and_closed_model():
    v1 = {"type": "string", "enum": ["a", "b"]}
    v2 = {"type": "string", "enum": ["a", "b", "c"]}
    assert is_compatible("BACKWARD", v2, [v1]) and not is_compatible("FORWARD", v2, [v1])
    closed = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    closed_plus = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                   "additionalProperties": False}
    assert is_compatible("BACKWARD", closed_plus, [closed])
    rules = {f["rule"] for f in check("FORWARD", closed_plus, [closed])}
    assert "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" in rules


def test_strict_open_content_model():
    added = _with(properties__email={"type": "string"})
    assert is_compatible("BACKWARD", added, [BASE])
    rules = {f["rule"] for f in check("BACKWARD", added, [BASE], strict=True)}
    assert rules == {"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"}


def test_transitive_checks_every_version():
    v1 = _with(properties__name__maxLength=10)
    v2 = _with(properties__name__maxLength=40)
    v3 = _with(properties__name__maxLength=30)
    # v3 reads v2 data? no (40 > 30). Reads v1 data? yes.
    assert not is_compatible("BACKWARD", v3, [v1, v2])
    assert is_compatible("BACKWARD", v3, [v1])
    assert not is_compatible("FORWARD_TRANSITIVE", v2, [v1, v3])


def test_refs_and_combinators():
    v1 = {"$defs": {"n": {"type": "string"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/n"}}}
    v2 = {"$defs": {"n": {"type": "integer"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/n"}}}
    assert [f["rule"] for f in incompatibilities(v2, v1)] == ["TYPE_CHANGED"]
    o1 = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    o2 = {"oneOf": [{"type": "string"}]}
    assert not is_compatible("BACKWARD", o2, [o1])
    assert is_compatible("BACKWARD", o1, [o2])


def test_unknown_level():
    with pytest.raises(ValueError):
        check("SIDEWAYS", {}, [{}])
