"""Change a pump's prescription outside a refill: live dose checks, the new daily volume, alarm
and refill-due dates as the nurse types, a second user's check, one service call.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``patient_chart``, ``check_prescription``,
``preview_forecast``, ``change_prescription``), :mod:`pumpmgr.schedule` and
:mod:`pumpmgr.dosing` (the pure daily-volume and per-drug dose functions), and the ui widgets
(:class:`~ui.widgets.schedule_edit.ScheduleEdit`, :class:`~ui.widgets.findings_panel.
FindingsPanel`, :class:`~ui.wizards.solution.SolutionEdit`).

Once the pump holds a solution its drugs and concentrations change only with the refill that
puts the new solution in (where the bridge is shown), so here the solution is shown, not
edited; a new pump awaiting its first prescription gets the solution typed too. A
constant-flow pump's dose follows its fixed flow, so once filled it has nothing to change here.

The dose checks and the forecast come from the service (the same calculation Save runs), a
short moment after the last keystroke; the daily volume from the domain at once. Blocked
findings disable Save; each warning needs a reason. Nothing is written before Save; a refused
Save shows why and keeps everything typed.

Over 600 lines: one dialog whose fields, live checks and Save share its state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from html import escape

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import Code, ImpossibleInput, PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import MassUnit, format_date, format_quantity
from pumpmgr.orders import NO_SETTINGS_TEXT, OrderState
from pumpmgr.records import Ingredient, PrescriptionRecord, StoredForecast
from pumpmgr.schedule import PatientBolus, Program, Schedule, constant_flow_program
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.clinic import PrescriptionOutcome
from pumpmgr.services.inputs import (
    IngredientInput,
    PrescriptionInput,
    PumpSeen,
    Verification,
)
from pumpmgr.units import Kind
from pumpmgr.visit import local_chart, pump_refills
from pumpmgr.wording import bolus_text, schedule_lines, solution_text, start_held_text
from ui import icons, messages, presentation
from ui.dialogs.tenfold import TenfoldDialog
from ui.tab_order import follow_layout
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList
from ui.widgets.findings_panel import FindingsPanel
from ui.widgets.first_dose_edit import FirstDoseEdit, first_drugs
from ui.widgets.order_edit import OrderEdit, complete_prescribers
from ui.widgets.schedule_edit import ScheduleEdit
from ui.window_size import within_screen
from ui.wizards.solution import SolutionEdit

#: Wait this long after the last keystroke before asking the service again.
CHECK_DELAY_MS = 250


class PrescriptionDialog(QDialog):
    """A new prescription version for the patient's active pump."""

    def __init__(
        self, clinic: ClinicService, actor: Actor, patient_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        chart = clinic.patient_chart(patient_id)
        if chart.pump is None:
            raise ImpossibleInput(
                f"pump: {chart.patient.display_name} has no active pump",
                code=Code.OUT_OF_RANGE,
                field="pump",
            )
        self.setWindowTitle("Change prescription")
        self.setWindowIcon(icons.app_icon())
        self.clinic, self.actor, self.chart = clinic, actor, chart
        self.pump = chart.pump
        self.current: PrescriptionRecord | None = chart.prescription
        self.library = clinic.library()
        self.constant_flow = self.pump.pump_type == "constant_flow"
        local = local_chart(chart, clinic.tz)
        self.filled = bool(pump_refills(local, self.pump.id))
        #: The solution cannot change here once the pump holds one.
        self.solution_fixed = self.filled and self.current is not None
        self.outcome: PrescriptionOutcome | None = None
        self.forecast: StoredForecast | None = None
        self.forecast_error = ""
        self._checked_key: object = None
        self._touched = False

        patient = chart.patient
        title = QLabel("Change prescription", self)
        title.setProperty("role", "title")
        header = QLabel(
            f"<b>{escape(patient.display_name)}</b> · MRN {escape(patient.mrn)} · "
            f"{escape(self.pump.model_name)}, serial {escape(self.pump.serial_number)}",
            self,
        )
        header.setProperty("role", "subtitle")
        header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # ---- the form (left, scrolled)
        form_page = QWidget(self)
        form_page.setObjectName("page")
        form = QVBoxLayout(form_page)
        form.setContentsMargins(0, 0, 8, 0)

        self.solution_box = QGroupBox("Solution", form_page)
        solution_layout = QVBoxLayout(self.solution_box)
        self.solution_label = QLabel(self.solution_box)
        self.solution_label.setWordWrap(True)
        self.solution_editor = SolutionEdit(self.library, self.solution_box)
        solution_layout.addWidget(self.solution_label)
        solution_layout.addWidget(self.solution_editor)
        if self.solution_fixed:
            assert self.current is not None
            self.solution_label.setText(
                f"<b>{escape(solution_text(self.current.ingredients, self.library))}</b>, in "
                "the pump. A new drug or concentration is recorded with the refill that puts "
                "it in the pump, where its bridge is shown."
            )
            self.solution_editor.hide()
        else:
            self.solution_label.setText(
                "The pump has no solution on record yet: enter the "
                "solution this prescription is for."
            )
            if self.current is not None:
                self.solution_editor.set_ingredients(self.current.ingredients)

        self.program_box = QGroupBox("Program", form_page)
        program_layout = QVBoxLayout(self.program_box)
        self.schedule = ScheduleEdit(
            self.program_box,
            mass_unit=self._mass_unit(),
            allow_patient_bolus=not self.constant_flow,
        )
        self.constant_note = QLabel(self.program_box)
        self.constant_note.setWordWrap(True)
        self.constant_note.setProperty("role", "muted")
        program_layout.addWidget(self.constant_note)
        program_layout.addWidget(self.schedule)
        if self.current is not None:
            self.schedule.set_program(self.current.schedule, self.current.patient_bolus)
        if self.constant_flow:
            self.schedule.hide()
            flow = (
                format_quantity(self.pump.nominal_flow, Kind.FLOW)
                if self.pump.nominal_flow is not None
                else "its fixed flow"
            )
            self.constant_note.setText(
                f"Constant-flow pump: it delivers {flow}; the dose is that flow times the "
                "concentration. "
                + (
                    "Change the dose with a new concentration at the next refill."
                    if self.filled
                    else ""
                )
            )
        else:
            self.constant_note.hide()

        now = clinic.clock.now().astimezone(clinic.tz).replace(tzinfo=None, second=0, microsecond=0)
        self.effective = DateEdit(
            "effective from", form_page, with_time=True, value=now, latest=now.date()
        )
        self.prescriber = QLineEdit(form_page)
        self.prescriber.setMaxLength(200)
        self.prescriber.setAccessibleName("Prescriber")
        self.prescriber.setPlaceholderText("the prescriber's account, for example Dr Roth")
        complete_prescribers(self.prescriber, clinic.orders.prescribers())
        if actor.role == "prescriber":
            self.prescriber.setText(actor.full_name)  # their own order, signed at once
        self.note = QLineEdit(form_page)
        self.note.setMaxLength(2000)
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("optional, for example 'spasms at night: +10 % evening'")
        order = QGroupBox("Order", form_page)
        order_form = QFormLayout(order)
        self.order_edit = OrderEdit(now, order)
        for text, widget in (
            ("&Effective from", self.effective),
            ("P&rescribed by", self.prescriber),
            ("N&ote", self.note),
        ):
            label = QLabel(text, order)
            label.setBuddy(widget)
            order_form.addRow(label, widget)
        self.order_edit.add_rows(order_form, order)

        #: For a drug the patient has no record of: a first dose, or the dose it continues.
        self.first_dose = FirstDoseEdit(form_page)
        self.findings = FindingsPanel("Dose checks", form_page)

        self.username = QLineEdit(form_page)
        self.username.setMaxLength(64)
        self.username.setAccessibleName("Second user's user name")
        self.password = QLineEdit(form_page)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1024)
        self.password.setAccessibleName("Second user's password")
        second = QGroupBox("Second nurse's check (their own account)", form_page)
        second_form = QFormLayout(second)
        for text, widget in (("User &name", self.username), ("Pass&word", self.password)):
            label = QLabel(text, second)
            label.setBuddy(widget)
            second_form.addRow(label, widget)

        form.addWidget(self.solution_box)
        form.addWidget(self.program_box)
        form.addWidget(self.first_dose)
        form.addWidget(order)
        form.addWidget(self.findings)
        form.addWidget(second)
        form.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(form_page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        # ---- now and if saved (right, always in view)
        self.now_fields = FieldList("Now", self)
        self.new_fields = FieldList("If saved", self)
        side = QVBoxLayout()
        side.addWidget(self.now_fields)
        side.addWidget(self.new_fields)
        side.addStretch(1)
        side_widget = QWidget(self)
        side_widget.setLayout(side)
        side_widget.setFixedWidth(side_widget.fontMetrics().height() * 27)  # grows with the text

        self.problem_label = QLabel(" ", self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setProperty("role", "error")
        self.save_button = QPushButton("Sa&ve prescription", self)
        self.save_button.setAutoDefault(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem_label, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        middle = QHBoxLayout()
        middle.addWidget(scroll, 1)
        middle.addWidget(side_widget)
        #: Hidden while the prescriber types a flagged dose again, blind (domain-rules §6).
        self._entry_panes = (scroll, side_widget)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(header)
        layout.addLayout(middle, 1)
        layout.addLayout(buttons)
        self.setStyleSheet("QPushButton:disabled { background: #e4eaec; color: #6b777c; }")

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(CHECK_DELAY_MS)
        self.timer.timeout.connect(self.recheck)
        self.schedule.changed.connect(self._typed)
        self.solution_editor.changed.connect(self._typed)
        self.first_dose.changed.connect(self._typed)
        self.effective.valueChanged.connect(self._typed)
        self.order_edit.given_as.currentIndexChanged.connect(self._update)
        self.order_edit.read_back.toggled.connect(self._update)
        self.order_edit.given_at.valueChanged.connect(lambda _value: self._update())
        for edit in (self.prescriber, self.note, self.username, self.password):
            edit.textChanged.connect(self._typed)
        self.findings.changed.connect(self._update)

        self._show_now()
        self._touched = False
        self._typed()
        self._touched = False
        self.resize(within_screen(QSize(1080, 760)))

    @classmethod
    def run(
        cls, clinic: ClinicService, actor: Actor, patient_id: int, parent: QWidget | None = None
    ) -> PrescriptionOutcome | None:
        """Show the dialog; the saved prescription's outcome, or None when cancelled."""
        dialog = cls(clinic, actor, patient_id, parent)
        dialog.exec()
        return dialog.outcome

    # ----------------------------------------------------------------- reading the form

    def _mass_unit(self) -> MassUnit:
        if self.current is not None:
            return self.current.primary.display_unit
        return "mcg"

    def ingredients(self) -> tuple[Ingredient, ...] | None:
        if self.solution_fixed:
            assert self.current is not None
            return self.current.ingredients
        return self.solution_editor.ingredients()

    def effective_at(self) -> datetime:
        """The time typed in the clinic's zone; :class:`InputError` while it is not one
        (:meth:`program` says so first)."""
        return self.effective.required_moment().replace(tzinfo=self.clinic.tz)

    def program(self) -> tuple[Program | None, str]:
        """The program typed (the domain's), or why there is none yet."""
        ingredients = self.ingredients()
        if ingredients is None:
            return None, self.solution_editor.problem()
        if self.effective.moment() is None:
            return None, (
                self.effective.error_text() or "effective from: enter when the change takes effect"
            )
        try:
            if self.constant_flow:
                if self.pump.nominal_flow is None:
                    return None, (
                        "the pump's nominal flow is not recorded: enter it in the "
                        "pump's record first"
                    )
                return constant_flow_program(
                    self.pump.nominal_flow, ingredients[0].concentration
                ), ""
            schedule: Schedule | None = self.schedule.schedule()
            if schedule is None or self.schedule.problem():
                return None, self.schedule.problem()
            bolus: PatientBolus | None = self.schedule.patient_bolus()
            return Program(ingredients[0].concentration, schedule, bolus), ""
        except PumpMgrError as exc:
            return None, exc.message

    def prescription_input(self) -> PrescriptionInput | None:
        ingredients = self.ingredients()
        program, _ = self.program()
        if ingredients is None or program is None:
            return None
        return PrescriptionInput(
            ingredients=tuple(IngredientInput(i.drug, i.concentration) for i in ingredients),
            schedule=program.schedule,
            effective_at=self.effective_at(),
            prescriber=self.prescriber.text().strip(),
            patient_bolus=program.patient_bolus,
            reasons=self.findings.reasons(),
            note=self.note.text().strip(),
            order=None if self._own_order() else self.order_edit.order(self.clinic.tz),
            already_programmed=self.order_edit.programmed.isChecked(),
            continues=self.first_dose.continues(),
            seen=PumpSeen.of(self.chart),
        )  # refused at save if the pump changed since

    def _own_order(self) -> bool:
        """The signed-in prescriber enters their own order: no record of how it was given."""
        named = self.prescriber.text().strip().lower()
        return self.actor.role == "prescriber" and named in (
            self.actor.full_name.lower(),
            self.actor.username.lower(),
        )

    # ----------------------------------------------------------------- live checks

    def _typed(self) -> None:
        self._touched = True
        unit = self._dosed_unit()
        if unit != self.schedule.mass_unit:
            self.schedule.set_mass_unit(unit)
        data = self.prescription_input()
        key = (
            None
            if data is None
            else (
                data.ingredients,
                repr(data.schedule),
                repr(data.patient_bolus),
                data.effective_at,
                repr(sorted(data.continues.items())),
            )
        )
        if key != self._checked_key:
            self._checked_key = key
            if data is None:
                self.timer.stop()
                problem = self.program()[1]
                self.findings.set_pending(
                    f"Not checked yet: {problem}." if problem else "Enter the program to check it."
                )
                self.forecast, self.forecast_error = None, ""
            else:
                self.timer.start()
        self._show_new()
        self._update()

    def _dosed_unit(self) -> MassUnit:
        ingredients = self.ingredients()
        if ingredients:
            return ingredients[0].display_unit
        key = self.solution_editor.rows[0].key() if self.solution_editor.rows else ""
        return self.library.drug(key).display_unit if key else self._mass_unit()

    def recheck(self) -> None:
        """Ask the service for the dose checks and the forecast of what is typed (nothing is
        saved)."""
        self.timer.stop()
        data = self.prescription_input()
        if data is None:
            return
        try:
            self.first_dose.set_drugs(first_drugs(self.clinic, self.pump.id, data))
            data = replace(data, continues=self.first_dose.continues())
            check = self.clinic.check_prescription(self.pump.id, data)
            self.findings.set_check(check, start_held_text(check.starts, self.library))
        except PumpMgrError as exc:
            self.findings.set_error(exc.message)
        try:
            self.forecast = self.clinic.preview_forecast(self.pump.id, data)
            self.forecast_error = ""
        except PumpMgrError as exc:
            self.forecast, self.forecast_error = None, exc.message
        self._show_new()
        self._update()

    def checking(self) -> bool:
        return self.timer.isActive()

    # ----------------------------------------------------------------- showing

    def _show_now(self) -> None:
        rx, forecast, tz = self.current, self.chart.forecast, self.clinic.tz
        if rx is None:
            self.now_fields.set_fields([("none", "Prescription", "none recorded yet", "muted")])
            return
        fields = self._program_fields(rx.ingredients, rx.program)
        if forecast is not None:
            fields += [
                (
                    "alarm",
                    "Low-reservoir alarm",
                    presentation.datetime_text(forecast.alarm_at, tz),
                    "",
                ),
                (
                    "refill due",
                    "Refill due",
                    f"{presentation.date_text(forecast.refill_due)} ({self._due_reason(forecast)})",
                    "",
                ),
            ]
        fields.append(
            (
                "since",
                "Since",
                f"{presentation.datetime_text(rx.effective_at, tz)}, {rx.prescriber}",
                "",
            )
        )
        self.now_fields.set_fields(fields)

    def _due_reason(self, forecast: StoredForecast) -> str:
        return due_reason_words(forecast.refill_due_reason, constant_flow=self.constant_flow)

    def _program_fields(
        self,
        ingredients: tuple[Ingredient, ...],
        program: Program,
    ) -> list[Field]:
        volume = program.daily_volume()
        doses = admixture_doses(volume, [(i.drug, i.concentration) for i in ingredients])
        fields: list[Field] = [
            (
                f"dose {i.drug}",
                f"{i.drug.capitalize()} daily dose",
                presentation.dose_text(doses[i.drug], i.display_unit),
                "",
            )
            for i in ingredients
        ]
        fields.append(("daily volume", "Daily volume", format_quantity(volume, Kind.FLOW), ""))
        unit = ingredients[0].display_unit
        if not program.schedule.is_simple:
            fields.append(
                ("schedule", "Schedule", "\n".join(schedule_lines(program.schedule, unit)), "")
            )
        if program.patient_bolus is not None:
            fields.append(
                ("patient bolus", "Patient bolus", bolus_text(program.patient_bolus, unit), "")
            )
            fields.append(
                (
                    "max daily",
                    "Every bolus taken",
                    format_quantity(program.max_daily_volume(), Kind.FLOW),
                    "",
                )
            )
        return fields

    def _show_new(self) -> None:
        ingredients = self.ingredients()
        program, problem = self.program()
        if ingredients is None or program is None:
            self.new_fields.set_fields(
                [("none", "If saved", f"not yet: {problem}" if problem else "not yet", "muted")]
            )
            return
        fields = self._program_fields(ingredients, program)
        tz = self.clinic.tz
        forecast = self.forecast
        if self.checking():
            fields.append(("alarm", "Low-reservoir alarm", "working it out…", "muted"))
            fields.append(("refill due", "Refill due", "working it out…", "muted"))
        elif forecast is not None:
            passed = forecast.alarm_at <= self.effective_at()
            fields += [
                (
                    "alarm",
                    "Low-reservoir alarm",
                    presentation.datetime_text(forecast.alarm_at, tz)
                    + (
                        " (the reservoir is already at or below the alarm volume: refill now)"
                        if passed
                        else ""
                    ),
                    "error" if passed else "",
                ),
                (
                    "refill due",
                    "Refill due",
                    f"{presentation.date_text(forecast.refill_due)} ({self._due_reason(forecast)})",
                    "",
                ),
            ]
        elif self.forecast_error:
            fields.append(("alarm", "Forecast", self.forecast_error, "error"))
        elif not self.filled:
            fields.append(("alarm", "Forecast", "from the first fill on", "muted"))
        self.new_fields.set_fields(fields)

    def problems(self) -> list[str]:
        found = []
        if self.solution_fixed and self.constant_flow:
            found.append(
                "a constant-flow pump's dose changes with its concentration, at the next refill"
            )
        program, problem = self.program()
        if program is None:
            found.append(problem or "the program is not complete")
        if self.first_dose.problem():
            found.append(self.first_dose.problem())
        if not self.prescriber.text().strip():
            found.append("enter who prescribed the change")
        elif not self._own_order() and self.order_edit.problem():
            found.append(self.order_edit.problem())
        if self.checking():
            found.append("the dose checks are running")
        elif program is not None and self.findings.problem():
            found.append(self.findings.problem())
        if not self.username.text().strip() or not self.password.text():
            found.append("the second nurse enters their own user name and password")
        return found

    def _update(self) -> None:
        follow_layout(self)  # the findings' reason boxes come and go
        problems = self.problems()
        self.problem_label.setText(
            "To save: "
            + problems[0]
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            if problems
            else " "
        )
        self.save_button.setEnabled(not problems)

    # ----------------------------------------------------------------- saving

    def save(self) -> bool:
        if self.checking():
            self.recheck()
        self._update()
        data = self.prescription_input()
        if not self.save_button.isEnabled() or data is None:
            return False
        if not data.already_programmed:
            confirmed = self._tenfold_confirmed(data)
            if confirmed is None:
                return False
            data = confirmed
        verification = Verification(self.username.text().strip(), self.password.text())
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.outcome = self.clinic.change_prescription(
                self.actor, verification, self.pump.id, data
            )
        except Exception as exc:  # shown to the nurse; everything typed stays
            QGuiApplication.restoreOverrideCursor()
            messages.show_error(self, exc, "saving the prescription")
            if isinstance(exc, PumpMgrError) and exc.field in {"verification", "password"}:
                self.password.clear()
                self.password.setFocus()
            return False
        QGuiApplication.restoreOverrideCursor()
        self.accept()
        return True

    def _tenfold_confirmed(self, data: PrescriptionInput) -> PrescriptionInput | None:
        """``data`` with the prescriber's blind re-entry when a finding stops it as a possible
        tenfold error (asked with the form hidden), ``data`` itself when none does; None when
        the re-entry was cancelled or could not be asked. A nurse is not asked: the service
        tells her the change is the prescriber's."""
        if self.actor.role != "prescriber":
            return data
        try:
            question = self.clinic.prescriptions.tenfold_question(self.pump.id, data)
        except PumpMgrError as exc:
            messages.show_error(self, exc, "checking the prescription")
            return None
        if question is None:
            return data
        dialog = TenfoldDialog(question, self)
        for pane in self._entry_panes:
            pane.hide()
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            confirmation = dialog.confirmation()
        finally:
            for pane in self._entry_panes:
                pane.show()
        return None if confirmation is None else replace(data, tenfold=confirmation)

    def reject(self) -> None:
        if not self._touched or messages.confirm(
            self,
            "Change prescription",
            "Close without saving? The change typed is discarded; nothing has been saved.",
            yes="Discard the change",
            no="Keep working",
        ):
            super().reject()

    def discard(self) -> None:
        """Close at once without asking and without saving (the window locks)."""
        QDialog.reject(self)

    def summary(self) -> str:
        """One line on what was saved (for the status bar)."""
        if self.outcome is None:
            return ""
        forecast = self.outcome.forecast
        text = "Prescription saved"
        if self.outcome.prescription.order_state == OrderState.AWAITING_SIGNATURE:
            text += f", {NO_SETTINGS_TEXT}"  # not to be programmed yet: say so first
        if forecast is not None:
            text += f"; refill due {format_date(forecast.refill_due)}"
        return text
