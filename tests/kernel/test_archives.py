"""kernel.archives: zip containers are refused from their central directory, before anything inflates."""

from __future__ import annotations

import io
import zipfile

import pytest

from kernel.archives import check_zip
from kernel.errors import ValidationFailed


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_an_ordinary_workbook_passes(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    for i in range(200):
        wb.active.append([f"row {i}", i, i * 1.5])
    path = tmp_path / "ok.xlsx"
    wb.save(path)
    check_zip(path)
    check_zip(path.read_bytes())


def test_ratio_bomb_refused():
    with pytest.raises(ValidationFailed, match="zip bomb"):
        check_zip(_zip({"xl/worksheets/sheet1.xml": b" " * (4 * 1024 * 1024)}))


def test_total_and_member_limits():
    data = _zip({f"m{i}": bytes(range(256)) * 4 for i in range(20)})
    with pytest.raises(ValidationFailed, match="inflates to more than"):
        check_zip(data, max_inflated=10_000)
    with pytest.raises(ValidationFailed, match="members"):
        check_zip(data, max_members=10)
    check_zip(data)


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"not a zip at all" * 100])
def test_not_a_zip(data):
    with pytest.raises(ValidationFailed, match="not a readable zip"):
        check_zip(data)
