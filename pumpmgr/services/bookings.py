"""Refill bookings checked against the forecast (issue 16): book, move, cancel, mark a visit
attended or missed, propose the best day, and the week view's data.

Every booking is judged by :func:`pumpmgr.booking.check_booking` against the pump's stored
forecast (domain-rules §3) when it is made or moved: a past day, a closed day and a day after
the worst-case low-reservoir date or the computed empty date are refused; a day after the
refill-due date needs a reason and shows as booked too late. Every change is audited. The
database keeps at most one open booking per pump (a partial unique index).

The clinic's calendar is its open weekdays minus its closed dates: :func:`calendar_of` is the
one place the closed dates are read from the settings.

Over 600 lines: the service's checks and its week view share the calendar and the forecast's dates;
the pure booking rules are in :mod:`pumpmgr.booking`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpmgr.booking import (
    PLACE_TEXT,
    BookingCheck,
    BookingVerdict,
    ClinicCalendar,
    PumpDates,
    check_booking,
    must_be_booked_by,
    propose_day,
)
from pumpmgr.db import schema as db
from pumpmgr.db.errors import ChangedMeanwhile
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.formatting import format_date
from pumpmgr.records import (
    BookingRecord,
    ClinicSettings,
    DayPlan,
    PumpToBook,
    WeekView,
)
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor, BookingOutcome

#: A pump whose refill-due date is later than this after the week's last day has an open day
#: after the week to be booked by, unless the clinic closes for longer (then it is listed
#: when that week is shown).
_CLOSED_SPAN_DAYS = 42

Place = Literal["clinic", "home"]
PLACES: tuple[Place, ...] = ("clinic", "home")


def calendar_of(settings: ClinicSettings) -> ClinicCalendar:
    """The clinic's calendar: its open weekdays minus its closed dates (domain-rules §3)."""
    return ClinicCalendar(open_days=settings.open_days, closed_dates=settings.closed_dates)


def capacity_of(settings: ClinicSettings, place: str) -> int:
    """Visits a day the clinic has at ``place`` (clinic policy, from the settings)."""
    return settings.home_visits_per_day if place == "home" else settings.clinic_visits_per_day


def pump_dates(ctx: ClinicContext, row: db.PumpForecast | None) -> PumpDates | None:
    """The forecast's dates a booking is judged against, as clinic-local dates; None when the
    pump has no forecast (no fill or no prescription yet). The worst-case low-reservoir date
    is the earliest alarm the forecast stores: nominal, with every allowed bolus, and the
    worst case (the pump running fast, ``alarm_at_worst_case``) where the stored forecast
    carries it (domain-rules §3, the forecast work)."""
    if row is None or row.refill_due is None or row.alarm_at is None or row.empty_at is None:
        return None
    alarms = [
        a
        for a in (row.alarm_at, row.alarm_at_with_boluses, row.alarm_at_worst_case)
        if a is not None
    ]
    worst = min(alarms)
    return PumpDates(
        refill_due=row.refill_due,
        worst_case_low=worst.astimezone(ctx.tz).date(),
        empty_on=row.empty_at.astimezone(ctx.tz).date(),
    )


def late_notice(ctx: ClinicContext, session: Session, pump_id: int) -> str | None:
    """After a change that moved the pump's forecast: the words for its open booking when
    that booking is now after the refill-due date (or after the worst-case low date), else
    None. Read in the change's own unit of work, after its forecast was stored."""
    booking = session.scalars(
        select(db.Booking).where(
            db.Booking.pump_id == pump_id, db.Booking.state == db.BookingState.BOOKED
        )
    ).first()
    if booking is None:
        return None
    dates = pump_dates(ctx, session.get(db.PumpForecast, pump_id))
    if dates is None:
        return (
            f"The visit booked on {format_date(booking.day)} can no longer be checked: "
            "the pump has no forecast now; check the booking."
        )
    if booking.day <= dates.refill_due:
        return None
    return (
        f"The visit booked on {format_date(booking.day)} is now booked too late: the "
        f"refill-due date moved to {format_date(dates.refill_due)}; move the booking."
    )


