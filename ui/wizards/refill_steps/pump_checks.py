"""Steps 7 and 8 of the refill wizard: at the pump (needle position, pump running) and the
programmer's figures against pumpmgr's forecast."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.units import Kind
from pumpmgr.visit_record import programmer_check_text, tolerance_text
from ui.widgets.date_edit import DateEdit
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.style_state import set_role
from ui.wizards import refill_checks
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import (
    Confirm,
    date_problem,
    entered_date,
    table_height,
    wrapped_label,
)

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


class PumpChecksStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("At the pump", "Two checks no one else can make for you.")
        self.wizard = wizard
        needle = Confirm(
            "N&eedle position confirmed",
            "The needle reached the needle stop of the reservoir (not the pocket, "
            "not the catheter access port) and the aspirate was as expected.",
            self,
        )
        running = Confirm(
            "Pump confirmed &running",
            "Interrogated after the update: not in stopped mode, the new settings shown.",
            self,
        )
        self.needle, self.running = needle.box, running.box
        why = wrapped_label(
            "A refill into the pocket instead of the reservoir is an overdose; a "
            "pump left stopped after a session causes withdrawal.",
            self,
            "muted",
        )
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


class ProgrammerStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Programmer's figures",
            "Copy the figures the pump's programmer shows "
            "after the update, as it shows them. pumpmgr compares them with its "
            "own forecast.",
        )
        self.wizard = wizard
        self.reservoir = QuantityEdit(Kind.VOLUME, "programmer's reservoir volume", self)
        self.alarm = DateEdit("programmer's alarm date", self, missing="not entered")
        self.daily_volume = QuantityEdit(
            Kind.FLOW, "programmer's daily volume", self, example="0.2 mL/day"
        )
        self.form = QWidget(self)
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        for text, widget, buddy in (
            ("Reservoir &volume", self.reservoir, self.reservoir.line_edit),
            ("Low-reservoir &alarm date", self.alarm, self.alarm),
            ("&Daily volume", self.daily_volume, self.daily_volume.line_edit),
        ):
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
        self.table.setFixedHeight(table_height(self.table, 3))
        self.table.setAccessibleName("Programmer against pumpmgr")
        self.result = wrapped_label(" ", self)
        self.tolerance = wrapped_label("Each figure is " + tolerance_text() + ".", self, "muted")
        self.differences = Confirm(
            "Differences &checked",
            "Both nurses re-checked the programmer's entries "
            "(concentration, dose, reservoir volume) and pumpmgr's, and corrected the wrong "
            "one.",
            self,
        )
        self.differences_checked = self.differences.box
        self.constant_note = wrapped_label(
            "Constant-flow pump: it has no programmer, so there is nothing to compare. Go on.",
            self,
            "muted",
        )
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
            for column, text in enumerate(
                (check.name, check.programmer, check.pumpmgr, check.word)
            ):
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
            self.result.setText(
                f"{said[0].upper()}{said[1:]}. Check the "
                "programmer's entries and pumpmgr's; correct whichever is "
                "wrong before the patient leaves."
            )
            set_role(self.result, "error")
        else:
            said = programmer_check_text(False)
            self.result.setText(f"{said[0].upper()}{said[1:]}.")
            set_role(self.result, "")
        self.differences.setVisible(differs and not self.wizard.constant_flow)

    def problems(self) -> list[str]:
        if self.wizard.constant_flow:
            return []
        found = []
        if self.reservoir.quantity() is None:
            found.append(
                self.reservoir.error_text() or "enter the reservoir volume the programmer shows"
            )
        problem = date_problem(self.alarm, "enter the alarm date the programmer shows")
        if problem:
            found.append(problem)
        if self.daily_volume.quantity() is None:
            found.append(
                self.daily_volume.error_text() or "enter the daily volume the programmer shows"
            )
        refused = self._judged()[1]
        if not found and refused:
            found.append(refused)
        if not found and self.differs() and not self.differences_checked.isChecked():
            found.append(
                "the programmer's figures differ from pumpmgr's: check both, then "
                "tick 'Differences checked'"
            )
        return found

    def summary(self) -> str:
        if self.wizard.constant_flow:
            return "no programmer (constant-flow pump)"
        checks = self.checks()
        if not checks:
            return "not entered"
        if any(c.differs for c in checks):
            return (
                "DIFFER ("
                + ", ".join(c.name.lower() for c in checks if c.differs)
                + "); differences checked"
            )
        return "agree with pumpmgr's forecast"

    def first_input(self) -> QWidget | None:
        return None if self.wizard.constant_flow else self.reservoir
