"""The printed sheets of one clinic: records from the services, PDFs from pumpmgr.reports.

Application layer: composes the clinic's services and the sheet builders; the command line and
the desktop program print through here so both produce the same pages. Times on the sheets are
the clinic's wall-clock times; the clinic's edited drug library supplies the warning signs and
the stability limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime

from pumpmgr.catalogs import Catalogs
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.records import PatientChart
from pumpmgr.reports import (
    build_compounding_sheet,
    build_due_list,
    build_history,
    build_refill_worksheet,
    build_wallet_card,
    build_worksheet_batch,
)
from pumpmgr.services.clinic import ClinicService
from pumpmgr.units import Quantity
from pumpmgr.visit import VisitPlan, local_chart, local_due_rows, plan_for_refill, plan_visit

Progress = Callable[[int, int], None]


class SheetService:
    """Every sheet by the record it is about (a medical record number, a refill, a period)."""

    def __init__(self, clinic: ClinicService) -> None:
        self.clinic = clinic

    def _now(self) -> datetime:
        return self.clinic.clock.now().astimezone(self.clinic.tz).replace(tzinfo=None)

    def _catalog(self) -> Catalogs:
        return replace(self.clinic.catalogs, drugs=self.clinic.library())

    def chart(self, mrn: str) -> PatientChart:
        """The patient's chart in the clinic's wall-clock time."""
        patient = self.clinic.find_patient(mrn)
        return local_chart(self.clinic.patient_chart(patient.id), self.clinic.tz)

    def plan(self, chart: PatientChart, at: datetime | None = None) -> VisitPlan:
        return plan_visit(chart, at or self._now(), settings=self.clinic.settings(),
                          drugs=self._catalog().drugs)

    def worksheet(self, mrn: str, *, completed_refill_id: int | None = None,
                  at: datetime | None = None) -> bytes:
        """The refill worksheet before the visit, or the completed record of a refill."""
        chart = self.chart(mrn)
        settings, catalog = self.clinic.settings(), self._catalog()
        if completed_refill_id is None:
            return build_refill_worksheet(chart, self.plan(chart, at), settings,
                                          generated_at=self._now(), catalog=catalog)
        refill = next((r for r in chart.refills if r.id == completed_refill_id), None)
        if refill is None:
            raise InputError(
                f"--completed: refill {completed_refill_id} is not one of {mrn}'s refills",
                code=Code.NO_VALUE, field="--completed",
            )
        plan = plan_for_refill(chart, refill, settings=settings, drugs=catalog.drugs)
        return build_refill_worksheet(chart, plan, settings, completed=refill,
                                      generated_at=self._now(), catalog=catalog)

    def history(self, mrn: str) -> bytes:
        return build_history(self.chart(mrn), self.clinic.settings(), generated_at=self._now(),
                             catalog=self._catalog())

    def card(self, mrn: str) -> bytes:
        return build_wallet_card(self.chart(mrn), self.clinic.settings(),
                                 generated_at=self._now(), catalog=self._catalog())

    def compounding(self, mrn: str, *, stocks: Mapping[str, Quantity] | None = None,
                    extra_volume: Quantity | None = None) -> bytes:
        chart = self.chart(mrn)
        return build_compounding_sheet(chart, self.plan(chart), self.clinic.settings(),
                                       stocks=stocks, extra_volume=extra_volume,
                                       generated_at=self._now(), catalog=self._catalog())

    def due(self, start: date, end: date) -> bytes:
        if end < start:
            raise InputError("--to: the period ends before it starts", code=Code.TIME_ORDER,
                             field="--to")
        rows = local_due_rows(self.clinic.due_list(today=start), self.clinic.tz)
        return build_due_list(rows, self.clinic.settings(), start=start, end=end,
                              generated_at=self._now())

    def day(self, day: date, progress: Progress | None = None) -> bytes:
        """The worksheets of every patient due on or before ``day``, as one file."""
        rows = [r for r in self.clinic.due_list(today=day) if r.refill_due <= day]
        visits = []
        for row in rows:
            chart = local_chart(self.clinic.patient_chart(row.patient_id), self.clinic.tz)
            if chart.prescription is None:
                continue  # a new pump awaiting its first prescription has no worksheet yet
            visits.append((chart, self.plan(chart)))
        if not visits:
            raise ImpossibleInput(f"--date: nobody is due on or before {day:%Y-%m-%d}",
                                  code=Code.OUT_OF_RANGE, field="--date")
        return build_worksheet_batch(visits, self.clinic.settings(), generated_at=self._now(),
                                     progress=progress, catalog=self._catalog())
