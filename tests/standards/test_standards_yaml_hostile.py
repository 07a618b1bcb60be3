"""Issue 15, fix 3: hostile YAML sent to publish is a 4xx problem (API) and exit code 2 (CLI), never a 500.

PyYAML's reader rejects NUL and other control characters while the loader is constructed; the constructors
raise ValueError and friends on bad scalars; recursive aliases and alias bombs must be refused quickly.
"""

from __future__ import annotations

import time

import pytest

from kernel.principal import Role
from standards import services as std_services

BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))

HOSTILE = {
    "nul": ("openapi: 3.0.3\ninfo: {title: a\x00b, version: '1'}\npaths: {}\n", "unacceptable character"),
    "bell": ("type: object\ndescription: \x07\n", "unacceptable character"),
    "recursive-alias": ("type: object\nproperties: &p {a: {properties: *p}}\n", "recursive alias"),
    "recursive-seq": ("allOf: &x [*x]\n", "recursive alias"),
    "billion-laughs": (BOMB, "billion"),
    "bad-int": ("type: object\nmaxProperties: !!int 'x'\n", "not valid YAML"),
    "bad-base64": ("type: object\ndefault: !!binary 'a'\n", "not valid YAML"),
    "bad-timestamp": ("type: object\ndefault: !!timestamp 'x'\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_api_publish_hostile_yaml_is_a_4xx_problem(client, auth, case):
    text, fragment = HOSTILE[case]
    h = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    started = time.monotonic()
    res = client.put(f"/api/v1/standards/hostile-{case}/versions/1.0.0", headers=h,
                     json={"content": text, "filename": "s.yaml", "kind": "jsonschema"})
    elapsed = time.monotonic() - started
    assert 400 <= res.status_code < 500, res.get_data(as_text=True)
    assert res.content_type == "application/problem+json"
    # NUL is refused by the API for every JSON body (PostgreSQL cannot store it), naming where it is
    expected = "NUL characters are not accepted (in the JSON body at '/content')" if case == "nul" else fragment
    assert expected in res.get_json()["detail"]
    assert elapsed < 10
    assert client.get(f"/api/v1/standards/hostile-{case}").status_code == 404  # nothing written


@pytest.mark.parametrize("case", ["nul", "recursive-alias", "billion-laughs", "bad-int"])
def test_cli_publish_hostile_yaml_exits_2(runner, tmp_path, case):
    text, fragment = HOSTILE[case]
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    res = runner.invoke(["standards", "publish", f"hostile-{case}@1.0.0", str(path), "--kind", "jsonschema"])
    assert res.exit_code == 2, res.output
    assert fragment in res.output


def test_service_publish_changes_nothing_on_nul(db_session):
    from kernel.errors import BadRequest
    from kernel.principal import system_principal

    with pytest.raises(BadRequest):
        std_services.publish(db_session, system_principal("t"), "nul-std", "1.0.0", b"type: object\x00\n",
                             kind="jsonschema", filename="s.yaml")
    assert [s for s in std_services.standard_list(db_session, system_principal("t")) if s["name"] == "nul-std"] == []
