"""Who is called first: the due list's order by danger, over a due row's dates.

Pure layer: stdlib, :mod:`pumpmgr.forecast` and :mod:`pumpmgr.records`. The states before a refill
rank above every other (domain-rules §3, :func:`pumpmgr.forecast.state_rank`): computed empty (or a
pump past its end of service), may be empty, then alarm passed, baclofen first among those because
its withdrawal can start above the alarm volume [S21]. After the states, the soonest of the
worst-case low-reservoir date and the empty date decides, the withdrawal risk breaking ties of one
day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from pumpmgr.forecast import RefillState, due_reason_words, state_rank, stored_state
from pumpmgr.formatting import format_date
from pumpmgr.records import DueRow

#: Drugs whose withdrawal can start above the alarm volume: ranked first among equals [S21].
WITHDRAWAL_FIRST = frozenset({"baclofen"})
#: How soon a pump in none of the states before a refill is due: one wording for the window,
#: the printed due list and the command line.
DUE_STATE_WORDS = {
    "urgent": "urgent",
    "overdue": "overdue",
    "due_this_week": "due this week",
    "due_in_14_days": "due in 14 days",
    "fine": "fine",
}


def state_text(row: DueRow) -> str:
    """The row's state in words: the state before a refill where the pump is in one
    ("computed empty", "may be empty", "alarm passed"), else how soon it is due."""
    return row.refill_state.words if row.refill_state is not None else DUE_STATE_WORDS[row.state]


#: A battery pump's replace-by date is warned of from about 6 months before (domain-rules §3).
REPLACE_SOON_DAYS = 183


def replace_soon(replace_by: date | None, today: date) -> bool:
    """Whether a replace-by date is within the warning's 6 months of ``today``, or past."""
    return replace_by is not None and replace_by <= today + timedelta(days=REPLACE_SOON_DAYS)


def is_constant_flow(row: DueRow) -> bool:
    return row.pump_type == "constant_flow"


def reason_text(row: DueRow, buffer_days: int) -> str:
    """Why the row's refill is due on its date (:func:`pumpmgr.forecast.due_reason_words`)."""
    return due_reason_words(
        row.refill_due_reason, buffer_days=buffer_days, constant_flow=is_constant_flow(row)
    )


def replace_by_text(row: DueRow) -> str:
    """The replace-by date; a constant-flow pump has no battery, another may lack the date."""
    if row.replace_by is not None:
        return format_date(row.replace_by)
    return "no battery" if is_constant_flow(row) else "not recorded"


def alarm_text(row: DueRow, tz: tzinfo) -> str:
    """The alarm date in the clinic's zone ``tz``; a constant-flow pump has no alarm, only a
    planning volume date."""
    text = format_date(row.alarm_at.astimezone(tz))
    return f"{text} (planning)" if is_constant_flow(row) else text


def withdrawal_first(row: DueRow) -> bool:
    return not WITHDRAWAL_FIRST.isdisjoint(row.drug_keys)


def refill_state(row: DueRow, now: datetime) -> tuple[int, RefillState | None]:
    """The row's rank among the states before a refill at ``now``, and the state (None: none
    of them), as :func:`pumpmgr.forecast.state_rank` ranks the stored forecast's state. The
    due list keeps the state in ``DueRow.refill_state``, worked out once when it is read
    (:func:`stored_refill_state`)."""
    state = stored_refill_state(
        now=now,
        nominal_alarm_at=row.nominal_alarm_at,
        empty_at=row.empty_at,
        empty_at_worst_case=row.empty_at_worst_case,
        replace_by=row.replace_by,
    )
    return state_rank(state, baclofen=withdrawal_first(row)), state


def stored_refill_state(
    *,
    now: datetime,
    nominal_alarm_at: datetime | None,
    empty_at: datetime | None,
    empty_at_worst_case: datetime | None,
    replace_by: date | None,
) -> RefillState | None:
    """The state before a refill of a pump's stored forecast at ``now`` (a pump past its
    replace-by date counts as computed empty, domain-rules §3)."""
    return stored_state(
        now=now,
        alarm_at=nominal_alarm_at,
        empty_at=empty_at,
        empty_at_worst_case=empty_at_worst_case,
        past_end_of_service=replace_by is not None and replace_by < now.date(),
    )


def soonest_event(row: DueRow) -> datetime:
    """The earliest of the row's worst-case low-reservoir instant (else its alarm with every
    bolus, for a forecast stored before the worst case was) and its empty instant."""
    low = row.alarm_at_worst_case or row.alarm_at
    return min(low, row.empty_at) if row.empty_at is not None else low


def urgency_key(row: DueRow, tz: tzinfo) -> tuple[int, int, int, int, int, float, str]:
    """Sorts the most urgent row first: by the rank of the row's state before a refill (its
    ``refill_state``, as the due list read it: :func:`refill_state`; domain-rules §3 ranks
    these above every other state), then a missed visit of a pump still due (issue 16: the
    call list), then an urgent row (an unreviewed incident or a declined order, domain-rules
    §4a, §7), then the calendar day (in ``tz``) of :func:`soonest_event`, a withdrawal risk
    first on the same day, then the instant, then the patient's name. Equal keys are the same
    urgency."""
    soonest = soonest_event(row)
    return (
        state_rank(row.refill_state, baclofen=withdrawal_first(row)),
        0 if row.booking == "did_not_attend" else 1,
        0 if row.state == "urgent" else 1,
        soonest.astimezone(tz).date().toordinal(),
        0 if withdrawal_first(row) else 1,
        soonest.timestamp(),
        row.patient.casefold(),
    )
