"""The steps of the refill wizard, in the order of the visit at the bedside.

UI layer: imports PySide6, :mod:`pumpmgr.refill` (``discrepancy`` and ``plan_refill`` for the
live verdict and the capacity check), :mod:`pumpmgr.formatting` and the ui widgets. Every figure
shown comes from the wizard's :class:`~pumpmgr.visit.VisitPlan` (``plan_visit``) or from a pure
domain function; the steps only read what the nurse types and show the domain's answers.

1. Patient and pump: who and which pump, what is in it now; the nurse confirms.
2. Before the refill: the programmer's reading, site and pocket, symptoms
   (:mod:`ui.wizards.bedside`).
3. Residual: the expected residual, the volume aspirated, the discrepancy verdict at once.
4. Solution: the same solution, a new concentration, or a new drug or admixture; lot, expiry
   and source.
5. Volume to add, with the capacity check.
6. Program: unchanged or changed, with live dose checks; the bridge at a concentration change.
7. At the pump: needle position and pump running confirmed.
8. Programmer's figures against pumpmgr's forecast.
9. Second nurse: an independent check with their own password.
10. Review: before and after side by side; Save.
11. Done: print the completed worksheet and the wallet card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_percent,
    format_quantity,
)
from pumpmgr.records import INDICATION_TEXT, Ingredient
from pumpmgr.refill import Discrepancy, RefillPlan, plan_refill
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.units import Q_, Kind, Quantity
from pumpmgr.visit import VisitPlan
from pumpmgr.visit_record import investigate_text, programmer_check_text, tolerance_text
from ui import presentation
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList
from ui.widgets.findings_panel import FindingsPanel
from ui.widgets.order_edit import OrderEdit, complete_prescribers
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.schedule_edit import ScheduleEdit
from ui.wizards import refill_checks
from ui.wizards.base import WizardStep
from ui.wizards.solution import SolutionEdit

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard

#: Wait this long after the last keystroke before asking the service for the dose checks.
CHECK_DELAY_MS = 250
#: Where the solution came from (the nurse may type another).
SOURCES = ("pharmacy", "manufacturer (prefilled)", "compounding service")

SolutionChoice = Literal["same", "concentration", "drug"]


def _role(widget: QWidget, role: str) -> None:
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def _label(text: str, parent: QWidget, role: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label


class Confirm(QWidget):
    """A tick box with a short statement and, beneath it, what exactly is confirmed (wrapped,
    so a long sentence never widens the step)."""

    def __init__(self, text: str, explanation: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.box = QCheckBox(text, self)
        self.box.setAccessibleName(text.replace("&", ""))
        self.box.setAccessibleDescription(explanation)
        font = self.box.font()
        font.setBold(True)
        self.box.setFont(font)
        self.explanation = _label(explanation, self, "muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(0)
        layout.addWidget(self.box)
        indent = QHBoxLayout()
        indent.addSpacing(24)
        indent.addWidget(self.explanation, 1)
        layout.addLayout(indent)


def entered_date(edit: DateEdit) -> date | None:
    """The date entered, or None while the box is empty or its text is not a date."""
    return edit.day()


def date_problem(edit: DateEdit, missing: str) -> str | None:
    """Why the date box holds no date: its own message, or ``missing`` when it is empty."""
    if edit.day() is not None:
        return None
    return edit.error_text() or missing


class ShownFields(FieldList):
    """A field list that rebuilds its lines only when they change (typing re-plans the visit
    on every key)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.shown: list[Field] | None = None

    def show_fields(self, values: list[Field]) -> None:
        if values != self.shown:
            self.set_fields(values)
            self.shown = list(values)


def _lines_high(edit: QPlainTextEdit, lines: int) -> int:
    """The height showing ``lines`` lines of text in the edit's font."""
    margin = round(edit.document().documentMargin())
    return edit.fontMetrics().lineSpacing() * lines + 2 * (margin + edit.frameWidth())


def _table_height(table: QTableWidget, rows: int) -> int:
    """The height showing the header and ``rows`` rows in the table's font and style."""
    table.ensurePolished()
    return (table.horizontalHeader().sizeHint().height()
            + rows * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth() + 2)


def mass_unit_of(ingredients: tuple[Ingredient, ...]) -> Literal["mcg", "mg"]:
    return ingredients[0].display_unit if ingredients else "mcg"


def doses_text(plan: VisitPlan) -> str:
    return " + ".join(
        f"{d.ingredient.drug} {presentation.dose_text(d.daily_dose, d.ingredient.display_unit)}"
        for d in plan.doses)


# ==================================================================== 1. patient and pump


class PatientStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Patient and pump", "Check the patient against their wristband or ID "
                         "and the pump against the programmer's interrogation.")
        self.wizard = wizard
        self.patient_fields = FieldList("Patient", self)
        self.pump_fields = FieldList("Pump", self)
        self.now_fields = FieldList("In the pump now", self)
        self.refill_time = DateEdit("refill time", self, with_time=True)
        #: The refill time as loaded (now), and the last fill it must follow (if any).
        self._loaded_at: datetime | None = None
        self._last_fill: datetime | None = None
        self.refill_time.line_edit.setToolTip(
            "When the refill is done (clinic time, 24-hour clock). Change it only when "
            "recording a refill done earlier.")
        confirm = Confirm("&Patient and pump confirmed",
                          "Name, date of birth and MRN checked with the patient; pump model "
                          "and serial number match the programmer's interrogation.", self)
        self.confirmed = confirm.box
        time_row = QHBoxLayout()
        time_label = QLabel("Refill &time", self)
        time_label.setBuddy(self.refill_time)
        time_label.setProperty("role", "fieldname")
        time_row.addWidget(time_label)
        time_row.addWidget(self.refill_time)
        time_row.addWidget(_label("clinic time, 24-hour clock", self, "muted"), 1)
        grid = QGridLayout()
        grid.addWidget(self.patient_fields, 0, 0)
        grid.addWidget(self.pump_fields, 0, 1)
        grid.addWidget(self.now_fields, 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        #: A pump computed empty, maybe empty or past its alarm: said first (domain-rules §3).
        self.state_notice = _label("", self, "alert")
        self.state_notice.hide()
        self.body.addWidget(self.state_notice)
        self.body.addLayout(grid)
        self.body.addLayout(time_row)
        self.body.addWidget(confirm)
        self.body.addStretch(1)
        self.confirmed.toggled.connect(self.changed)
        self.refill_time.valueChanged.connect(self.changed)

    def load(self) -> None:
        """Show the chart's patient, pump and current solution; the refill time is now."""
        wizard = self.wizard
        chart, pump = wizard.local, wizard.pump
        patient = chart.patient
        today = wizard.clinic.today()
        age = today.year - patient.date_of_birth.year - (
            (today.month, today.day) < (patient.date_of_birth.month, patient.date_of_birth.day))
        fields: list[Field] = [
            ("name", "Name", patient.display_name, ""),
            ("mrn", "MRN", patient.mrn, ""),
            ("born", "Born", f"{format_date(patient.date_of_birth)} ({age} years)", ""),
            ("indication", "Indication",
             INDICATION_TEXT.get(patient.indication, patient.indication), ""),
        ]
        if patient.renal_impairment:
            fields.append(("renal", "Flag", "renal impairment", "error"))
        self.patient_fields.set_fields(fields)
        self.pump_fields.set_fields([
            ("model", "Model", pump.model_name, ""),
            ("serial", "Serial number", pump.serial_number, ""),
            ("implanted", "Implanted", f"{format_date(pump.implanted_on)}, {pump.site}", ""),
            ("capacity", "Reservoir", f"{format_quantity(pump.capacity, Kind.VOLUME)}; alarm at "
             f"{format_quantity(pump.alarm_volume, Kind.VOLUME)}", ""),
        ])
        base = wizard.base_plan
        now: list[Field] = []
        if base is not None:
            now.append(("solution", "Solution", presentation.solution_text(
                base.current_solution), ""))
            now.append(("dose", "Daily dose", doses_text(base), ""))
            now.append(("daily volume", "Daily volume",
                        format_quantity(base.current_program.daily_volume(), Kind.FLOW), ""))
            last = base.last_refill
            now.append(("last fill", "Last fill", "none: this is the pump's first fill"
                        if last is None else f"{format_datetime(last.performed_at)}, "
                        f"{format_quantity(last.final_volume, Kind.VOLUME)}", ""))
            if last is not None and last.discrepancy_verdict == "investigate":
                said = investigate_text(last.performed_at.date(), last.discrepancy_difference,
                                        last.discrepancy_note)
                now.append(("last residual", "Last residual", said[0].upper() + said[1:],
                            "error"))
        self.now_fields.set_fields(now)
        notice = "" if base is None else presentation.before_refill_notice(
            base.state, base.may_have_run_dry_at)
        self.state_notice.setText(notice)
        self.state_notice.setVisible(bool(notice))
        at = wizard.now_local().replace(second=0, microsecond=0)
        self._loaded_at = at
        self._last_fill = None if base is None or base.last_refill is None else (
            base.last_refill.performed_at.replace(second=0, microsecond=0))
        self.refill_time.set_range(None if self._last_fill is None else self._last_fill.date(),
                                   at.date())
        self.refill_time.set_value(at)

    def at(self) -> datetime:
        """The refill time typed: the clinic's wall-clock time, without a zone. While the
        text is not a time within its limits (:meth:`problems` says why, and the step
        cannot be left), the time the step was loaded with."""
        typed = self.refill_time.moment()
        if typed is not None and not self._time_problem(typed):
            return typed
        assert self._loaded_at is not None, "load() first"
        return self._loaded_at

    def _time_problem(self, typed: datetime) -> str:
        if self._loaded_at is not None and typed > self._loaded_at:
            return (f"refill time: {format_datetime(typed)} is in the future; the latest is "
                    f"now, {format_datetime(self._loaded_at)}")
        if self._last_fill is not None and typed <= self._last_fill:
            return (f"refill time: {format_datetime(typed)} is not after the last fill, "
                    f"{format_datetime(self._last_fill)}")
        return ""

    def problems(self) -> list[str]:
        found = []
        typed = self.refill_time.moment()
        if typed is None:
            found.append(date_problem(self.refill_time, "refill time: enter when the refill "
                                      "is done") or "")
        elif self._time_problem(typed):
            found.append(self._time_problem(typed))
        if self.wizard.base_plan is None:
            found.append(f"pumpmgr cannot plan this refill: {self.wizard.base_error}")
        if not self.confirmed.isChecked():
            found.append("tick 'Patient and pump confirmed'")
        return found

    def first_input(self) -> QWidget | None:
        return self.confirmed


# ==================================================================== 2. residual


class ResidualStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Residual", "Aspirate the reservoir completely and enter the volume "
                         "drawn back. pumpmgr compares it at once with the residual it "
                         "expects.")
        self.wizard = wizard
        self.expected_fields = FieldList("Expected residual now", self)
        self.aspirated = QuantityEdit(Kind.VOLUME, "aspirated volume", self, example="3.4 mL")
        self.verdict = _label(" ", self)
        self.verdict.setAccessibleName("Residual verdict")
        font = self.verdict.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.verdict.setFont(font)
        self.details = _label(" ", self)
        self.meaning = _label(" ", self, "muted")
        self.note_label = QLabel("&What was found (pocket, pump interrogation, what was done)",
                                 self)
        self.note_label.setProperty("role", "fieldname")
        self.note = QPlainTextEdit(self)
        self.note.setTabChangesFocus(True)
        self.note.setAccessibleName("Discrepancy note")
        self.note.setPlaceholderText("for example: pocket checked, no swelling; pump "
                                     "interrogated, no alarms; recheck at the next refill")
        self.note.setFixedHeight(_lines_high(self.note, 5))
        self.note_label.setBuddy(self.note)
        self.notes = _label(" ", self, "muted")
        entry = QFormLayout()
        entry_label = QLabel("&Aspirated volume", self)
        entry_label.setBuddy(self.aspirated.line_edit)
        entry.addRow(entry_label, self.aspirated)
        self.body.addWidget(self.expected_fields)
        self.body.addLayout(entry)
        self.body.addWidget(self.verdict)
        self.body.addWidget(self.details)
        self.body.addWidget(self.meaning)
        self.body.addWidget(self.note_label)
        self.body.addWidget(self.note)
        self.body.addWidget(self.notes)
        self.body.addStretch(1)
        self.aspirated.line_edit.textChanged.connect(self.changed)
        self.note.textChanged.connect(self.changed)

    def enter(self) -> None:
        plan = self.wizard.base_plan
        if plan is None:
            return
        threshold = format_quantity(plan.threshold, Kind.VOLUME)
        accuracy = ("not known" if plan.accuracy_percent is None
                    else "±" + format_percent(plan.accuracy_percent / 100, signed=False))
        if plan.residual is None or plan.last_refill is None:
            self.expected_fields.set_fields([
                ("expected", "Expected residual", "none: first fill of this pump; enter the "
                 "volume aspirated (0 mL for a new, empty pump)", "")])
        else:
            residual, last = plan.residual, plan.last_refill
            self.expected_fields.set_fields([
                ("last fill", "Last fill", f"{format_datetime(last.performed_at)}, "
                 f"{format_quantity(last.final_volume, Kind.VOLUME)}", ""),
                ("elapsed", "Since then", format_duration(_days(residual.elapsed_days)), ""),
                ("infused", "Delivered by the program",
                 format_quantity(residual.infused, Kind.VOLUME), ""),
                ("extra", "Drawn by boluses", format_quantity(residual.extra_volume,
                                                              Kind.VOLUME), ""),
                ("expected", "Expected residual", format_quantity(residual.expected_residual,
                                                                  Kind.VOLUME), "title"),
                ("threshold", "Investigate when", f"the difference is over {threshold} "
                 f"(reservoir {format_quantity(plan.pump.capacity, Kind.VOLUME)}) or the "
                 f"delivery error is over the labelled accuracy ({accuracy})", ""),
            ])
        self.notes.setText("\n".join(plan.notes))
        self.refresh()

    def refresh(self) -> None:
        wizard = self.wizard
        verdict, error = wizard.verdict, wizard.verdict_error
        plan = wizard.base_plan
        # found empty ranks above investigate; both need the nurse's note (domain-rules §4)
        investigate = verdict is not None and verdict.verdict in ("investigate", "found_empty")
        if error:
            self.verdict.setText(f"Cannot judge: {error}")
            _role(self.verdict, "error")
            self.details.setText(" ")
            self.meaning.setText(" ")
        elif plan is not None and plan.residual is None and self.aspirated.quantity() is not None:
            self.verdict.setText("First fill: nothing to compare")
            _role(self.verdict, "")
            self.details.setText(" ")
            self.meaning.setText(" ")
        elif verdict is None:
            self.verdict.setText(" ")
            self.details.setText(" ")
            self.meaning.setText(" ")
        else:
            self.verdict.setText(
                "FOUND EMPTY: the reservoir was empty" if verdict.verdict == "found_empty"
                else "INVESTIGATE: the residual is outside what is expected"
                if investigate else "Residual OK: within the threshold")
            _role(self.verdict, "error" if investigate else "")
            self.details.setText(discrepancy_details(verdict))
            self.meaning.setText(" ".join((*verdict.warnings, verdict.meaning)))
        self.note_label.setText(
            "&What was found (required: the patient's condition)"
            if verdict is not None and verdict.verdict == "found_empty" else
            "&What was found (required: the residual says investigate)"
            if investigate else "&What was found (optional)")
        _role(self.note_label, "error" if investigate and not self.note_text() else "fieldname")

    def note_text(self) -> str:
        return self.note.toPlainText().strip()

    def problems(self) -> list[str]:
        found = []
        if not self.aspirated.text().strip():
            found.append("enter the aspirated volume")
        elif self.aspirated.quantity() is None:
            found.append(self.aspirated.error_text())
        elif self.wizard.verdict_error:
            found.append(self.wizard.verdict_error)
        verdict = self.wizard.verdict
        if verdict is not None and verdict.verdict == "found_empty" and not self.note_text():
            found.append("write the patient's condition: the reservoir was found empty")
        elif verdict is not None and verdict.verdict == "investigate" and not self.note_text():
            found.append("write what was found: the residual says investigate")
        return found

    def first_input(self) -> QWidget | None:
        return self.aspirated


