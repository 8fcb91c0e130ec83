"""The printed sheets of one clinic: records from the services, PDFs from pumpmgr.reports.

Application layer: composes the clinic's services and the sheet builders; the command line and
the desktop program print through here so both produce the same pages. Times on the sheets are
the clinic's wall-clock times (the plans count time on the pump's clock, as the stored forecast
does); the clinic's edited drug library supplies the warning signs and the stability limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time

from pumpmgr.catalogs import Catalogs
from pumpmgr.db.audit import chain_head
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.reports import (
    build_compounding_sheet,
    build_due_list,
    build_handoff,
    build_history,
    build_refill_worksheet,
    build_reminder_letter,
    build_wallet_card,
    build_worksheet_batch,
)
from pumpmgr.services.bookings import calendar_of
from pumpmgr.services.clinic import ClinicService
from pumpmgr.units import Quantity
from pumpmgr.visit import VisitPlan, local_chart, local_due_rows, plan_for_refill, plan_visit

Progress = Callable[[int, int], None]

#: A visit booked without a time is planned for the start of the clinic's morning (the clinic
#: records no opening hours): its worksheet's expected residual is for 08:00 that day.
UNTIMED_VISIT = time(8, 0)


class SheetService:
    """Every sheet by the record it is about (a medical record number, a refill, a period).

    Every sheet's footer prints the audit log's head (:meth:`audit_head`), read after the
    records on the sheet: a later rewrite of the log, however consistent, no longer matches
    the paper (``pumpmgr audit verify --anchor`` as printed).
    """

    def __init__(self, clinic: ClinicService) -> None:
        self.clinic = clinic

    def _now(self) -> datetime:
        return self.clinic.clock.now().astimezone(self.clinic.tz).replace(tzinfo=None)

    def _catalog(self) -> Catalogs:
        return replace(self.clinic.catalogs, drugs=self.clinic.library())

    def audit_head(self) -> str:
        """The audit log's newest entry as the footer prints it, ``812:3f2a9c01d4e5b6a7``
        (:meth:`pumpmgr.db.audit.ChainAnchor.printed`), or that the log is empty."""
        with self.clinic.database.read() as session:
            head = chain_head(session)
        return "none (the log is empty)" if head is None else head.printed()

    def chart(self, mrn: str) -> PatientChart:
        """The patient's chart in the clinic's wall-clock time."""
        patient = self.clinic.find_patient(mrn)
        return local_chart(self.clinic.patient_chart(patient.id), self.clinic.tz)

    def visit_chart(self, patient_id: int) -> PatientChart:
        """The chart a coming visit's plan and worksheet read, in the clinic's wall-clock time:
        the whole chart but for the records of the patient's earlier pumps."""
        chart = self.clinic.patient_chart(patient_id, current_pump_only=True)
        return local_chart(chart, self.clinic.tz)

    def plan(
        self,
        chart: PatientChart,
        at: datetime | None = None,
        *,
        settings: ClinicSettings | None = None,
        catalog: Catalogs | None = None,
    ) -> VisitPlan:
        """The visit plan at ``at`` (default now); ``settings`` and ``catalog`` when the caller
        has read them already."""
        return plan_visit(
            chart,
            at or self._now(),
            settings=settings or self.clinic.settings(),
            drugs=(catalog or self._catalog()).drugs,
            tz=self.clinic.tz,
        )

    def worksheet(
        self, mrn: str, *, completed_refill_id: int | None = None, at: datetime | None = None
    ) -> bytes:
        """The refill worksheet before the visit, or the completed record of a refill."""
        settings, catalog = self.clinic.settings(), self._catalog()
        if completed_refill_id is None:
            chart = self.visit_chart(self.clinic.find_patient(mrn).id)
            plan = self.plan(chart, at, settings=settings, catalog=catalog)
            return build_refill_worksheet(
                chart,
                plan,
                settings,
                generated_at=self._now(),
                catalog=catalog,
                audit_head=self.audit_head(),
            )
        chart = self.chart(mrn)
        refill = next((r for r in chart.refills if r.id == completed_refill_id), None)
        if refill is None:
            raise InputError(
                f"completed refill: refill {completed_refill_id} is not one of {mrn}'s refills",
                code=Code.NO_VALUE,
                field="completed refill",
            )
        plan = plan_for_refill(
            chart, refill, settings=settings, drugs=catalog.drugs, tz=self.clinic.tz
        )
        return build_refill_worksheet(
            chart,
            plan,
            settings,
            completed=refill,
            generated_at=self._now(),
            catalog=catalog,
            audit_head=self.audit_head(),
        )

    def history(self, mrn: str) -> bytes:
        chart = self.chart(mrn)
        return build_history(
            chart,
            self.clinic.settings(),
            generated_at=self._now(),
            catalog=self._catalog(),
            audit_head=self.audit_head(),
        )

    def card(self, mrn: str) -> bytes:
        chart = self.chart(mrn)
        return build_wallet_card(
            chart,
            self.clinic.settings(),
            generated_at=self._now(),
            catalog=self._catalog(),
            audit_head=self.audit_head(),
        )

    def reminder(self, mrn: str) -> bytes:
        """The patient's reminder letter of the pump's booked refill visit."""
        chart = self.chart(mrn)
        visit = None if chart.pump is None else self.clinic.bookings.open_booking(chart.pump.id)
        if visit is None:
            raise ImpossibleInput(
                f"MRN: {chart.patient.display_name} ({mrn}) has no refill visit booked; book "
                "the visit first, then print its reminder letter",
                code=Code.NO_VALUE,
                field="MRN",
            )
        return build_reminder_letter(
            chart,
            visit,
            self.clinic.settings(),
            generated_at=self._now(),
            catalog=self._catalog(),
            audit_head=self.audit_head(),
        )

    def handoff(self, mrn: str) -> bytes:
        """The admission hand-off sheet: what a ward must know of the patient's pump."""
        chart = self.chart(mrn)
        return build_handoff(
            chart,
            self.clinic.settings(),
            generated_at=self._now(),
            catalog=self._catalog(),
            audit_head=self.audit_head(),
        )

    def compounding(
        self,
        mrn: str,
        *,
        stocks: Mapping[str, Quantity] | None = None,
        extra_volume: Quantity | None = None,
    ) -> bytes:
        chart = self.chart(mrn)
        settings, catalog = self.clinic.settings(), self._catalog()
        return build_compounding_sheet(
            chart,
            self.plan(chart, settings=settings, catalog=catalog),
            settings,
            stocks=stocks,
            extra_volume=extra_volume,
            generated_at=self._now(),
            catalog=catalog,
            audit_head=self.audit_head(),
        )

    def due(self, start: date, end: date) -> bytes:
        if end < start:
            raise InputError(
                "end date: the period ends before it starts", code=Code.TIME_ORDER, field="end date"
            )
        rows = local_due_rows(self.clinic.due_list(today=start), self.clinic.tz)
        return build_due_list(
            rows,
            self.clinic.settings(),
            start=start,
            end=end,
            generated_at=self._now(),
            audit_head=self.audit_head(),
        )

    def next_open_day(self) -> date:
        """Today when the clinic is open, else its next open day: the day a day's worksheets
        are printed for unless another is chosen."""
        return calendar_of(self.clinic.settings()).next_open(self.clinic.today())

    def day(self, day: date, progress: Progress | None = None) -> bytes:
        """The worksheets of the visits booked on ``day``, in booked time order, each planned
        for its booked moment (the expected residual then, not at the print time), and a last
        page of the pumps due on or before ``day`` with no booking."""
        settings, catalog, now = self.clinic.settings(), self._catalog(), self._now()
        visits = []
        for booking in self.clinic.bookings.bookings_between(day, day):
            if booking.state != "booked":
                continue
            chart = self.visit_chart(booking.patient_id)
            if chart.prescription is None or chart.pump is None or chart.pump.id != booking.pump_id:
                continue  # no prescription yet, or the booked pump was replaced meanwhile
            at = datetime.combine(day, booking.at or UNTIMED_VISIT)
            visits.append((chart, self.plan(chart, at, settings=settings, catalog=catalog)))
        not_booked = local_due_rows(
            [
                r
                for r in self.clinic.due_list(today=day)
                if r.refill_due <= day and r.booked_on is None
            ],
            self.clinic.tz,
        )
        if not visits and not not_booked:
            raise ImpossibleInput(
                f"day: no visit is booked on {day:%Y-%m-%d} and nobody due by then is "
                "waiting for a booking",
                code=Code.OUT_OF_RANGE,
                field="day",
            )
        return build_worksheet_batch(
            visits,
            settings,
            generated_at=now,
            progress=progress,
            catalog=catalog,
            audit_head=self.audit_head(),
            not_booked=not_booked,
            day=day,
        )
