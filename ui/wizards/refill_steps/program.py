"""Step 6 of the refill wizard: the program unchanged or changed, with live dose checks, and the
bridge bolus at a concentration change."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.units import Kind
from pumpmgr.visit import VisitPlan
from pumpmgr.wording import (
    DrugNames,
    bolus_text,
    bridge_wording,
    schedule_lines,
    start_held_text,
)
from ui import presentation
from ui.widgets.field_list import Field, FieldList
from ui.widgets.findings_panel import FindingsPanel
from ui.widgets.first_dose_edit import FirstDoseEdit, first_drugs
from ui.widgets.order_edit import OrderEdit, complete_prescribers
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.schedule_edit import ScheduleEdit
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import Confirm, ShownFields, mass_unit_of, wrapped_label

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


#: Wait this long after the last keystroke before asking the service for the dose checks.
CHECK_DELAY_MS = 250


class ProgramStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Program",
            "Keep the program, or enter the new one from the "
            "prescription. The dose checks run as you type.",
        )
        self.wizard = wizard
        self.current_fields = FieldList("Program now", self)
        self.unchanged = QRadioButton("Program unchan&ged", self)
        self.changed_radio = QRadioButton("Program c&hanged (new prescription)", self)
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.unchanged)
        self.mode.addButton(self.changed_radio)
        self.unchanged.setChecked(True)
        self.constant_note = wrapped_label(
            "Constant-flow pump: there is no program to change. The dose follows the "
            "concentration at the pump's fixed flow.",
            self,
            "muted",
        )
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
        self.order_edit = OrderEdit(
            wizard.clinic.clock.now().astimezone(wizard.clinic.tz), self.prescriber_row
        )
        self.order_edit.add_rows(prescriber_layout, self.prescriber_row)
        # the step is taller with the order's rows: scrolled, never squeezed below the
        # inputs' natural height (large text)
        self.content.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.after_fields = ShownFields("After this refill", self)
        #: For a drug the patient has no record of: a first dose, or the dose it continues.
        self.first_dose = FirstDoseEdit(self)
        self.findings = FindingsPanel("Dose checks of the new prescription", self)

        self.bridge_box = QGroupBox("Concentration change: the bridge", self)
        self.bridge_text = wrapped_label(" ", self.bridge_box)
        self.bridge_text.setAccessibleName("Bridge")
        acknowledge = Confirm(
            "Bridge ac&knowledged",
            "I have read the bridge above (or why none can be given) and "
            "follow the prescriber's order for it.",
            self.bridge_box,
        )
        self.bridge_acknowledged = acknowledge.box
        self.bridge_given = QCheckBox("Bridge bolus programmed on the pump", self.bridge_box)
        bridge_layout = QVBoxLayout(self.bridge_box)
        bridge_layout.addWidget(self.bridge_text)
        bridge_layout.addWidget(acknowledge)
        bridge_layout.addWidget(self.bridge_given)

        self.priming_box = QGroupBox("First fill: priming", self)
        self.priming_text = wrapped_label(" ", self.priming_box)
        self.priming_given = QCheckBox(
            "Priming bolus given (under medical supervision)", self.priming_box
        )
        priming_layout = QVBoxLayout(self.priming_box)
        priming_layout.addWidget(self.priming_text)
        priming_layout.addWidget(self.priming_given)
        self.bolus_volume = QuantityEdit(Kind.VOLUME, "bolus volume", self, example="0.22 mL")
        self.bolus_row = QWidget(self)
        bolus_layout = QFormLayout(self.bolus_row)
        bolus_layout.setContentsMargins(0, 0, 0, 0)
        bolus_layout.addRow(
            "Volume the bolus drew from the reservoir (optional)", self.bolus_volume
        )

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
        self.body.addWidget(self.first_dose)
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
        self.first_dose.changed.connect(self.changed)
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
                    self.schedule.set_program(
                        base.current_program.schedule, base.current_program.patient_bolus
                    )
            self.unchanged.setEnabled(not new_drug)
            self.priming_box.setVisible(base.first_fill)
            if base.priming is not None:
                self.priming_text.setText(
                    f"Prime the catheter (and the pump's fluid path): "
                    f"{format_quantity(base.priming, Kind.VOLUME)}."
                )
            else:
                self.priming_text.setText(
                    "The catheter volume is not known, so the priming "
                    "volume cannot be worked out: decide it with the "
                    "prescriber."
                )
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
            [
                (
                    "none",
                    "After",
                    f"not yet: {wizard.plan_error}" if wizard.plan_error else "not yet",
                    "muted",
                )
            ]
            if plan is None
            else program_fields(plan)
        )
        self.bridge_box.setVisible(plan is not None and plan.concentration_changed)
        if plan is not None and plan.concentration_changed:
            self.bridge_text.setText(bridge_text(plan, self.wizard.library))
        self._schedule_check(needed)

    def _schedule_check(self, needed: bool) -> None:
        if not needed:
            self.timer.stop()
            self._checked_key = None
            self.first_dose.set_drugs([])
            return
        data = self.wizard.prescription_input()
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
        if key == self._checked_key:
            return
        self._checked_key = key
        if data is None:
            self.timer.stop()
            problem = self.schedule.problem() if self.is_changed() else ""
            self.findings.set_pending(
                f"Not checked yet: {problem or self.wizard.plan_error}"
                if problem or self.wizard.plan_error
                else "Enter the program to check it."
            )
            return
        self.timer.start()

    def run_check(self) -> None:
        """Ask the service for the dose checks of the prescription typed (without saving)."""
        self.timer.stop()
        data = self.wizard.prescription_input()
        if data is None:
            return
        try:
            pump_id = self.wizard.pump.id
            self.first_dose.set_drugs(first_drugs(self.wizard.clinic, pump_id, data))
            data = replace(data, continues=self.first_dose.continues())
            check = self.wizard.clinic.check_prescription(pump_id, data)
        except PumpMgrError as exc:
            self.findings.set_error(exc.message)
            return
        self.findings.set_check(check, start_held_text(check.starts, self.wizard.library))

    def check_pending(self) -> bool:
        return self.timer.isActive()

    def own_order(self) -> bool:
        """The signed-in prescriber enters their own order: no record of how it was given."""
        actor = self.wizard.actor
        named = self.prescriber.text().strip().lower()
        return actor.role == "prescriber" and named in (
            actor.full_name.lower(),
            actor.username.lower(),
        )

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
            if self.first_dose.problem():
                found.append(self.first_dose.problem())
            if self.check_pending():
                found.append("the dose checks are running")
            elif self.findings.problem():
                found.append(self.findings.problem())
        plan = wizard.plan
        if (
            plan is not None
            and plan.concentration_changed
            and not (self.bridge_acknowledged.isChecked())
        ):
            found.append("acknowledge the bridge (the concentration changes)")
        if (
            self.bolus_row.isVisible()
            and self.bolus_volume.text().strip()
            and (self.bolus_volume.quantity() is None)
        ):
            found.append(self.bolus_volume.error_text())
        return found

    def first_input(self) -> QWidget | None:
        return self.changed_radio if self.is_changed() else self.unchanged


def program_fields(plan: VisitPlan) -> list[Field]:
    """The plan's program as fields: each drug's daily dose, the daily volume, the schedule
    and the patient bolus."""
    unit = mass_unit_of(plan.ingredients)
    fields: list[Field] = [
        (
            f"dose {d.ingredient.drug}",
            d.ingredient.drug.capitalize(),
            presentation.dose_text(d.daily_dose, d.ingredient.display_unit),
            "",
        )
        for d in plan.doses
    ]
    fields.append(
        (
            "daily volume",
            "Daily volume",
            format_quantity(plan.program.daily_volume(), Kind.FLOW),
            "",
        )
    )
    fields.append(
        ("schedule", "Schedule", "\n".join(schedule_lines(plan.program.schedule, unit)), "")
    )
    fields.append(
        ("patient bolus", "Patient bolus", bolus_text(plan.program.patient_bolus, unit), "")
    )
    return fields


def bridge_text(plan: VisitPlan, names: DrugNames) -> str:
    """What happens while the old solution leaves the dead space (domain-rules §5), in the
    words of the worksheet and ``pumpmgr calc bridge``."""
    return "\n".join(bridge_wording(plan, names).lines())
