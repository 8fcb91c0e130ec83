"""The refill wizard: one refill visit, step by step as at the bedside, saved in one call.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``patient_chart``, ``check_prescription``,
``verify_second_user``, ``record_refill``; :class:`~pumpmgr.services.sheets.SheetService` for
the printed sheets), :mod:`pumpmgr.visit` (``plan_visit`` on the chart in clinic time, with
time counted on the pump's clock as the stored forecast counts it: the expected residual, the
planned fill, the new doses, the bridge and the forecast),
:mod:`pumpmgr.refill` (``discrepancy`` for the live verdict) and the wizard's steps
(:mod:`ui.wizards.refill_steps`). It does no dose arithmetic of its own.

Nothing is written before Save on the review step, which makes one
:meth:`~pumpmgr.services.ClinicService.record_refill` call (the refill, any new prescription,
the second nurse's verification, the audit entry and the new forecast, in one transaction).
Cancel at any step asks once and saves nothing; a service error is shown as a dialog and the
wizard stays where it was with everything typed.

Over 600 lines: the wizard's shared state and its review, which reads every step; the steps
themselves are in :mod:`ui.wizards.refill_steps`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from html import escape

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QWidget

from pumpmgr.errors import Code, ImpossibleInput, PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import format_date, format_datetime, format_quantity
from pumpmgr.records import ProgrammerFigures
from pumpmgr.refill import Discrepancy, discrepancy
from pumpmgr.restart import restart_at_visit, restart_text
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.clinic import RefillOutcome
from pumpmgr.services.inputs import (
    IngredientInput,
    PrescriptionInput,
    PumpSeen,
    RefillInput,
    Verification,
)
from pumpmgr.services.sheets import SheetService
from pumpmgr.units import ML, Q_, Kind
from pumpmgr.visit import VisitPlan, local_chart, plan_visit
from pumpmgr.visit_note import RecordRef
from pumpmgr.visit_record import interrogation_text, site_text, symptoms_text
from pumpmgr.wording import bolus_text, dilution_text, schedule_lines, solution_text
from ui import icons, messages, presentation
from ui.dialogs import print_preview, visit_note
from ui.window_size import within_screen
from ui.wizards import refill_checks
from ui.wizards.base import StepWizard
from ui.wizards.refill_steps.bedside import BedsideStep
from ui.wizards.refill_steps.fill import SolutionStep, VolumeStep
from ui.wizards.refill_steps.patient import PatientStep
from ui.wizards.refill_steps.program import ProgramStep, bridge_text
from ui.wizards.refill_steps.pump_checks import ProgrammerStep, PumpChecksStep
from ui.wizards.refill_steps.residual import ResidualStep
from ui.wizards.refill_steps.review import DoneStep, ReviewRow, ReviewStep
from ui.wizards.refill_steps.shared import doses_text, entered_date, mass_unit_of
from ui.wizards.refill_steps.verify import VerifyStep


def _with_dilution(solution: str, undiluted: bool | None) -> str:
    """The solution with how it was supplied, where that was recorded."""
    return solution if undiluted is None else f"{solution}, {dilution_text(undiluted)}"


class _Incomplete(Exception):
    """An input the plan needs is not complete yet (not an error of the nurse's)."""


class RefillWizard(StepWizard):
    """The refill of a patient's active pump; :meth:`run` shows it and returns the outcome."""

    def __init__(
        self, clinic: ClinicService, actor: Actor, patient_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__("Refill", parent)
        chart = clinic.patient_chart(patient_id)
        if chart.pump is None:
            raise ImpossibleInput(
                f"pump: {chart.patient.display_name} has no active pump to refill",
                code=Code.OUT_OF_RANGE,
                field="pump",
            )
        if chart.prescription is None:
            raise ImpossibleInput(
                f"prescription: the pump {chart.pump.serial_number} has no prescription yet; "
                "record it first (Change prescription)",
                code=Code.OUT_OF_RANGE,
                field="prescription",
            )
        self.setWindowIcon(icons.app_icon())
        self.clinic, self.actor, self.chart = clinic, actor, chart
        self.local = local_chart(chart, clinic.tz)
        self.pump = chart.pump
        self.constant_flow = self.pump.pump_type == "constant_flow"
        self.settings = clinic.settings()
        self.library = clinic.library()
        self.sheets = SheetService(clinic)
        self.base_plan: VisitPlan | None = None
        self.base_error = ""
        self._base_at: tuple[datetime, int | None] | None = None
        self.boluses_error = ""  #: a patient-bolus count the pump cannot have given
        self.plan: VisitPlan | None = None
        self.plan_error = ""
        self.verdict: Discrepancy | None = None
        self.verdict_error = ""
        self.verification: Verification | None = None
        self.verifier: Actor | None = None
        self.outcome: RefillOutcome | None = None
        self._loading = True
        self._touched = False

        patient = chart.patient
        self.header.setText(
            f"Refill for <b>{escape(patient.display_name)}</b> · MRN {escape(patient.mrn)} · "
            f"born {format_date(patient.date_of_birth)} · {escape(self.pump.model_name)}, "
            f"serial {escape(self.pump.serial_number)}"
        )
        self.patient = PatientStep(self)
        self.bedside = BedsideStep(self)
        self.residual = ResidualStep(self)
        self.solution = SolutionStep(self)
        self.volume = VolumeStep(self)
        self.program = ProgramStep(self)
        self.checks = PumpChecksStep(self)
        self.programmer = ProgrammerStep(self)
        self.verify_step = VerifyStep(self)
        self.review = ReviewStep(self)
        self.done_step = DoneStep(self)
        for step in (
            self.patient,
            self.bedside,
            self.residual,
            self.solution,
            self.volume,
            self.program,
            self.checks,
            self.programmer,
            self.verify_step,
            self.review,
            self.done_step,
        ):
            self.add_step(step)
        self.patient.load()
        self.recompute()
        self.patient.load()  # again: the current solution comes from the plan
        self.solution.load()
        self._loading = False
        self.recompute()
        self.go_to(0)
        self.resize(within_screen(QSize(1120, 740)))

    @classmethod
    def run(
        cls, clinic: ClinicService, actor: Actor, patient_id: int, parent: QWidget | None = None
    ) -> RefillOutcome | None:
        """Show the wizard; the saved refill's outcome, or None when cancelled."""
        wizard = cls(clinic, actor, patient_id, parent)
        wizard.exec()
        return wizard.outcome

    # ----------------------------------------------------------------- time

    def now_local(self) -> datetime:
        return self.clinic.clock.now().astimezone(self.clinic.tz).replace(tzinfo=None)

    def at(self) -> datetime:
        """The refill time: the clinic's wall-clock time (plan_visit turns it into the
        instant with the clinic's zone)."""
        return self.patient.at()

    def at_aware(self) -> datetime:
        return self.at().replace(tzinfo=self.clinic.tz)

    # ----------------------------------------------------------------- the plan

    def step_changed(self) -> None:
        if self._loading:
            return
        self._touched = True
        self.recompute()
        refresh: Callable[[], None] | None = getattr(self.current(), "refresh", None)
        if refresh is not None:
            refresh()
        self.update_buttons()

    def recompute(self) -> None:
        """The plan before anything changes (expected residual), the plan with everything
        typed so far (solution, volume, program), and the residual verdict."""
        at = self.at()
        boluses = self.bedside.patient_boluses()
        if (at, boluses) != self._base_at:
            self._base_at = at, boluses
            self.boluses_error = ""
            try:
                self.base_plan = self._base(at, boluses)
                self.base_error = ""
            except PumpMgrError as exc:
                self.base_plan, self.base_error = None, exc.message
        try:
            self.plan = self._full_plan(at)
            self.plan_error = ""
        except _Incomplete as exc:
            self.plan, self.plan_error = None, str(exc)
        except PumpMgrError as exc:
            self.plan, self.plan_error = None, exc.message
        self.verdict, self.verdict_error = None, ""
        base, aspirated = self.base_plan, self.residual.aspirated.quantity()
        if (
            base is not None
            and aspirated is not None
            and base.residual is not None
            and (base.last_refill is not None)
        ):
            try:
                # the unfloored residual and the clinic's empty threshold, as the service
                # judges it (found empty; an aspirate above the capacity needs the note)
                self.verdict = discrepancy(
                    fill_volume=base.last_refill.final_volume,
                    expected=base.residual.unfloored_residual,
                    actual=aspirated,
                    reservoir_capacity=base.pump.capacity,
                    accuracy_percent=base.pump.accuracy_percent,
                    empty_threshold=Q_(self.settings.empty_threshold_ml, ML),
                    note=self.residual.note_text(),
                )
            except PumpMgrError as exc:
                self.verdict_error = exc.message

    def _base(self, at: datetime, boluses: int | None) -> VisitPlan:
        """The plan before anything changes, with the patient boluses the programmer counts;
        a count the pump cannot have given is said on the step that asks it, and the plan
        stays without it meanwhile."""
        try:
            return plan_visit(
                self.local,
                at,
                settings=self.settings,
                drugs=self.library,
                tz=self.clinic.tz,
                patient_boluses=boluses,
            )
        except PumpMgrError as exc:
            if boluses is None or exc.field != "patient boluses":
                raise
            self.boluses_error = exc.message
            return plan_visit(
                self.local, at, settings=self.settings, drugs=self.library, tz=self.clinic.tz
            )

    def _full_plan(self, at: datetime) -> VisitPlan:
        if self.base_plan is None:
            raise _Incomplete(self.base_error)
        new_ingredients = None
        if self.solution.choice_made() != "same":
            new_ingredients = self.solution.editor.ingredients()
            if new_ingredients is None:
                problem = self.solution.editor.problem()
                raise _Incomplete(f"the new solution is not complete ({problem})")
        if self.solution.undiluted_problem():  # said as the box, not as plan_visit's field
            raise _Incomplete(self.solution.undiluted_problem())
        volume = None
        if self.volume.volume.text().strip():
            volume = self.volume.volume.quantity()
            if volume is None:
                raise _Incomplete("the volume to add is not valid")
        chart = self.local
        schedule = None
        if self.program.is_changed():
            schedule = self.program.new_schedule()
            if schedule is None:
                problem = self.program.schedule.problem()
                raise _Incomplete(f"the new program is not complete ({problem})")
            if self.program.schedule.problem():
                raise _Incomplete(self.program.schedule.problem())
            # plan_visit carries the prescription's patient bolus into the new program; a
            # bolus changed at this visit reaches it through the chart's prescription (the
            # expected residual reads chart.prescriptions, which stay as recorded).
            assert chart.prescription is not None
            chart = replace(
                chart,
                prescription=replace(
                    chart.prescription, patient_bolus=self.program.new_patient_bolus()
                ),
            )
        bolus = None  # a bridge or priming bolus leaves the reservoir at this fill
        if self.program.bridge_given.isChecked() or self.program.priming_given.isChecked():
            bolus = self.program.bolus_volume.quantity()
        # the expiry typed moves the refill-due date, said before saving (domain-rules §4)
        return plan_visit(
            chart,
            at,
            new_ingredients=new_ingredients,
            fill_volume=volume,
            new_schedule=schedule,
            settings=self.settings,
            drugs=self.library,
            tz=self.clinic.tz,
            bolus_given=bolus,
            expires_on=entered_date(self.solution.expiry),
            undiluted=self.solution.undiluted_record(),
            patient_boluses=None if self.boluses_error else self.bedside.patient_boluses(),
        )

    def new_prescription_needed(self) -> bool:
        """A new solution or program is recorded as a new prescription with the refill."""
        return self.solution.choice_made() != "same" or self.program.is_changed()

    def prescription_input(self) -> PrescriptionInput | None:
        """The new prescription from the plan (the program the pump will run), or None."""
        plan = self.plan
        if plan is None:
            return None
        return PrescriptionInput(
            ingredients=tuple(IngredientInput(i.drug, i.concentration) for i in plan.ingredients),
            schedule=plan.program.schedule,
            effective_at=self.at_aware(),
            prescriber=self.program.prescriber.text().strip(),
            patient_bolus=plan.program.patient_bolus,
            reasons=self.program.findings.reasons(),
            order=None
            if self.program.own_order()
            else self.program.order_edit.order(self.clinic.tz),
            already_programmed=self.program.order_edit.programmed.isChecked(),
            continues=self.program.first_dose.continues(),
        )

    # ----------------------------------------------------------------- second nurse

    def first_entry(self) -> refill_checks.Entry | None:
        plan, volume = self.plan, self.volume.volume.quantity()
        if plan is None or volume is None:
            return None
        return refill_checks.entry_of(plan.ingredients, volume, self.solution.lot.text())

    def _mismatches(self, step: VerifyStep) -> list[str] | None:
        first, second, plan = self.first_entry(), step.second_entry(), self.plan
        if first is None or second is None or plan is None:
            return None
        return refill_checks.mismatches(first, second, [i.drug for i in plan.ingredients])

    def verify(self, step: VerifyStep) -> bool:
        """The second nurse's password, then their entries against the first nurse's."""
        verification = Verification(step.username.text().strip(), step.password.text())
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            verifier = self.clinic.verify_second_user(self.actor, verification)
        except PumpMgrError as exc:
            step.password.clear()
            step.password.setFocus()
            step.show_message(f"Not verified: {exc.message}.")
            self.verification = self.verifier = None
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        different = self._mismatches(step)
        if different is None:
            step.show_message("The entries are not complete.")
            return False
        if different:
            self.verification = self.verifier = None
            step.show_message(
                "Does not match the first nurse's entry: " + ", ".join(different) + ". Both "
                "nurses read the syringe label and the pump again; correct the wrong entry "
                "(the first nurse goes Back to it) or retype it here. Nothing is saved until "
                "both agree."
            )
            return False
        self.verification, self.verifier = verification, verifier
        return True

    # ----------------------------------------------------------------- saving

    def refill_input(self) -> RefillInput:
        aspirated = self.residual.aspirated.quantity()
        volume = self.volume.volume.quantity()
        expiry = entered_date(self.solution.expiry)
        assert aspirated is not None and volume is not None and expiry is not None
        program = self.program
        bolus_given = program.bridge_given.isChecked() or program.priming_given.isChecked()
        plan = self.plan
        changed = plan is not None and plan.concentration_changed
        # the programmer's own figures, as the nurse copied them (none on a constant-flow pump)
        reservoir, alarm = self.programmer.reservoir.quantity(), entered_date(self.programmer.alarm)
        daily = self.programmer.daily_volume.quantity()
        return RefillInput(
            performed_at=self.at_aware(),
            aspirated=aspirated,
            volume_added=volume,
            lot_number=self.solution.lot.text().strip(),
            expiry=expiry,
            source=self.solution.source.currentText().strip(),
            needle_position_confirmed=self.checks.needle.isChecked(),
            pump_running_confirmed=self.checks.running.isChecked(),
            discrepancy_note=self.residual.note_text(),
            new_prescription=self.prescription_input() if self.new_prescription_needed() else None,
            bridge_acknowledged=changed and program.bridge_acknowledged.isChecked(),
            bridge_bolus_given=changed and program.bridge_given.isChecked(),
            priming_bolus_given=program.priming_given.isChecked(),
            bolus_volume=program.bolus_volume.quantity() if bolus_given else None,
            programmer=None
            if self.constant_flow or reservoir is None or alarm is None or daily is None
            else ProgrammerFigures(reservoir, alarm, daily),
            # the pump as the wizard read it: refused at save if refilled or reprogrammed since
            seen=PumpSeen.of(self.chart),
            bedside=self.bedside.findings_entered(),
            undiluted=self.solution.undiluted_record(),
        )

    def save(self) -> bool:
        """One record_refill call; False (and the wizard stays) when anything refuses."""
        verification = self.verification
        different = self._mismatches(self.verify_step)
        if verification is None or different is None or different:
            messages.warn(
                self,
                "Refill",
                "The second nurse's check must be done again: an entry changed after it.",
            )
            self.go_to(self.steps.index(self.verify_step))
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.outcome = self.clinic.record_refill(
                self.actor, verification, self.pump.id, self.refill_input()
            )
        except Exception as exc:  # every failure reaches the nurse; the wizard keeps it all
            QGuiApplication.restoreOverrideCursor()
            messages.show_error(self, exc, "saving the refill")
            return False
        QGuiApplication.restoreOverrideCursor()
        self.cancel_button.setVisible(False)
        return True

    # ----------------------------------------------------------------- navigation

    def can_go_back(self) -> bool:
        return self.index > 0 and self.outcome is None

    def next_text(self) -> str:
        if self.current() is self.review:
            return "&Save refill"
        if self.current() is self.done_step:
            return "&Close"
        return "&Next >"

    def update_buttons(self) -> None:
        super().update_buttons()
        # Enter must not save by accident: on the review step Save is pressed, not defaulted.
        self.next_button.setDefault(self.current() is not self.review)

    def finish(self) -> None:
        self.accept()

    def reject(self) -> None:
        """Cancel: saved refills just close; otherwise ask once, then discard everything."""
        if (
            self.outcome is not None
            or not self._touched
            or messages.confirm(
                self,
                "Cancel the refill",
                "Cancel this refill? Nothing has been saved; what was typed is discarded.",
                yes="Discard the refill",
                no="Keep working",
            )
        ):
            super().reject()

    def discard(self) -> None:
        """Close at once without asking and without saving (the window locks)."""
        QDialog.reject(self)

    # ----------------------------------------------------------------- review

    def review_rows(self) -> list[ReviewRow]:
        """Before and after, as the review step shows them."""
        base, plan, tz = self.base_plan, self.plan, self.clinic.tz
        if base is None or plan is None:
            return []
        stored = self.chart.forecast
        last = base.last_refill
        aspirated = self.residual.aspirated.quantity()
        volume = self.volume.volume.quantity()
        unit_before, unit_after = mass_unit_of(base.ingredients), mass_unit_of(plan.ingredients)
        verdict = self.verdict
        residual_after = (
            "first fill"
            if base.residual is None
            else (
                "—"
                if verdict is None
                else f"{verdict.verdict}: {presentation.signed_volume_text(verdict.difference)}"
            )
        )
        if verdict is not None and verdict.verdict == "investigate":
            residual_after += f"; note: {self.residual.note_text()}"

        def due_reason(reason: str) -> str:
            return due_reason_words(
                reason, buffer_days=plan.forecast.buffer_days, constant_flow=plan.constant_flow
            )

        rows = [
            ReviewRow(
                "Solution",
                _with_dilution(
                    solution_text(base.current_solution, self.library),
                    None if last is None else last.undiluted,
                ),
                _with_dilution(
                    solution_text(plan.ingredients, self.library), self.solution.undiluted_record()
                ),
            ),
            ReviewRow("Daily dose", doses_text(base), doses_text(plan)),
            ReviewRow(
                "Daily volume",
                format_quantity(base.program.daily_volume(), Kind.FLOW),
                format_quantity(plan.program.daily_volume(), Kind.FLOW),
            ),
            ReviewRow(
                "Schedule",
                "\n".join(schedule_lines(base.program.schedule, unit_before)),
                "\n".join(schedule_lines(plan.program.schedule, unit_after)),
            ),
            ReviewRow(
                "Patient bolus",
                bolus_text(base.program.patient_bolus, unit_before),
                bolus_text(plan.program.patient_bolus, unit_after),
            ),
            ReviewRow(
                "Reservoir",
                f"expected {presentation.volume_text(base.expected_residual, 'none')}, "
                f"aspirated {presentation.volume_text(aspirated)}",
                f"{presentation.volume_text(volume)} added, holds "
                f"{format_quantity(plan.refill.final_volume, Kind.VOLUME)}",
            ),
            ReviewRow("Residual verdict", "—", residual_after),
            ReviewRow(
                "Low-reservoir alarm",
                "none" if stored is None else presentation.datetime_text(stored.alarm_at, tz),
                format_datetime(plan.forecast.alarm_at),
            ),
            ReviewRow(
                "Refill due",
                "none"
                if stored is None
                else f"{presentation.date_text(stored.refill_due)} "
                f"({due_reason(stored.refill_due_reason)})",
                f"{format_date(plan.forecast.refill_due)} "
                f"({due_reason(plan.forecast.refill_due_reason)})",
            ),
            ReviewRow(
                "Lot, expiry, source",
                "none"
                if last is None
                else f"{last.lot_number}, expires {format_date(last.expiry)}, {last.source}",
                f"{self.solution.lot.text().strip()}, expires "
                f"{presentation.date_text(entered_date(self.solution.expiry))}, "
                f"{self.solution.source.currentText().strip()}",
            ),
        ]
        if plan.concentration_changed:
            given = "; bridge bolus programmed" if self.program.bridge_given.isChecked() else ""
            rows.append(
                ReviewRow("Bridge", "—", bridge_text(plan, self.library) + f"\nacknowledged{given}")
            )
        prescription = "unchanged"
        if self.new_prescription_needed():
            warnings = self.program.findings.reasons()
            prescription = f"new, prescribed by {self.program.prescriber.text().strip()}"
            if warnings:
                prescription += "; warnings accepted: " + "; ".join(
                    text for text in warnings.values()
                )
        found = self.bedside.findings_entered()
        rows += [
            ReviewRow(
                "Prescription", "in force", prescription, kept=not self.new_prescription_needed()
            ),
            ReviewRow("Programmer's reading before", "—", interrogation_text(found.interrogation)),
            ReviewRow("Site and pocket", "—", site_text(found.site)),
            ReviewRow("Symptoms", "—", symptoms_text(found.symptoms)),
            ReviewRow(
                "Restart",
                "—",
                restart_text(
                    restart_at_visit(
                        None if verdict is None else verdict.verdict,
                        found,
                        first_fill=base.last_refill is None,
                        empty_at_worst_case=None if stored is None else stored.empty_at_worst_case,
                        at=self.at_aware(),
                    ),
                    self.clinic.tz,
                ),
            ),
            ReviewRow(
                "Checks at the pump", "—", "needle position confirmed; pump confirmed running"
            ),
            ReviewRow("Programmer's figures", "—", self.programmer.summary()),
            ReviewRow(
                "Nurses",
                "—",
                f"{self.actor.full_name}, verified independently by "
                f"{self.verifier.full_name if self.verifier else '—'}",
            ),
        ]
        return rows

    # ----------------------------------------------------------------- printing

    def _print(self, title: str, build: Callable[[], bytes], filename: str) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:  # on the record like every print (issue 13)
            pdf = print_preview.audited(self, self.clinic, build(), title, self.chart.patient.mrn)
        except Exception as exc:  # the refill stays saved; the sheet can be printed later
            QGuiApplication.restoreOverrideCursor()
            messages.show_error(self, exc, "building the sheet")
            return
        QGuiApplication.restoreOverrideCursor()
        print_preview.preview(self, title, pdf, filename)

    def print_worksheet(self) -> None:
        outcome = self.outcome
        if outcome is None:
            return
        mrn = self.chart.patient.mrn
        self._print(
            "Completed refill worksheet",
            lambda: self.sheets.worksheet(mrn, completed_refill_id=outcome.refill.id),
            f"refill-worksheet-{mrn}-{self.at():%Y-%m-%d}.pdf",
        )

    def copy_note(self) -> visit_note.NoteDialog | None:
        """The saved refill's visit note, on the clipboard and shown."""
        outcome = self.outcome
        if outcome is None:
            return None
        return visit_note.copy_note(self, self.clinic, RecordRef("refill", outcome.refill.id))

    def print_card(self) -> None:
        mrn = self.chart.patient.mrn
        self._print(
            "Wallet card",
            lambda: self.sheets.card(mrn),
            f"wallet-card-{mrn}-{self.at():%Y-%m-%d}.pdf",
        )