def close_on_refill(ctx: ClinicContext, session: Session, actor: Actor, pump_id: int) -> None:
    """In a refill's unit of work: the pump's open booking, if any, is closed as attended
    (the visit happened), listed under ``bookings`` in the refill's audit entry."""
    row = session.scalars(
        select(db.Booking).where(
            db.Booking.pump_id == pump_id, db.Booking.state == db.BookingState.BOOKED
        )
    ).first()
    if row is None:
        return
    row.state = db.BookingState.ATTENDED
    row.changed_at, row.changed_by_id = ctx.now(), actor.id
    session.flush()
    ctx.carry(
        session,
        "bookings",
        {"booking_id": row.id, "state": {"before": "booked", "after": "attended"}},
    )


class BookingsService:
    """Refill bookings of the clinic's pumps, checked against their stored forecasts."""

    def __init__(self, ctx: ClinicContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ reads

    def booking(self, booking_id: int) -> BookingRecord:
        with self.ctx.database.read() as session:
            return self._records(session, [self._row(session, booking_id)])[0]

    def open_booking(self, pump_id: int) -> BookingRecord | None:
        """The pump's open booking (state booked), if it has one."""
        with self.ctx.database.read() as session:
            row = session.scalars(
                select(db.Booking).where(
                    db.Booking.pump_id == pump_id, db.Booking.state == db.BookingState.BOOKED
                )
            ).first()
            return None if row is None else self._records(session, [row])[0]

    def open_bookings(self) -> list[BookingRecord]:
        """Every open booking (state booked), by day and time: the calendar file's visits."""
        with self.ctx.database.read() as session:
            rows = list(
                session.scalars(
                    select(db.Booking).where(db.Booking.state == db.BookingState.BOOKED)
                )
            )
            return sorted(
                self._records(session, rows),
                key=lambda b: (b.day, b.at or time.max, b.patient, b.id),
            )

    def bookings_between(
        self,
        first: date,
        last: date,
        *,
        cancelled: bool = False,
    ) -> list[BookingRecord]:
        """Bookings from ``first`` to ``last`` (both included) by day and time; cancelled ones
        only when asked."""
        with self.ctx.database.read() as session:
            query = select(db.Booking).where(db.Booking.day >= first, db.Booking.day <= last)
            if not cancelled:
                query = query.where(db.Booking.state != db.BookingState.CANCELLED)
            rows = list(session.scalars(query.order_by(db.Booking.day, db.Booking.id)))
            return sorted(
                self._records(session, rows),
                key=lambda b: (b.day, b.at or time.max, b.patient, b.id),
            )

    def notice(self, pump_id: int) -> str | None:
        """The words for the pump's open booking when it is now too late (after a correction or
        a library edit moved the refill-due date), else None (:func:`late_notice`)."""
        with self.ctx.database.read() as session:
            return late_notice(self.ctx, session, pump_id)

    def propose(self, pump_id: int, place: Place = "clinic") -> date | None:
        """The latest open day on or before the pump's refill-due date, from today, with room
        left at ``place`` (:func:`pumpmgr.booking.propose_day`); None when there is none (the
        pump is overdue or every such day is full) or the pump has no forecast."""
        _check_place(place)
        with self.ctx.database.read() as session:
            dates = pump_dates(self.ctx, session.get(db.PumpForecast, pump_id))
            if dates is None:
                return None
            settings = self.ctx.settings(session)
            today = self.ctx.today()
            return propose_day(
                dates,
                calendar_of(settings),
                today=today,
                capacity=capacity_of(settings, place),
                booked=self._counts(session, today, dates.refill_due, place),
            )

    def week(self, start: date) -> WeekView:
        """Seven days from ``start``: each day's bookings (not cancelled), the free visits per
        place, and the active pumps with no open booking that must be booked by that day."""
        end = start + timedelta(days=6)
        bookings = self.bookings_between(start, end)
        with self.ctx.database.read() as session:
            settings = self.ctx.settings(session)
            calendar = calendar_of(settings)
            counts = {place: self._counts(session, start, end, place) for place in PLACES}
            booked_pumps = select(db.Booking.pump_id).where(
                db.Booking.state == db.BookingState.BOOKED
            )
            rows = session.execute(
                select(
                    db.PumpForecast,
                    db.Patient.id,
                    db.Patient.mrn,
                    db.Patient.family_name,
                    db.Patient.given_name,
                )
                .join(db.Pump, db.Pump.id == db.PumpForecast.pump_id)
                .join(db.Patient, db.Patient.id == db.Pump.patient_id)
                .where(
                    db.Pump.status == db.PumpStatus.ACTIVE,
                    db.Patient.status == db.PatientStatus.ACTIVE,
                    db.PumpForecast.refill_due.is_not(None),
                    db.PumpForecast.refill_due <= end + timedelta(days=_CLOSED_SPAN_DAYS),
                    db.PumpForecast.pump_id.not_in(booked_pumps),
                )
            ).all()
        pumps: dict[int, PumpToBook] = {}
        dated: list[tuple[int, PumpDates]] = []
        for forecast, patient_id, mrn, family, given in rows:
            dates = pump_dates(self.ctx, forecast)
            if dates is None:
                continue
            pumps[forecast.pump_id] = PumpToBook(
                forecast.pump_id, patient_id, mrn, f"{family.upper()}, {given}", dates.refill_due
            )
            dated.append((forecast.pump_id, dates))
        by_day: dict[date, list[PumpToBook]] = {}
        for day, ids in must_be_booked_by(dated, calendar).items():
            if day > end:
                continue
            by_day.setdefault(max(day, start), []).extend(pumps[i] for i in ids)
        days = []
        for offset in range(7):
            day = start + timedelta(days=offset)
            is_open = calendar.is_open(day)
            free: dict[str, int] = {
                place: max(0, capacity_of(settings, place) - counts[place].get(day, 0))
                if is_open
                else 0
                for place in PLACES
            }
            days.append(
                DayPlan(
                    day=day,
                    open=is_open,
                    bookings=tuple(b for b in bookings if b.day == day),
                    free=free,
                    must_book=tuple(
                        sorted(
                            by_day.get(day, []), key=lambda p: (p.refill_due, p.patient, p.pump_id)
                        )
                    ),
                )
            )
        return WeekView(start, tuple(days))

    # ------------------------------------------------------------------ actions

    def book(
        self,
        actor: Actor,
        pump_id: int,
        day: date,
        *,
        at: time | None = None,
        place: Place = "clinic",
        nurse_id: int | None = None,
        note: str = "",
        reason: str = "",
    ) -> BookingOutcome:
        """Book a refill visit for the active pump ``pump_id``, checked against its forecast
        (refused: a past or closed day, a day after the worst-case low or empty date, a second
        open booking; a day after the refill-due date or over the day's capacity needs
        ``reason``). Audited."""
        self.ctx.permit(actor, Action.BOOK_VISIT)
        _check_place(place)
        note = _text(note, "note", required=False, limit=2000)
        reason = _text(reason, "reason", required=False, limit=2000)

        def work(session: Session) -> BookingOutcome:
            pump = self.ctx.active_pump(session, pump_id)
            self._refuse_second(session, pump.id)
            check, needed = self._check(session, pump.id, day, place, reason, None)
            self._check_nurse(session, nurse_id)
            now = self.ctx.now()
            row = db.Booking(
                pump_id=pump.id,
                day=day,
                at_time=at,
                place=db.BookingPlace(place),
                nurse_id=nurse_id,
                note=note,
                state=db.BookingState.BOOKED,
                late_reason=(reason or None) if needed else None,
                booked_at=now,
                booked_by_id=actor.id,
                changed_at=now,
                changed_by_id=actor.id,
            )
            session.add(row)
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "booking.book",
                "booking",
                row.id,
                {"pump_id": pump.id, **_fields(row), "verdict": str(check.verdict)},
                reason or None,
            )
            return BookingOutcome(self._records(session, [row])[0], check)

        return self.ctx.write(work)

    def move(
        self,
        actor: Actor,
        booking_id: int,
        day: date,
        *,
        at: time | None = None,
        place: Place = "clinic",
        nurse_id: int | None = None,
        note: str | None = None,
        reason: str = "",
        version: int | None = None,
    ) -> BookingOutcome:
        """Move an open booking to ``day`` (and time, place, nurse; the note is kept unless
        given), with the same checks as :meth:`book`. Audited with what it was before."""
        self.ctx.permit(actor, Action.BOOK_VISIT)
        _check_place(place)
        reason = _text(reason, "reason", required=False, limit=2000)

        def work(session: Session) -> BookingOutcome:
            row = self._open_row(session, booking_id, version)
            self.ctx.active_pump(session, row.pump_id)
            check, needed = self._check(session, row.pump_id, day, place, reason, row.id)
            self._check_nurse(session, nurse_id)
            before = _fields(row)
            row.day, row.at_time, row.place, row.nurse_id = (
                day,
                at,
                db.BookingPlace(place),
                nurse_id,
            )
            if note is not None:
                row.note = _text(note, "note", required=False, limit=2000)
            row.late_reason = (reason or None) if needed else None
            row.changed_at, row.changed_by_id = self.ctx.now(), actor.id
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "booking.move",
                "booking",
                row.id,
                {"before": before, "after": _fields(row), "verdict": str(check.verdict)},
                reason or None,
            )
            return BookingOutcome(self._records(session, [row])[0], check)

        return self.ctx.write(work)

    def cancel(
        self, actor: Actor, booking_id: int, reason: str, version: int | None = None
    ) -> BookingRecord:
        """Cancel an open booking; ``reason`` is required. Audited."""
        self.ctx.permit(actor, Action.BOOK_VISIT)
        reason = _text(reason, "reason", limit=2000)
        return self._set_state(
            actor, booking_id, db.BookingState.CANCELLED, reason, version, "booking.cancel"
        )

    def mark_attended(self, actor: Actor, booking_id: int, note: str = "") -> BookingRecord:
        """The patient came: the open booking is closed as attended (not before its day)."""
        self.ctx.permit(actor, Action.MARK_ATTENDANCE)
        return self._set_state(
            actor,
            booking_id,
            db.BookingState.ATTENDED,
            _text(note, "note", required=False, limit=2000),
            None,
            "booking.attended",
        )

    def mark_did_not_attend(
        self,
        actor: Actor,
        booking_id: int,
        note: str = "",
    ) -> BookingRecord:
        """The patient did not come: closed as did not attend (not before its day). The pump,
        still due, goes to the top of the due list with the patient's phone and emergency
        contact until it is refilled or booked again."""
        self.ctx.permit(actor, Action.MARK_ATTENDANCE)
        return self._set_state(
            actor,
            booking_id,
            db.BookingState.DID_NOT_ATTEND,
            _text(note, "note", required=False, limit=2000),
            None,
            "booking.did_not_attend",
        )

    # ------------------------------------------------------------------ helpers

    def _set_state(
        self,
        actor: Actor,
        booking_id: int,
        state: db.BookingState,
        text: str,
        version: int | None,
        action: str,
    ) -> BookingRecord:
        def work(session: Session) -> BookingRecord:
            row = self._open_row(session, booking_id, version)
            if state is not db.BookingState.CANCELLED and row.day > self.ctx.today():
                raise ImpossibleInput(
                    f"day: the visit booked on {format_date(row.day)} is still to come; "
                    "move or cancel it instead",
                    code=Code.BOOKING_REFUSED,
                    field="day",
                )
            row.state = state
            if text and state is not db.BookingState.CANCELLED:
                row.note = f"{row.note}\n{text}".strip()
            row.changed_at, row.changed_by_id = self.ctx.now(), actor.id
            session.flush()
            self.ctx.audit(
                session,
                actor,
                action,
                "booking",
                row.id,
                {"state": {"before": "booked", "after": state.value}},
                text or None,
            )
            return self._records(session, [row])[0]

        return self.ctx.write(work)

    def _refuse_second(self, session: Session, pump_id: int) -> None:
        """Refuse a second open booking for the pump, naming who booked which day: two
        workstations booking one pump at once are serialised by the writers' lock (SQLite's
        BEGIN IMMEDIATE, PostgreSQL's advisory lock), so the second reads the first's booking
        here, before the partial unique index could refuse it."""
        existing = session.scalars(
            select(db.Booking).where(
                db.Booking.pump_id == pump_id, db.Booking.state == db.BookingState.BOOKED
            )
        ).first()
        if existing is None:
            return
        at = "" if existing.at_time is None else f" at {existing.at_time:%H:%M}"
        who = self.ctx.user_names(session).get(existing.booked_by_id, "another user")
        raise ImpossibleInput(
            f"day: {who} has already booked this pump's visit on "
            f"{format_date(existing.day)}{at} ({PLACE_TEXT[existing.place.value]}); move or "
            "cancel that booking instead",
            code=Code.BOOKING_REFUSED,
            field="day",
        )

    @staticmethod
    def _row(session: Session, booking_id: int) -> db.Booking:
        row = session.get(db.Booking, booking_id)
        if row is None:
            raise InputError(
                f"booking: there is no booking {booking_id}", code=Code.NO_VALUE, field="booking"
            )
        return row

    def _open_row(self, session: Session, booking_id: int, version: int | None) -> db.Booking:
        row = self._row(session, booking_id)
        if version is not None and row.version != version:
            raise ChangedMeanwhile(
                "booking: changed by someone else meanwhile; reload",
                code=Code.DB_CHANGED_MEANWHILE,
                field="booking",
            )
        if row.state is not db.BookingState.BOOKED:
            raise ImpossibleInput(
                f"booking: the visit of {format_date(row.day)} is already "
                f"{row.state.value.replace('_', ' ')}; book a new visit instead",
                code=Code.BOOKING_REFUSED,
                field="booking",
            )
        return row

    def _check(
        self, session: Session, pump_id: int, day: date, place: str, reason: str, moving: int | None
    ) -> tuple[BookingCheck, bool]:
        """:func:`check_booking` against the stored forecast, then the reason a late or
        over-capacity day needs; with whether the reason was needed (only then is it kept
        with the booking; the audit keeps it either way)."""
        dates = pump_dates(self.ctx, session.get(db.PumpForecast, pump_id))
        if dates is None:
            raise ImpossibleInput(
                "day: this pump has no forecast yet (no fill or no prescription recorded), so "
                "no booking can be checked against it; record them first",
                code=Code.BOOKING_REFUSED,
                field="day",
            )
        settings = self.ctx.settings(session)
        check = check_booking(day, dates, calendar_of(settings), today=self.ctx.today())
        if check.verdict is BookingVerdict.TOO_LATE and not reason:
            raise InputError(
                f"reason: {format_date(day)} is {check.words}; book on or before "
                f"{format_date(dates.refill_due)}, or give the reason for the late visit",
                code=Code.NO_VALUE,
                field="reason",
            )
        capacity = capacity_of(settings, place)
        taken = (
            session.scalar(
                select(func.count())
                .select_from(db.Booking)
                .where(
                    db.Booking.day == day,
                    db.Booking.place == db.BookingPlace(place),
                    db.Booking.state == db.BookingState.BOOKED,
                    *([db.Booking.id != moving] if moving is not None else []),
                )
            )
            or 0
        )
        if taken >= capacity and not reason:
            raise InputError(
                f"reason: the {PLACE_TEXT[place]} visits of {format_date(day)} are full "
                f"({taken} of {capacity}); choose another day, or give the reason to book "
                "one more",
                code=Code.NO_VALUE,
                field="reason",
            )
        return check, check.verdict is BookingVerdict.TOO_LATE or taken >= capacity

    @staticmethod
    def _check_nurse(session: Session, nurse_id: int | None) -> None:
        if nurse_id is None:
            return
        nurse = session.get(db.User, nurse_id)
        if nurse is None or not nurse.active or nurse.role is db.Role.ADMINISTRATOR:
            raise InputError(
                "nurse: choose an active nurse or prescriber account",
                code=Code.OUT_OF_RANGE,
                field="nurse",
            )

    def _counts(
        self,
        session: Session,
        first: date,
        last: date,
        place: str,
    ) -> dict[date, int]:
        """Open bookings per day at ``place`` from ``first`` to ``last``."""
        rows = session.execute(
            select(db.Booking.day, func.count())
            .where(
                db.Booking.day >= first,
                db.Booking.day <= last,
                db.Booking.place == db.BookingPlace(place),
                db.Booking.state == db.BookingState.BOOKED,
            )
            .group_by(db.Booking.day)
        )
        return {day: int(count) for day, count in rows}

    def _records(self, session: Session, rows: Iterable[db.Booking]) -> list[BookingRecord]:
        rows = list(rows)
        users = self.ctx.user_names(session)
        pump_ids = {r.pump_id for r in rows}
        patients = {
            pump_id: (patient_id, mrn, f"{family.upper()}, {given}")
            for pump_id, patient_id, mrn, family, given in session.execute(
                select(
                    db.Pump.id,
                    db.Patient.id,
                    db.Patient.mrn,
                    db.Patient.family_name,
                    db.Patient.given_name,
                )
                .join(db.Patient, db.Patient.id == db.Pump.patient_id)
                .where(db.Pump.id.in_(pump_ids))
            )
        }
        dues = dict(
            session.execute(
                select(db.PumpForecast.pump_id, db.PumpForecast.refill_due).where(
                    db.PumpForecast.pump_id.in_(pump_ids)
                )
            ).all()
        )
        records = []
        for row in rows:
            patient_id, mrn, name = patients[row.pump_id]
            due: date | None = dues.get(row.pump_id)
            records.append(
                BookingRecord(
                    id=row.id,
                    pump_id=row.pump_id,
                    patient_id=patient_id,
                    mrn=mrn,
                    patient=name,
                    day=row.day,
                    at=row.at_time,
                    place=row.place.value,
                    nurse=("" if row.nurse_id is None else users.get(row.nurse_id, "?")),
                    note=row.note,
                    state=row.state.value,
                    late_reason=row.late_reason or "",
                    refill_due=due,
                    too_late=(
                        row.state is db.BookingState.BOOKED and due is not None and row.day > due
                    ),
                    booked_by=users.get(row.booked_by_id, "?"),
                    booked_at=row.booked_at,
                    changed_by=users.get(row.changed_by_id, "?"),
                    changed_at=row.changed_at,
                    version=row.version,
                )
            )
        return records


def _check_place(place: str) -> None:
    if place not in PLACES:
        raise InputError(
            f"place: '{place}' is not a place; choose clinic (a clinic room) or "
            "home (a home visit)",
            code=Code.OUT_OF_RANGE,
            field="place",
        )


def _fields(row: db.Booking) -> dict[str, Any]:
    """What the audit log keeps of a booking."""
    return {
        "day": row.day.isoformat(),
        "time": None if row.at_time is None else row.at_time.strftime("%H:%M"),
        "place": row.place.value,
        "nurse_id": row.nurse_id,
        "note": row.note,
        "late_reason": row.late_reason,
    }