def _days(days: float) -> Quantity:
    return Q_(days, "day")


def discrepancy_details(verdict: Discrepancy) -> str:
    parts = [f"Expected minus aspirated: {presentation.signed_volume_text(verdict.difference)} "
             f"(threshold {format_quantity(verdict.threshold, Kind.VOLUME)})"]
    if verdict.delivery_error is not None:
        text = f"delivery error {format_percent(verdict.delivery_error)}"
        if verdict.accuracy_percent is not None:
            text += (" (labelled accuracy ±"
                     f"{format_percent(verdict.accuracy_percent / 100, signed=False)})")
        parts.append(text)
    return "; ".join(parts) + "."


# ==================================================================== 3. solution


class SolutionStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Solution", "Which solution goes into the pump, from the syringe "
                         "label: drug, concentration, lot, expiry.")
        self.wizard = wizard
        self.same = QRadioButton(self)
        self.new_concentration = QRadioButton("New &concentration of the same drug(s)", self)
        self.new_drug = QRadioButton("New &drug or admixture", self)
        self.choice = QButtonGroup(self)
        for button in (self.same, self.new_concentration, self.new_drug):
            self.choice.addButton(button)
        self.same.setChecked(True)
        self.editor = SolutionEdit(wizard.library, self)
        self.constant_note = _label("Constant-flow pump: the dose changes only with the "
                                    "concentration (the flow is fixed). The new dose is shown "
                                    "on the Program step.", self, "muted")
        self.lot = QLineEdit(self)
        self.lot.setMaxLength(64)
        self.lot.setAccessibleName("Lot number")
        self.lot.setPlaceholderText("as printed on the syringe or vial label")
        self.expiry = DateEdit("expiry", self, missing="not entered", month_is_last_day=True)
        self.expiry.line_edit.setToolTip("The expiry or beyond-use date from the label; a "
                                         "month and year (Apr 2027) is its last day")
        self.source = QComboBox(self)
        self.source.setEditable(True)
        self.source.addItems(SOURCES)
        self.source.setAccessibleName("Source")
        choices = QVBoxLayout()
        for button in (self.same, self.new_concentration, self.new_drug):
            choices.addWidget(button)
        label_form = QFormLayout()
        for text, widget in (("&Lot number", self.lot), ("E&xpiry", self.expiry),
                             ("S&ource", self.source)):
            label = QLabel(text, self)
            label.setBuddy(widget)
            label_form.addRow(label, widget)
        label_box = QGroupBox("Label of the solution", self)
        label_box.setLayout(label_form)
        self.body.addLayout(choices)
        self.body.addWidget(self.editor)
        self.body.addWidget(self.constant_note)
        self.body.addWidget(label_box)
        self.body.addStretch(1)
        self.choice.buttonToggled.connect(self._choice_changed)
        self.editor.changed.connect(self.changed)
        self.lot.textChanged.connect(self.changed)
        self.expiry.valueChanged.connect(self.changed)
        self.source.currentTextChanged.connect(self.changed)

    def load(self) -> None:
        plan = self.wizard.base_plan
        if plan is not None:
            self.same.setText("&Same solution as in the pump: "
                              + presentation.solution_text(plan.current_solution))
        self.expiry.set_range(self.wizard.at().date(), None)
        self.expiry.set_value(None)
        self.constant_note.setVisible(self.wizard.pump.pump_type == "constant_flow")
        self._choice_changed()

    def enter(self) -> None:
        # a solution must not expire before the refill day (it may change on step 1)
        self.expiry.set_range(self.wizard.at().date(), None)

    def choice_made(self) -> SolutionChoice:
        if self.new_concentration.isChecked():
            return "concentration"
        if self.new_drug.isChecked():
            return "drug"
        return "same"

    def _choice_changed(self) -> None:
        choice = self.choice_made()
        plan = self.wizard.base_plan
        self.editor.setVisible(choice != "same")
        if plan is not None and choice != "same":
            self.editor.set_ingredients(plan.current_solution,
                                        drugs_locked=choice == "concentration",
                                        keep_concentrations=False)
        self.changed.emit()

    def new_ingredients(self) -> tuple[Ingredient, ...] | None:
        """The new solution typed (None: the same solution, or not complete yet)."""
        if self.choice_made() == "same":
            return None
        return self.editor.ingredients()

    def problems(self) -> list[str]:
        found = []
        if self.choice_made() != "same" and self.editor.problem():
            found.append(self.editor.problem())
        if not self.lot.text().strip():
            found.append("enter the lot number from the label")
        problem = date_problem(self.expiry, "enter the expiry date from the label")
        if problem:
            found.append(problem)
        if not self.source.currentText().strip():
            found.append("say where the solution came from")
        return found

    def first_input(self) -> QWidget | None:
        return self.same if self.same.isChecked() else self.editor


