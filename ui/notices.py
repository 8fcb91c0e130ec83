"""The dashboard's notices: flex schedules before a daylight-saving change, pumps near their
replace-by date.

UI layer helper, pure: imports the standard library, :mod:`pumpmgr.records` and
:mod:`ui.presentation`. A flex schedule runs on the pump's own clock, which does not follow a
clock change by itself, so its steps fall an hour off after one (field.md §3, idea 8). A
battery pump should be replaced at least 3 months before its replace-by date; the notice comes
6 months ahead so there is time to book theatre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from pumpmgr.records import DueRow
from pumpmgr.urgency import replace_soon
from ui import presentation

#: How far ahead a daylight-saving change is announced for flex-schedule patients.
DST_NOTICE_DAYS = 14


@dataclass(frozen=True)
class Notice:
    kind: str  #: "dst" or "replace_by"
    text: str
    rows: tuple[DueRow, ...]


def offset_change(tz: tzinfo, today: date, days: int = DST_NOTICE_DAYS) -> date | None:
    """The first day within ``days`` after ``today`` whose UTC offset in ``tz`` differs from the
    day before (a daylight-saving change), or None."""

    def offset(day: date) -> timedelta | None:
        return datetime.combine(day, time(12, 0), tz).utcoffset()

    before = offset(today)
    for step in range(1, days + 1):
        day = today + timedelta(days=step)
        now = offset(day)
        if now != before:
            return day
        before = now
    return None


def dst_notice(rows: Sequence[DueRow], tz: tzinfo, today: date) -> Notice | None:
    changed = offset_change(tz, today)
    flex = tuple(r for r in rows if r.flex_schedule)
    if changed is None or not flex:
        return None
    names = ", ".join(f"{r.patient} ({r.mrn})" for r in flex)
    return Notice(
        "dst",
        f"The clocks change on {presentation.date_text(changed)}. {len(flex)} patient"
        f"{'s' if len(flex) != 1 else ''} on a flex schedule: {names}. Check each pump's clock "
        "and step times at the next visit or call them.",
        flex,
    )


def replace_by_notice(rows: Sequence[DueRow], today: date) -> Notice | None:
    soon = tuple(
        sorted(
            (r for r in rows if replace_soon(r.replace_by, today)),
            key=lambda r: (r.replace_by, r.patient),
        )
    )
    if not soon:
        return None
    names = ", ".join(f"{r.patient} ({presentation.date_text(r.replace_by)})" for r in soon)
    return Notice(
        "replace_by",
        ("1 pump reaches its" if len(soon) == 1 else f"{len(soon)} pumps reach their")
        + f" replace-by date within 6 months: {names}. Book the replacement at least 3 "
        "months ahead.",
        soon,
    )


def notices(rows: Sequence[DueRow], tz: tzinfo, today: date) -> list[Notice]:
    found = [dst_notice(rows, tz, today), replace_by_notice(rows, today)]
    return [n for n in found if n is not None]
