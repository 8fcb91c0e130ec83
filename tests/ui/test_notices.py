"""Daylight-saving and replace-by notices (pure helpers)."""

from __future__ import annotations

from datetime import UTC, date
from zoneinfo import ZoneInfo

from test_calendar_file import row

from ui.notices import dst_notice, notices, offset_change, replace_by_notice

BERLIN = ZoneInfo("Europe/Berlin")


def test_offset_change() -> None:
    assert offset_change(BERLIN, date(2025, 10, 20)) == date(2025, 10, 26)
    assert offset_change(BERLIN, date(2026, 3, 20)) == date(2026, 3, 29)
    assert offset_change(BERLIN, date(2025, 6, 1)) is None
    assert offset_change(UTC, date(2025, 10, 20)) is None
    assert offset_change(BERLIN, date(2025, 10, 11)) is None  # 15 days ahead: not yet


def test_dst_notice_only_for_flex_schedules() -> None:
    today = date(2025, 10, 20)
    assert dst_notice([row()], BERLIN, today) is None
    found = dst_notice(
        [row(), row(flex_schedule=True, patient="KELLER, Sofia", mrn="6")], BERLIN, today
    )
    assert found is not None and [r.mrn for r in found.rows] == ["6"]
    assert found.text.startswith("The clocks change on Sun 26 Oct 2025. 1 patient on a flex")


def test_replace_by_notice() -> None:
    today = date(2025, 10, 20)
    late = row(replace_by=date(2026, 4, 21))  # 183 days ahead
    later = row(replace_by=date(2026, 4, 22))
    none = row(replace_by=None)
    found = replace_by_notice([later, late, none], today)
    assert found is not None and found.rows == (late,)
    assert [n.kind for n in notices([late], BERLIN, today)] == ["replace_by"]