# ==================================================================== 4. volume


class VolumeStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Volume to add", "The volume injected into the emptied reservoir. "
                         "pumpmgr checks it against the reservoir's capacity and alarm "
                         "volume.")
        self.wizard = wizard
        self.reservoir_fields = FieldList("Reservoir", self)
        self.volume = QuantityEdit(Kind.VOLUME, "volume to add", self)
        self.result = _label(" ", self)
        self.result.setAccessibleName("Capacity check")
        self.forecast_fields = ShownFields("If all goes to plan", self)
        form = QFormLayout()
        label = QLabel("&Volume to add", self)
        label.setBuddy(self.volume.line_edit)
        form.addRow(label, self.volume)
        self.body.addWidget(self.reservoir_fields)
        self.body.addLayout(form)
        self.body.addWidget(self.result)
        self.body.addWidget(self.forecast_fields)
        self.body.addWidget(_label("With the program as it stands; the Program step may "
                                   "change it.", self, "muted"))
        self.body.addStretch(1)
        self.volume.line_edit.textChanged.connect(self.changed)
        self._filled = False

    def enter(self) -> None:
        pump = self.wizard.pump
        if not self._filled:
            self.volume.set_quantity(pump.capacity)
            self._filled = True
        aspirated = self.wizard.residual.aspirated.quantity()
        self.reservoir_fields.set_fields([
            ("capacity", "Capacity", format_quantity(pump.capacity, Kind.VOLUME), ""),
            ("alarm", "Low-reservoir alarm volume" if pump.pump_type != "constant_flow"
             else "Planning volume", format_quantity(pump.alarm_volume, Kind.VOLUME), ""),
            ("aspirated", "Aspirated (discard)", presentation.volume_text(aspirated), ""),
        ])
        self.refresh()

    def capacity_check(self) -> tuple[RefillPlan | None, str]:
        volume = self.volume.quantity()
        aspirated = self.wizard.residual.aspirated.quantity()
        if volume is None or aspirated is None:
            return None, ""
        pump = self.wizard.pump
        try:
            return plan_refill(reservoir_capacity=pump.capacity, aspirated=aspirated,
                               alarm_volume=pump.alarm_volume, fill_volume=volume), ""
        except PumpMgrError as exc:
            return None, exc.message

    def refresh(self) -> None:
        planned, error = self.capacity_check()
        if error:
            self.result.setText(f"Not possible: {error}")
            _role(self.result, "error")
        elif planned is not None:
            self.result.setText(
                f"After the refill the reservoir holds "
                f"{format_quantity(planned.final_volume, Kind.VOLUME)} (capacity "
                f"{format_quantity(self.wizard.pump.capacity, Kind.VOLUME)}). Waste: "
                f"{format_quantity(planned.waste, Kind.VOLUME)} aspirated.")
            _role(self.result, "")
        else:
            self.result.setText(" ")
        self.forecast_fields.show_fields(forecast_fields(self.wizard))

    def problems(self) -> list[str]:
        if not self.volume.text().strip():
            return ["enter the volume to add"]
        if self.volume.quantity() is None:
            return [self.volume.error_text()]
        error = self.capacity_check()[1]
        return [error] if error else []

    def first_input(self) -> QWidget | None:
        return self.volume


def forecast_fields(wizard: RefillWizard) -> list[Field]:
    """The forecast of the full plan (new solution, volume and program), or why there is none
    yet."""
    plan = wizard.plan
    if plan is None:
        return [("none", "Forecast", f"not yet: {wizard.plan_error}" if wizard.plan_error
                 else "not yet", "muted")]
    outlook = plan.forecast
    constant = plan.constant_flow
    reason = due_reason_words(outlook.refill_due_reason, buffer_days=outlook.buffer_days,
                              constant_flow=constant)
    fields: list[Field] = [
        ("daily volume", "Daily volume", format_quantity(outlook.daily_volume, Kind.FLOW), ""),
        ("alarm", "Planning volume reached" if constant else "Low-reservoir alarm",
         f"{format_date(outlook.alarm_at)} {outlook.alarm_at:%H:%M}", ""),
    ]
    if outlook.alarm_at_with_boluses != outlook.alarm_at:
        fields.append(("alarm with boluses", "Alarm, every bolus taken",
                       f"{format_date(outlook.alarm_at_with_boluses)} "
                       f"{outlook.alarm_at_with_boluses:%H:%M}", ""))
    fields.append(("refill due", "Refill due", f"{format_date(outlook.refill_due)} ({reason})",
                   ""))
    return fields


# ==================================================================== 5. program


class ProgramStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Program", "Keep the program, or enter the new one from the "
                         "prescription. The dose checks run as you type.")
        self.wizard = wizard
        self.current_fields = FieldList("Program now", self)
        self.unchanged = QRadioButton("Program unchan&ged", self)
        self.changed_radio = QRadioButton("Program c&hanged (new prescription)", self)
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.unchanged)
        self.mode.addButton(self.changed_radio)
        self.unchanged.setChecked(True)
        self.constant_note = _label("Constant-flow pump: there is no program to change. The "
                                    "dose follows the concentration at the pump's fixed flow.",
                                    self, "muted")
        self.schedule = ScheduleEdit(self)
        self.prescriber = QLineEdit(self)
        self.prescriber.setMaxLength(200)
        self.prescriber.setAccessibleName("Prescriber")
        self.prescriber.setPlaceholderText("the prescriber's account, for example Dr Roth")
        complete_prescribers(self.prescriber, wizard.clinic.orders.prescribers())
        if wizard.actor.role == "prescriber":
            self.prescriber.setText(wizard.actor.full_name)  # their own order, signed at once
        self.prescriber_row = QWidget(self)
        prescriber_layout = QFormLayout(self.prescriber_row)
        prescriber_layout.setContentsMargins(0, 0, 0, 0)
        prescriber_label = QLabel("P&rescribed by", self.prescriber_row)
        prescriber_label.setBuddy(self.prescriber)
        prescriber_layout.addRow(prescriber_label, self.prescriber)
        self.order_edit = OrderEdit(wizard.clinic.clock.now().astimezone(wizard.clinic.tz),
                                    self.prescriber_row)
        self.order_edit.add_rows(prescriber_layout, self.prescriber_row)
        # the step is taller with the order's rows: scrolled, never squeezed below the
        # inputs' natural height (large text)
        content = self.scroll_area.widget()
        content.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.after_fields = ShownFields("After this refill", self)
        self.findings = FindingsPanel("Dose checks of the new prescription", self)

        self.bridge_box = QGroupBox("Concentration change: the bridge", self)
        self.bridge_text = _label(" ", self.bridge_box)
        self.bridge_text.setAccessibleName("Bridge")
        acknowledge = Confirm("Bridge ac&knowledged",
                              "I have read the bridge above (or why none can be given) and "
                              "follow the prescriber's order for it.", self.bridge_box)
        self.bridge_acknowledged = acknowledge.box
        self.bridge_given = QCheckBox("Bridge bolus programmed on the pump", self.bridge_box)
        bridge_layout = QVBoxLayout(self.bridge_box)
        bridge_layout.addWidget(self.bridge_text)
        bridge_layout.addWidget(acknowledge)
        bridge_layout.addWidget(self.bridge_given)

        self.priming_box = QGroupBox("First fill: priming", self)
        self.priming_text = _label(" ", self.priming_box)
        self.priming_given = QCheckBox("Priming bolus given (under medical supervision)",
                                       self.priming_box)
        priming_layout = QVBoxLayout(self.priming_box)
        priming_layout.addWidget(self.priming_text)
        priming_layout.addWidget(self.priming_given)
        self.bolus_volume = QuantityEdit(Kind.VOLUME, "bolus volume", self, example="0.22 mL")
        self.bolus_row = QWidget(self)
        bolus_layout = QFormLayout(self.bolus_row)
        bolus_layout.setContentsMargins(0, 0, 0, 0)
        bolus_layout.addRow("Volume the bolus drew from the reservoir (optional)",
                            self.bolus_volume)

        modes = QHBoxLayout()
        modes.addWidget(self.unchanged)
        modes.addWidget(self.changed_radio)
        modes.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.current_fields, 1)
        top.addWidget(self.after_fields, 1)
        self.body.addLayout(top)
        self.body.addLayout(modes)
        self.body.addWidget(self.constant_note)
        self.body.addWidget(self.schedule)
        self.body.addWidget(self.prescriber_row)
        self.body.addWidget(self.findings)
        self.body.addWidget(self.bridge_box)
        self.body.addWidget(self.priming_box)
        self.body.addWidget(self.bolus_row)
        self.body.addStretch(1)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(CHECK_DELAY_MS)
        self.timer.timeout.connect(self.run_check)
        self._checked_key: object = None
        self._loaded_for: object = None
        self.mode.buttonToggled.connect(self._mode_changed)
        self.schedule.changed.connect(self._program_typed)
        self.prescriber.textChanged.connect(self.changed)
        self.order_edit.given_as.currentIndexChanged.connect(self.changed)
        self.order_edit.read_back.toggled.connect(self.changed)
        self.findings.changed.connect(self.changed)
        for box in (self.bridge_acknowledged, self.bridge_given, self.priming_given):
            box.toggled.connect(self._bolus_toggled)
        self.bolus_volume.line_edit.textChanged.connect(self.changed)

    # ------------------------------------------------------------- state

    def is_changed(self) -> bool:
        return self.changed_radio.isChecked() and not self.wizard.constant_flow

    def new_schedule(self) -> Schedule | None:
        return self.schedule.schedule() if self.is_changed() else None

    def new_patient_bolus(self) -> PatientBolus | None:
        return self.schedule.patient_bolus()

    def _mode_changed(self) -> None:
        self.schedule.setVisible(self.is_changed())
        self._program_typed()

    def _program_typed(self) -> None:
        self.changed.emit()

    def _bolus_toggled(self) -> None:
        self.bolus_row.setVisible(self.bridge_given.isChecked() or self.priming_given.isChecked())
        self.changed.emit()

    def enter(self) -> None:
        wizard = self.wizard
        base = wizard.base_plan
        constant = wizard.constant_flow
        self.unchanged.setVisible(not constant)
        self.changed_radio.setVisible(not constant)
        self.constant_note.setVisible(constant)
        if base is not None:
            self.current_fields.set_fields(program_fields(base))
            new_drug = wizard.solution.choice_made() == "drug"
            key = (wizard.solution.choice_made(), wizard.solution.new_ingredients())
            if key != self._loaded_for:
                self._loaded_for = key
                ingredients = wizard.solution.new_ingredients() or base.current_solution
                self.schedule.set_mass_unit(mass_unit_of(tuple(ingredients)))
                if new_drug:
                    self.schedule.set_program(None, None)
                    self.changed_radio.setChecked(True)
                elif not self.is_changed():
                    self.schedule.set_program(base.current_program.schedule,
                                              base.current_program.patient_bolus)
            self.unchanged.setEnabled(not new_drug)
            self.priming_box.setVisible(base.first_fill)
            if base.priming is not None:
                self.priming_text.setText(
                    f"Prime the catheter (and the pump's fluid path): "
                    f"{format_quantity(base.priming, Kind.VOLUME)}.")
            else:
                self.priming_text.setText("The catheter volume is not known, so the priming "
                                          "volume cannot be worked out: decide it with the "
                                          "prescriber.")
        self.schedule.setVisible(self.is_changed())
        self._bolus_toggled()
        self.refresh()

    def refresh(self) -> None:
        wizard = self.wizard
        plan = wizard.plan
        needed = wizard.new_prescription_needed()
        self.prescriber_row.setVisible(needed)
        self.findings.setVisible(needed)
        self.after_fields.show_fields(
            [("none", "After", f"not yet: {wizard.plan_error}" if wizard.plan_error
              else "not yet", "muted")] if plan is None else program_fields(plan))
        self.bridge_box.setVisible(plan is not None and plan.concentration_changed)
        if plan is not None and plan.concentration_changed:
            self.bridge_text.setText(bridge_text(plan))
        self._schedule_check(needed)

    def _schedule_check(self, needed: bool) -> None:
        if not needed:
            self.timer.stop()
            self._checked_key = None
            return
        data = self.wizard.prescription_input()
        key = None if data is None else (data.ingredients, repr(data.schedule),
                                         repr(data.patient_bolus), data.effective_at)
        if key == self._checked_key:
            return
        self._checked_key = key
        if data is None:
            self.timer.stop()
            problem = self.schedule.problem() if self.is_changed() else ""
            self.findings.set_pending(f"Not checked yet: {problem or self.wizard.plan_error}"
                                      if problem or self.wizard.plan_error else
                                      "Enter the program to check it.")
            return
        self.timer.start()

    def run_check(self) -> None:
        """Ask the service for the dose checks of the prescription typed (without saving)."""
        self.timer.stop()
        data = self.wizard.prescription_input()
        if data is None:
            return
        try:
            check = self.wizard.clinic.check_prescription(self.wizard.pump.id, data)
        except PumpMgrError as exc:
            self.findings.set_error(exc.message)
            return
        self.findings.set_check(check)

    def check_pending(self) -> bool:
        return self.timer.isActive()

    def own_order(self) -> bool:
        """The signed-in prescriber enters their own order: no record of how it was given."""
        actor = self.wizard.actor
        named = self.prescriber.text().strip().lower()
        return actor.role == "prescriber" and named in (actor.full_name.lower(),
                                                        actor.username.lower())

    def problems(self) -> list[str]:
        wizard = self.wizard
        found = []
        if self.is_changed() and self.schedule.problem():
            found.append(self.schedule.problem())
        elif wizard.plan is None:
            found.append(wizard.plan_error or "the plan is not complete")
        if wizard.new_prescription_needed():
            if not self.prescriber.text().strip():
                found.append("enter who prescribed the new solution or program")
            elif not self.own_order() and self.order_edit.problem():
                found.append(self.order_edit.problem())
            if self.check_pending():
                found.append("the dose checks are running")
            elif self.findings.problem():
                found.append(self.findings.problem())
        plan = wizard.plan
        if plan is not None and plan.concentration_changed and not (
                self.bridge_acknowledged.isChecked()):
            found.append("acknowledge the bridge (the concentration changes)")
        if self.bolus_row.isVisible() and self.bolus_volume.text().strip() and (
                self.bolus_volume.quantity() is None):
            found.append(self.bolus_volume.error_text())
        return found

    def first_input(self) -> QWidget | None:
        return self.changed_radio if self.is_changed() else self.unchanged


