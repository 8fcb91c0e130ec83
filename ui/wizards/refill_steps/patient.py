"""Step 1 of the refill wizard: who and which pump, what is in it now, the refill time; the
nurse confirms."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QWidget

from pumpmgr.formatting import format_date, format_datetime, format_quantity
from pumpmgr.records import INDICATION_TEXT
from pumpmgr.units import Kind
from pumpmgr.visit_record import investigate_text
from pumpmgr.wording import before_refill_notice, solution_text
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import Confirm, date_problem, doses_text, wrapped_label

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


class PatientStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Patient and pump",
            "Check the patient against their wristband or ID "
            "and the pump against the programmer's interrogation.",
        )
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
            "recording a refill done earlier."
        )
        confirm = Confirm(
            "&Patient and pump confirmed",
            "Name, date of birth and MRN checked with the patient; pump model "
            "and serial number match the programmer's interrogation.",
            self,
        )
        self.confirmed = confirm.box
        time_row = QHBoxLayout()
        time_label = QLabel("Refill &time", self)
        time_label.setBuddy(self.refill_time)
        time_label.setProperty("role", "fieldname")
        time_row.addWidget(time_label)
        time_row.addWidget(self.refill_time)
        time_row.addWidget(wrapped_label("clinic time, 24-hour clock", self, "muted"), 1)
        grid = QGridLayout()
        grid.addWidget(self.patient_fields, 0, 0)
        grid.addWidget(self.pump_fields, 0, 1)
        grid.addWidget(self.now_fields, 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        #: A pump computed empty, maybe empty or past its alarm: said first (domain-rules §3).
        self.state_notice = wrapped_label("", self, "alert")
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
        age = (
            today.year
            - patient.date_of_birth.year
            - ((today.month, today.day) < (patient.date_of_birth.month, patient.date_of_birth.day))
        )
        fields: list[Field] = [
            ("name", "Name", patient.display_name, ""),
            ("mrn", "MRN", patient.mrn, ""),
            ("born", "Born", f"{format_date(patient.date_of_birth)} ({age} years)", ""),
            (
                "indication",
                "Indication",
                INDICATION_TEXT.get(patient.indication, patient.indication),
                "",
            ),
        ]
        if patient.renal_impairment:
            fields.append(("renal", "Flag", "renal impairment", "error"))
        self.patient_fields.set_fields(fields)
        self.pump_fields.set_fields(
            [
                ("model", "Model", pump.model_name, ""),
                ("serial", "Serial number", pump.serial_number, ""),
                ("implanted", "Implanted", f"{format_date(pump.implanted_on)}, {pump.site}", ""),
                (
                    "capacity",
                    "Reservoir",
                    f"{format_quantity(pump.capacity, Kind.VOLUME)}; alarm at "
                    f"{format_quantity(pump.alarm_volume, Kind.VOLUME)}",
                    "",
                ),
            ]
        )
        base = wizard.base_plan
        now: list[Field] = []
        if base is not None:
            now.append(
                ("solution", "Solution", solution_text(base.current_solution, wizard.library), "")
            )
            now.append(("dose", "Daily dose", doses_text(base), ""))
            now.append(
                (
                    "daily volume",
                    "Daily volume",
                    format_quantity(base.current_program.daily_volume(), Kind.FLOW),
                    "",
                )
            )
            last = base.last_refill
            now.append(
                (
                    "last fill",
                    "Last fill",
                    "none: this is the pump's first fill"
                    if last is None
                    else f"{format_datetime(last.performed_at)}, "
                    f"{format_quantity(last.final_volume, Kind.VOLUME)}",
                    "",
                )
            )
            if last is not None and last.discrepancy_verdict == "investigate":
                said = investigate_text(
                    last.performed_at.date(), last.discrepancy_difference, last.discrepancy_note
                )
                now.append(("last residual", "Last residual", said[0].upper() + said[1:], "error"))
        self.now_fields.set_fields(now)
        notice = "" if base is None else before_refill_notice(base.state, base.may_have_run_dry_at)
        self.state_notice.setText(notice)
        self.state_notice.setVisible(bool(notice))
        at = wizard.now_local().replace(second=0, microsecond=0)
        self._loaded_at = at
        self._last_fill = (
            None
            if base is None or base.last_refill is None
            else (base.last_refill.performed_at.replace(second=0, microsecond=0))
        )
        self.refill_time.set_range(
            None if self._last_fill is None else self._last_fill.date(), at.date()
        )
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
            return (
                f"refill time: {format_datetime(typed)} is in the future; the latest is "
                f"now, {format_datetime(self._loaded_at)}"
            )
        if self._last_fill is not None and typed <= self._last_fill:
            return (
                f"refill time: {format_datetime(typed)} is not after the last fill, "
                f"{format_datetime(self._last_fill)}"
            )
        return ""

    def problems(self) -> list[str]:
        found = []
        typed = self.refill_time.moment()
        if typed is None:
            found.append(
                date_problem(self.refill_time, "refill time: enter when the refill is done") or ""
            )
        elif self._time_problem(typed):
            found.append(self._time_problem(typed))
        if self.wizard.base_plan is None:
            found.append(f"pumpmgr cannot plan this refill: {self.wizard.base_error}")
        if not self.confirmed.isChecked():
            found.append("tick 'Patient and pump confirmed'")
        return found

    def first_input(self) -> QWidget | None:
        return self.confirmed
