"""A restart decided at the visit: why the refill is one, how long the patient may have been
without drug, and whether the pump carries the over-infusion-risk flag (domain-rules §3).

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. The time without drug is
counted from the worst-case empty time (:attr:`pumpmgr.pump_forecast.PumpOutlook.
empty_at_worst_case`) to the visit; the wizard, the worksheet, the audit entry and the
stored flag all take it from :func:`restart_at_visit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from pumpmgr.forecast import STOP_RISK_HOURS, over_infusion_risk
from pumpmgr.formatting import format_datetime, format_duration
from pumpmgr.records import RefillRecord
from pumpmgr.refill import restart_reasons
from pumpmgr.units import DAY, Q_
from pumpmgr.visit_record import BedsideFindings, PumpAlarm, PumpStatus


def time_without_drug(empty_at_worst_case: datetime | None, at: datetime) -> timedelta | None:
    """From the worst-case empty time to ``at``; None when the worst case is not yet empty."""
    if empty_at_worst_case is None or empty_at_worst_case > at:
        return None
    return at - empty_at_worst_case


@dataclass(frozen=True)
class Restart:
    """A refill that is a restart (the next dose is checked as a start, §6)."""

    reasons: tuple[str, ...]
    #: the worst-case empty time, when it is at or before the visit
    empty_since: datetime | None
    #: from :attr:`empty_since` to the visit (None: the worst case is not yet empty)
    without_drug: timedelta | None
    #: ran empty (found empty, an empty-reservoir alarm) or without drug over 48 hours
    over_infusion_risk: bool

    @property
    def without_drug_hours(self) -> float | None:
        return None if self.without_drug is None else self.without_drug.total_seconds() / 3600


def restart_at_visit(
    verdict: str | None,
    bedside: BedsideFindings | None,
    *,
    first_fill: bool,
    empty_at_worst_case: datetime | None,
    at: datetime,
) -> Restart | None:
    """The restart this visit is, or None when it is not one (a first fill is a start
    already, never a restart). ``verdict`` is the residual's; ``bedside`` what the nurse
    found before the refill; ``empty_at_worst_case`` the forecast's before the refill;
    ``at`` the visit's time (same clock as the empty time)."""
    reading = None if bedside is None else bedside.interrogation
    return restart_from(
        verdict,
        empty_alarm=reading is not None and PumpAlarm.EMPTY_RESERVOIR in reading.alarms,
        stopped=reading is not None and reading.status is PumpStatus.STOPPED,
        withdrawal=bedside is not None and bedside.symptoms.withdrawal,
        first_fill=first_fill,
        empty_at_worst_case=empty_at_worst_case,
        at=at,
    )


def restart_from(
    verdict: str | None,
    *,
    empty_alarm: bool,
    stopped: bool,
    withdrawal: bool,
    first_fill: bool,
    empty_at_worst_case: datetime | None,
    at: datetime,
) -> Restart | None:
    """:func:`restart_at_visit` from the facts one by one: the pump log's empty-reservoir
    alarm, a stopped pump, withdrawal signs (``pumpmgr calc discrepancy`` gives them so)."""
    if first_fill:
        return None
    reasons = restart_reasons(
        verdict, pump_log_empty_or_stopped=empty_alarm or stopped, withdrawal_signs=withdrawal
    )
    if not reasons:
        return None
    ran_empty = verdict == "found_empty" or empty_alarm
    without = time_without_drug(empty_at_worst_case, at)
    hours = None if without is None else without.total_seconds() / 3600
    return Restart(
        reasons,
        None if without is None else empty_at_worst_case,
        without,
        over_infusion_risk(ran_empty=ran_empty, longest_stop_hours=hours),
    )


def restart_of(record: RefillRecord) -> Restart | None:
    """The restart a recorded refill was (None: not one), from what was recorded: the stored
    verdict, what the nurse found and the worst-case empty time kept with it."""
    return restart_at_visit(
        record.discrepancy_verdict,
        record.bedside,
        first_fill=record.discrepancy_verdict is None,
        empty_at_worst_case=record.empty_at_worst_case,
        at=record.performed_at,
    )


def _local(moment: datetime, tz: tzinfo | None) -> datetime:
    return moment if tz is None or moment.tzinfo is None else moment.astimezone(tz)


def _up_to(without: timedelta, since: datetime, tz: tzinfo | None) -> str:
    duration = format_duration(Q_(without.total_seconds() / 86400, DAY))
    return (
        f"up to {duration} without drug (worst-case empty from "
        f"{format_datetime(_local(since, tz))})"
    )


def without_drug_text(restart: Restart, tz: tzinfo | None = None) -> str:
    """The time without drug in the clinic's words, an aware time shown in ``tz``: 'up to
    2.5 days without drug (worst-case empty from Mon 5 May 2025 08:00)'."""
    if restart.without_drug is None or restart.empty_since is None:
        return "time without drug not known (the worst case is not yet empty)"
    return _up_to(restart.without_drug, restart.empty_since, tz)


def before_refill_text(
    empty_at_worst_case: datetime | None, at: datetime, tz: tzinfo | None = None
) -> str:
    """What the visit says before anything is drawn when the worst case is already empty
    ('' when it is not): the time without drug should this refill be a restart."""
    without = time_without_drug(empty_at_worst_case, at)
    if without is None or empty_at_worst_case is None:
        return ""
    risk = without.total_seconds() / 3600 > STOP_RISK_HOURS
    return (
        "If this refill is a restart (found empty, an empty-reservoir alarm or a stop, "
        f"or withdrawal): {_up_to(without, empty_at_worst_case, tz)}"
        + ("; over 48 h: an over-infusion risk" if risk else "")
        + "; the next dose is checked as a start."
    )


def restart_summary(restart: Restart, tz: tzinfo | None = None) -> str:
    """Why the refill is a restart, the time without drug and the over-infusion-risk flag."""
    text = f"{'; '.join(restart.reasons)}; {without_drug_text(restart, tz)}"
    if restart.over_infusion_risk:
        text += "; over-infusion risk: the pump ran empty or was without drug over 48 h"
    return text + "; the next dose is checked as a start"


def restart_text(restart: Restart | None, tz: tzinfo | None = None) -> str:
    """One line for the review and the note: 'no', or 'yes: ' and :func:`restart_summary`."""
    return "no" if restart is None else f"yes: {restart_summary(restart, tz)}"