def program_fields(plan: VisitPlan) -> list[Field]:
    """The plan's program as fields: each drug's daily dose, the daily volume, the schedule
    and the patient bolus."""
    unit = mass_unit_of(plan.ingredients)
    fields: list[Field] = [
        (f"dose {d.ingredient.drug}", d.ingredient.drug.capitalize(),
         presentation.dose_text(d.daily_dose, d.ingredient.display_unit), "")
        for d in plan.doses]
    fields.append(("daily volume", "Daily volume",
                   format_quantity(plan.program.daily_volume(), Kind.FLOW), ""))
    fields.append(("schedule", "Schedule",
                   "\n".join(presentation.schedule_lines(plan.program.schedule, unit)), ""))
    fields.append(("patient bolus", "Patient bolus",
                   presentation.patient_bolus_text(plan.program.patient_bolus, unit), ""))
    return fields


def bridge_summary(plan: VisitPlan) -> str:
    """The bridge in a few words, for the review."""
    changes = "; ".join(
        f"{c.drug} " + " → ".join(
            "none" if q is None else format_quantity(q, Kind.CONCENTRATION, c.display_unit)
            for q in (c.old, c.new)) for c in plan.changes)
    if plan.bridge_status == "computed" and plan.bridge is not None:
        how = (f"old rate {format_quantity(plan.bridge.bridge_rate, Kind.FLOW)} for "
               f"{format_duration(plan.bridge.bridge_duration)}, then "
               f"{format_quantity(plan.bridge.new_rate, Kind.FLOW)}")
    elif plan.bridge_status == "dead_space_unknown":
        without = ", ".join(
            f"{c.drug} {presentation.dose_text(c.flushing_dose, c.display_unit)}"
            for c in plan.changes if c.flushing_dose is not None)
        how = ("dead space not known: bridge not worked out"
               + (f"; without one {without} until flushed" if without else ""))
    else:
        how = "no bridge possible: the old solution flushes at the new rate"
    return f"{changes}\n{how}"


def bridge_text(plan: VisitPlan) -> str:
    """What happens while the old solution leaves the dead space, as domain-rules §5 asks:
    the bridge when it can be worked out, and always the dose given without one."""
    lines = []
    for change in plan.changes:
        unit = change.display_unit
        old = "none" if change.old is None else format_quantity(change.old, Kind.CONCENTRATION,
                                                                unit)
        new = "none" if change.new is None else format_quantity(change.new, Kind.CONCENTRATION,
                                                                unit)
        lines.append(f"{change.drug.capitalize()}: {old} → {new}.")
    status = plan.bridge_status
    if status == "computed" and plan.bridge is not None:
        bridge, unit = plan.bridge, mass_unit_of(plan.ingredients)
        lines.append(
            f"Bridge: run the old rate of {format_quantity(bridge.bridge_rate, Kind.FLOW)} for "
            f"{format_duration(bridge.bridge_duration)} (dead space "
            f"{format_quantity(bridge.dead_space, Kind.VOLUME)}: pump fluid path and catheter), "
            f"then the new rate of {format_quantity(bridge.new_rate, Kind.FLOW)}.")
        lines.append(
            f"Without a bridge the patient gets "
            f"{presentation.dose_text(bridge.unbridged_dose, unit)} for "
            f"{format_duration(bridge.unbridged_duration)} instead of "
            f"{presentation.dose_text(plan.program.daily_dose(), unit)}.")
    elif status == "dead_space_unknown":
        missing = " and ".join(plan.dead_space_missing) or "the dead space"
        lines.append(f"The dead space is NOT KNOWN ({missing} not entered), so the bridge "
                     "cannot be worked out. Decide it with the prescriber, and enter the "
                     "missing volume in the pump's or catheter's record.")
        for change in plan.changes:
            if change.flushing_dose is not None and change.new_dose is not None:
                unit = change.display_unit
                lines.append(
                    f"Without a bridge: {change.drug} "
                    f"{presentation.dose_text(change.flushing_dose, unit)} instead of "
                    f"{presentation.dose_text(change.new_dose, unit)} until the old solution "
                    "has left the pump and catheter.")
    elif status == "not_possible":
        why = ("a constant-flow pump runs one fixed flow" if plan.constant_flow
               else "the dosed drug is new, or only a secondary drug changes")
        flush = ("an unknown time (the dead space is not known)" if plan.flush_duration is None
                 else format_duration(plan.flush_duration))
        lines.append(f"No bridge can be run ({why}): the old solution flushes at the new rate "
                     f"for {flush}.")
        for change in plan.changes:
            if change.flushing_dose is not None:
                unit = change.display_unit
                after = ("then stops" if change.new_dose is None
                         else f"then {presentation.dose_text(change.new_dose, unit)}")
                lines.append(f"Meanwhile {change.drug} is delivered at "
                             f"{presentation.dose_text(change.flushing_dose, unit)}, {after}.")
    return "\n".join(lines)


# ==================================================================== 6. at the pump


class PumpChecksStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("At the pump", "Two checks no one else can make for you.")
        self.wizard = wizard
        needle = Confirm("N&eedle position confirmed",
                         "The needle reached the needle stop of the reservoir (not the pocket, "
                         "not the catheter access port) and the aspirate was as expected.",
                         self)
        running = Confirm("Pump confirmed &running",
                          "Interrogated after the update: not in stopped mode, the new "
                          "settings shown.", self)
        self.needle, self.running = needle.box, running.box
        why = _label("A refill into the pocket instead of the reservoir is an overdose; a pump "
                     "left stopped after a session causes withdrawal.", self, "muted")
        self.body.addWidget(needle)
        self.body.addWidget(running)
        self.body.addWidget(why)
        self.body.addStretch(1)
        self.needle.toggled.connect(self.changed)
        self.running.toggled.connect(self.changed)

    def problems(self) -> list[str]:
        found = []
        if not self.needle.isChecked():
            found.append("tick 'Needle position confirmed'")
        if not self.running.isChecked():
            found.append("tick 'Pump confirmed running'")
        return found

    def first_input(self) -> QWidget | None:
        return self.needle


