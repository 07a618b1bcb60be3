"""Correlation rules are data: read once per version of the file, read again when an official edits it."""

import os

import yaml

from secmon.correlation import default_path, load_config


def test_rules_file_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "rules.yaml"
    doc = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    first = load_config(path)
    assert load_config(path) is first  # unchanged: not parsed and validated again for every EVE push
    doc["rules"] = doc["rules"][:1]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a new mtime even on a coarse clock
    edited = load_config(path)
    assert edited is not first and [r.id for r in edited.rules] == [doc["rules"][0]["id"]]