# ==================================================================== 7. programmer


class ProgrammerStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Programmer's figures", "Copy the figures the pump's programmer shows "
                         "after the update, as it shows them. pumpmgr compares them with its "
                         "own forecast.")
        self.wizard = wizard
        self.reservoir = QuantityEdit(Kind.VOLUME, "programmer's reservoir volume", self)
        self.alarm = DateEdit("programmer's alarm date", self, missing="not entered")
        self.daily_volume = QuantityEdit(Kind.FLOW, "programmer's daily volume", self,
                                         example="0.2 mL/day")
        self.form = QWidget(self)
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        for text, widget, buddy in (
                ("Reservoir &volume", self.reservoir, self.reservoir.line_edit),
                ("Low-reservoir &alarm date", self.alarm, self.alarm),
                ("&Daily volume", self.daily_volume, self.daily_volume.line_edit)):
            label = QLabel(text, self.form)
            label.setBuddy(buddy)
            form.addRow(label, widget)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Figure", "Programmer", "pumpmgr", "Result"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setFixedHeight(_table_height(self.table, 3))
        self.table.setAccessibleName("Programmer against pumpmgr")
        self.result = _label(" ", self)
        self.tolerance = _label("Each figure is " + tolerance_text() + ".", self,
                                "muted")
        self.differences = Confirm(
            "Differences &checked", "Both nurses re-checked the programmer's entries "
            "(concentration, dose, reservoir volume) and pumpmgr's, and corrected the wrong "
            "one.", self)
        self.differences_checked = self.differences.box
        self.constant_note = _label("Constant-flow pump: it has no programmer, so there is "
                                    "nothing to compare. Go on.", self, "muted")
        self.body.addWidget(self.constant_note)
        self.body.addWidget(self.form)
        self.body.addWidget(self.table)
        self.body.addWidget(self.result)
        self.body.addWidget(self.tolerance)
        self.body.addWidget(self.differences)
        self.body.addStretch(1)
        self.reservoir.line_edit.textChanged.connect(self.changed)
        self.alarm.valueChanged.connect(self.changed)
        self.daily_volume.line_edit.textChanged.connect(self.changed)
        self.differences_checked.toggled.connect(self.changed)

    def enter(self) -> None:
        constant = self.wizard.constant_flow
        self.constant_note.setVisible(constant)
        for widget in (self.form, self.table, self.result, self.tolerance):
            widget.setVisible(not constant)
        self.alarm.set_range(self.wizard.at().date(), None)
        self.refresh()

    def checks(self) -> list[refill_checks.FigureCheck]:
        return self._judged()[0]

    def _judged(self) -> tuple[list[refill_checks.FigureCheck], str]:
        """The checks of the figures typed, and pumpmgr's refusal of them ('' when none)."""
        plan = self.wizard.plan
        reservoir, daily = self.reservoir.quantity(), self.daily_volume.quantity()
        alarm = entered_date(self.alarm)
        if plan is None or reservoir is None or daily is None or alarm is None:
            return [], ""
        try:
            return refill_checks.programmer_checks(plan, reservoir, alarm, daily), ""
        except PumpMgrError as refused:  # a negative volume: no verdict; problems() says why
            return [], refused.message

    def differs(self) -> bool:
        return any(c.differs for c in self.checks())

    def refresh(self) -> None:
        checks = self.checks()
        self.table.setRowCount(len(checks))
        for row, check in enumerate(checks):
            for column, text in enumerate((check.name, check.programmer, check.pumpmgr,
                                           check.word)):
                item = QTableWidgetItem(text)
                if check.differs:
                    item.setBackground(Qt.GlobalColor.yellow)
                self.table.setItem(row, column, item)
        differs = any(c.differs for c in checks)
        if not checks:
            self.result.setText(" ")
        elif differs:
            names = ", ".join(c.name.lower() for c in checks if c.differs)
            said = programmer_check_text(True, (names,))
            self.result.setText(f"{said[0].upper()}{said[1:]}. Check the "
                                "programmer's entries and pumpmgr's; correct whichever is "
                                "wrong before the patient leaves.")
            _role(self.result, "error")
        else:
            said = programmer_check_text(False)
            self.result.setText(f"{said[0].upper()}{said[1:]}.")
            _role(self.result, "")
        self.differences.setVisible(differs and not self.wizard.constant_flow)

    def problems(self) -> list[str]:
        if self.wizard.constant_flow:
            return []
        found = []
        if self.reservoir.quantity() is None:
            found.append(self.reservoir.error_text() or "enter the reservoir volume the "
                                                        "programmer shows")
        problem = date_problem(self.alarm, "enter the alarm date the programmer shows")
        if problem:
            found.append(problem)
        if self.daily_volume.quantity() is None:
            found.append(self.daily_volume.error_text() or "enter the daily volume the "
                                                           "programmer shows")
        refused = self._judged()[1]
        if not found and refused:
            found.append(refused)
        if not found and self.differs() and not self.differences_checked.isChecked():
            found.append("the programmer's figures differ from pumpmgr's: check both, then "
                         "tick 'Differences checked'")
        return found

    def summary(self) -> str:
        if self.wizard.constant_flow:
            return "no programmer (constant-flow pump)"
        checks = self.checks()
        if not checks:
            return "not entered"
        if any(c.differs for c in checks):
            return ("DIFFER (" + ", ".join(c.name.lower() for c in checks if c.differs)
                    + "); differences checked")
        return "agree with pumpmgr's forecast"

    def first_input(self) -> QWidget | None:
        return None if self.wizard.constant_flow else self.reservoir


# ==================================================================== 8. second nurse


class VerifyStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Second nurse", "Second nurse: read the syringe label and the pump "
                         "yourself and enter what you see. The first nurse's entries are not "
                         "shown; a difference stops the save.")
        self.wizard = wizard
        self.username = QLineEdit(self)
        self.username.setMaxLength(64)
        self.username.setAccessibleName("Second nurse's user name")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1024)
        self.password.setAccessibleName("Second nurse's password")
        self.concentration_form = QFormLayout()
        self.concentrations: list[QuantityEdit] = []
        self.volume = QuantityEdit(Kind.VOLUME, "volume added (second nurse)", self)
        self.lot = QLineEdit(self)
        self.lot.setMaxLength(64)
        self.lot.setAccessibleName("Lot number (second nurse)")
        self.message = _label(" ", self, "error")
        self.message.setAccessibleName("Verification message")
        account = QGroupBox("Second nurse's own account", self)
        account_form = QFormLayout(account)
        for text, widget in (("&User name", self.username), ("&Password", self.password)):
            label = QLabel(text, account)
            label.setBuddy(widget)
            account_form.addRow(label, widget)
        entry = QGroupBox("What you read on the label and the pump", self)
        entry.setLayout(self.concentration_form)
        volume_label = QLabel("V&olume added", entry)
        volume_label.setBuddy(self.volume.line_edit)
        self.concentration_form.addRow(volume_label, self.volume)
        lot_label = QLabel("&Lot number", entry)
        lot_label.setBuddy(self.lot)
        self.concentration_form.addRow(lot_label, self.lot)
        self.body.addWidget(account)
        self.body.addWidget(entry)
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        for signal in (self.username.textChanged, self.password.textChanged,
                       self.volume.line_edit.textChanged, self.lot.textChanged):
            signal.connect(self._typed)
        self._drugs: tuple[str, ...] = ()

    def _typed(self) -> None:
        self.message.setText(" ")
        self.changed.emit()

    def enter(self) -> None:
        plan = self.wizard.plan
        ingredients = () if plan is None else plan.ingredients
        drugs = tuple(i.drug for i in ingredients)
        if drugs != self._drugs:
            self._drugs = drugs
            for edit in self.concentrations:
                self.concentration_form.removeRow(edit)
            self.concentrations = []
            for position, ingredient in enumerate(ingredients):
                edit = QuantityEdit(Kind.CONCENTRATION, f"{ingredient.drug} concentration "
                                    "(second nurse)", self, mass_unit=ingredient.display_unit)
                edit.line_edit.textChanged.connect(self._typed)
                label = QLabel(f"{ingredient.drug.capitalize()} &concentration"
                               if len(ingredients) == 1 else
                               f"{ingredient.drug.capitalize()} concentration", self)
                label.setBuddy(edit.line_edit)
                self.concentration_form.insertRow(position, label, edit)
                self.concentrations.append(edit)
        self.changed.emit()

    def second_entry(self) -> refill_checks.Entry | None:
        values = [edit.quantity() for edit in self.concentrations]
        volume = self.volume.quantity()
        if volume is None or any(v is None for v in values) or not self.lot.text().strip():
            return None
        return refill_checks.Entry(tuple(values), volume, self.lot.text())

    def problems(self) -> list[str]:
        found = []
        if not self.username.text().strip() or not self.password.text():
            found.append("the second nurse enters their own user name and password")
        for edit in self.concentrations:
            if edit.quantity() is None:
                found.append(edit.error_text() or f"the second nurse enters the {edit.field}")
        if self.volume.quantity() is None:
            found.append(self.volume.error_text() or "the second nurse enters the volume added")
        if not self.lot.text().strip():
            found.append("the second nurse enters the lot number")
        return found

    def leave(self) -> bool:
        return self.wizard.verify(self)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def first_input(self) -> QWidget | None:
        return self.username


# ==================================================================== 9. review


@dataclass(frozen=True)
class ReviewRow:
    name: str
    before: str
    after: str
    #: The after column words "no change" itself ("Prescription: unchanged").
    kept: bool = False

    @property
    def changed(self) -> bool:
        return not self.kept and self.before != self.after and self.before != "—"


class ReviewStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Review and save", "Before and after, side by side. Save records the "
                         "refill, the new prescription if any, and both nurses, in one go.")
        self.wizard = wizard
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["", "Before this refill", "After this refill",
                                              "Change"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        # Room around wrapped lines, so a two-line value never touches the grid.
        self.table.setStyleSheet("QTableView::item { padding-top: 0.3em; padding-bottom: 0.3em; }")
        self.table.setAccessibleName("Before and after")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.body.addWidget(self.table, 1)
        self.rows: list[ReviewRow] = []

    def enter(self) -> None:
        self.rows = self.wizard.review_rows()
        self.table.setRowCount(len(self.rows))
        for number, row in enumerate(self.rows):
            items = [QTableWidgetItem(row.name), QTableWidgetItem(row.before),
                     QTableWidgetItem(row.after),
                     QTableWidgetItem("changed" if row.changed else "")]
            font = items[0].font()
            font.setBold(True)
            items[0].setFont(font)
            if row.changed:
                for item in items[2:]:
                    item.setFont(font)
            for column, item in enumerate(items):
                self.table.setItem(number, column, item)
        self.table.resizeRowsToContents()

    def text(self, name: str) -> tuple[str, str]:
        row = next(r for r in self.rows if r.name == name)
        return row.before, row.after

    def leave(self) -> bool:
        return self.wizard.save()


# ==================================================================== 10. done


class DoneStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Saved", "")
        self.wizard = wizard
        self.summary = FieldList("Recorded", self)
        self.worksheet_button = QPushButton("Print the completed &worksheet…", self)
        self.worksheet_button.setAutoDefault(False)
        self.card_button = QPushButton("Print the wallet car&d…", self)
        self.card_button.setAutoDefault(False)
        self.note_button = QPushButton("Copy the visit &note…", self)
        self.note_button.setAutoDefault(False)
        self.note_button.setToolTip("The refill as a note for the hospital's record, on the "
                                    "clipboard")
        self.worksheet_button.clicked.connect(wizard.print_worksheet)
        self.card_button.clicked.connect(wizard.print_card)
        self.note_button.clicked.connect(wizard.copy_note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.worksheet_button)
        buttons.addWidget(self.card_button)
        buttons.addWidget(self.note_button)
        buttons.addStretch(1)
        self.body.addWidget(_label("The refill is saved. Give the patient the new wallet card "
                                   "when the alarm date or the dose changed.", self))
        self.body.addWidget(self.summary)
        self.body.addLayout(buttons)
        self.body.addStretch(1)

    def enter(self) -> None:
        outcome = self.wizard.outcome
        if outcome is None:
            return
        tz = self.wizard.clinic.tz
        refill = outcome.refill
        fields: list[Field] = [
            ("refill", "Refill", f"{presentation.datetime_text(refill.performed_at, tz)}: "
             f"{format_quantity(refill.volume_added, Kind.VOLUME)} of "
             f"{presentation.solution_text(refill.ingredients)}", ""),
            ("nurses", "Nurses", f"{refill.nurse}, verified by {refill.verifier}", ""),
        ]
        if outcome.discrepancy is not None:
            fields.append(("verdict", "Residual", outcome.discrepancy.verdict, ""))
        if outcome.forecast is not None:
            forecast = outcome.forecast
            fields.append(("alarm", "Low-reservoir alarm",
                           presentation.datetime_text(forecast.alarm_at, tz), ""))
            fields.append(("refill due", "Next refill due",
                           presentation.date_text(forecast.refill_due), "title"))
        self.summary.set_fields(fields)

    def first_input(self) -> QWidget | None:
        return self.worksheet_button
