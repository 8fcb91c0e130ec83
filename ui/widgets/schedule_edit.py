"""ScheduleEdit: a pump program typed as the pump's own programmer shows it.

UI layer: imports PySide6, :mod:`pumpmgr.schedule` (the domain's Schedule, Step, boluses and
its HH:MM parser), :mod:`pumpmgr.formatting` and the :class:`~ui.widgets.quantity_edit.
QuantityEdit`. Four parts:

- **simple continuous**: one daily dose (``400 mcg/day``, ``0.4 mg/d`` or ``16.7 mcg/h``);
- **flex**: up to 13 steps a day, each a start time (24-hour ``HH:MM``) and a rate; a step runs
  until the next one starts and the last one runs past midnight to the first;
- **scheduled boluses** (flex only): a time and an amount given every day;
- **patient-activated bolus** (myPTM, Prometra PTC): the dose of one bolus, at most how many a
  day, and the lockout between two.

The widget only reads and shows: :meth:`schedule` builds the domain's
:class:`~pumpmgr.schedule.Schedule` (which refuses repeats and overlaps) and :meth:`problem`
says in words why it cannot yet. Every rate and amount is a quantity with its unit.
"""

from __future__ import annotations

from datetime import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import MassUnit, editable_text, format_quantity
from pumpmgr.schedule import (
    MAX_STEPS,
    PatientBolus,
    Schedule,
    ScheduledBolus,
    Step,
    parse_time,
)
from pumpmgr.units import Kind
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.style_state import set_style_property

#: At most this many scheduled boluses a day (a form limit, not a pump's).
MAX_BOLUSES = 12


class TimeField(QLineEdit):
    """A 24-hour ``HH:MM`` time, red when it is not one."""

    def __init__(self, field: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.setMaxLength(5)
        self.setPlaceholderText("HH:MM")
        self.setToolTip("A time of day on a 24-hour clock, for example 06:30 or 22:00")
        self.setAccessibleName(field)
        self.setFixedWidth(80)
        self.textChanged.connect(self._validate)

    def value(self) -> time | None:
        try:
            return parse_time(self.text(), self.field)
        except PumpMgrError:
            return None

    def error_text(self) -> str:
        if not self.text().strip():
            return f"{self.field}: give a time, for example 06:30"
        try:
            parse_time(self.text(), self.field)
        except PumpMgrError as exc:
            return exc.message
        return ""

    def _validate(self, text: str) -> None:
        invalid = bool(text.strip()) and self.value() is None
        set_style_property(self, "invalid", invalid)


class _Row(QWidget):
    """One line of a list: a time, a quantity and a Remove button."""

    removed = Signal(object)
    changed = Signal()

    def __init__(
        self, kind: Kind, what: str, number: int, mass_unit: MassUnit, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        rate = kind is Kind.DOSE_RATE
        self.time = TimeField(f"{what} {number} {'start' if rate else 'time'}", self)
        self.amount = QuantityEdit(
            kind,
            f"{what} {number} {'rate' if rate else 'amount'}",
            self,
            mass_unit=mass_unit,
            example="30 mcg/h" if rate else "50 mcg",
        )
        self.remove = QPushButton("Remove", self)
        self.remove.setAutoDefault(False)
        self.remove.setToolTip(f"Remove this {what}")
        self.remove.clicked.connect(lambda: self.removed.emit(self))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.time, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.amount, 1)
        layout.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignTop)
        self.time.textChanged.connect(self.changed)
        self.amount.line_edit.textChanged.connect(self.changed)


class _RowList(QWidget):
    """A list of time-and-quantity rows with an Add button (steps or scheduled boluses)."""

    changed = Signal()

    def __init__(
        self, kind: Kind, what: str, limit: int, add_text: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.kind, self.what, self.limit = kind, what, limit
        self.mass_unit: MassUnit = "mcg"
        self.rows: list[_Row] = []
        self._layout = QVBoxLayout()
        self._layout.setSpacing(4)
        self.add_button = QPushButton(add_text, self)
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add_row().time.setFocus())
        self.count_label = QLabel(self)
        self.count_label.setProperty("role", "muted")
        bottom = QHBoxLayout()
        bottom.addWidget(self.add_button)
        bottom.addWidget(self.count_label, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._layout)
        outer.addLayout(bottom)
        self._update()

    def add_row(self, at: time | None = None, text: str = "") -> _Row:
        row = _Row(self.kind, self.what, len(self.rows) + 1, self.mass_unit, self)
        if at is not None:
            row.time.setText(f"{at:%H:%M}")
        row.amount.set_text(text)
        row.removed.connect(self._remove)
        row.changed.connect(self.changed)
        self._layout.addWidget(row)
        self.rows.append(row)
        self._update()
        self.changed.emit()
        return row

    def _remove(self, row: _Row) -> None:
        self.rows.remove(row)
        self._layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._update()
        self.changed.emit()

    def clear(self) -> None:
        for row in list(self.rows):
            self._remove(row)

    def _update(self) -> None:
        self.add_button.setEnabled(len(self.rows) < self.limit)
        self.count_label.setText(f"{len(self.rows)} of at most {self.limit}")

    def set_mass_unit(self, unit: MassUnit) -> None:
        self.mass_unit = unit
        for row in self.rows:
            row.amount.mass_unit = unit
            row.amount.set_text(row.amount.text())  # read again: "reads as" in the new unit


class ScheduleEdit(QWidget):
    """A simple or flex schedule and the patient-bolus settings of one program."""

    #: Anything was typed or chosen.
    changed = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        mass_unit: MassUnit = "mcg",
        allow_patient_bolus: bool = True,
    ) -> None:
        super().__init__(parent)
        self.mass_unit: MassUnit = mass_unit
        self._setting = False

        self.simple_radio = QRadioButton("&Simple continuous", self)
        self.flex_radio = QRadioButton("F&lex: steps through the day", self)
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.simple_radio)
        self.mode.addButton(self.flex_radio)
        self.simple_radio.setChecked(True)
        modes = QHBoxLayout()
        modes.addWidget(self.simple_radio)
        modes.addWidget(self.flex_radio)
        modes.addStretch(1)

        self.daily_dose = QuantityEdit(Kind.DOSE_RATE, "daily dose", self, mass_unit=mass_unit)
        self.simple_box = QWidget(self)
        simple_layout = QGridLayout(self.simple_box)
        simple_layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Daily &dose", self.simple_box)
        label.setProperty("role", "fieldname")
        label.setBuddy(self.daily_dose.line_edit)
        simple_layout.addWidget(label, 0, 0, Qt.AlignmentFlag.AlignTop)
        simple_layout.addWidget(self.daily_dose, 0, 1)
        simple_layout.setColumnStretch(1, 1)

        self.steps = _RowList(Kind.DOSE_RATE, "step", MAX_STEPS, "Add s&tep", self)
        self.boluses = _RowList(
            Kind.MASS, "scheduled bolus", MAX_BOLUSES, "Add a scheduled bol&us", self
        )
        self.steps.mass_unit = self.boluses.mass_unit = mass_unit
        self.flex_box = QWidget(self)
        flex_layout = QVBoxLayout(self.flex_box)
        flex_layout.setContentsMargins(0, 0, 0, 0)
        note = QLabel(
            "Each step runs from its start until the next step starts; the last "
            "one runs past midnight to the first. Times on the pump's 24-hour "
            "clock. Rates per day or per hour (for example 30 mcg/h).",
            self,
        )
        note.setWordWrap(True)
        note.setProperty("role", "muted")
        flex_layout.addWidget(note)
        flex_layout.addWidget(self.steps)
        bolus_title = QLabel("Scheduled boluses (given every day at their time)", self)
        bolus_title.setProperty("role", "fieldname")
        flex_layout.addWidget(bolus_title)
        flex_layout.addWidget(self.boluses)

        #: Ticked: the program has patient-activated boluses (the settings show beneath).
        self.patient_bolus_box = QCheckBox("Patient-&activated bolus (myPTM / PTC)", self)
        self.patient_bolus_box.setChecked(False)
        self.bolus_dose = QuantityEdit(
            Kind.MASS, "bolus dose", self, mass_unit=mass_unit, example="50 mcg"
        )
        self.bolus_count = QSpinBox(self)
        self.bolus_count.setRange(1, 96)
        self.bolus_count.setValue(4)
        self.bolus_count.setSuffix(" a day")
        self.bolus_count.setAccessibleName("boluses per day at most")
        self.bolus_lockout = QuantityEdit(Kind.DURATION, "lockout", self, example="3 h")
        #: The bolus settings, shown only while the box is ticked.
        self.bolus_fields = QGroupBox(self)
        bolus_layout = QGridLayout(self.bolus_fields)
        for row, (text, widget) in enumerate(
            (
                ("Dose of one bolus", self.bolus_dose),
                ("At most", self.bolus_count),
                ("Lockout (optional)", self.bolus_lockout),
            )
        ):
            name = QLabel(text, self.bolus_fields)
            name.setProperty("role", "fieldname")
            bolus_layout.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            bolus_layout.addWidget(widget, row, 1)
        bolus_layout.setColumnStretch(1, 1)
        self.bolus_fields.setVisible(False)
        self.patient_bolus_box.toggled.connect(self.bolus_fields.setVisible)
        self.patient_bolus_box.setVisible(allow_patient_bolus)

        self.summary = QLabel(" ", self)
        self.summary.setWordWrap(True)
        self.summary.setProperty("role", "muted")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(modes)
        layout.addWidget(self.simple_box)
        layout.addWidget(self.flex_box)
        layout.addWidget(self.summary)
        layout.addWidget(self.patient_bolus_box)
        layout.addWidget(self.bolus_fields)

        self.simple_radio.toggled.connect(self._mode_changed)
        for signal in (
            self.daily_dose.line_edit.textChanged,
            self.steps.changed,
            self.boluses.changed,
            self.patient_bolus_box.toggled,
            self.bolus_dose.line_edit.textChanged,
            self.bolus_count.valueChanged,
            self.bolus_lockout.line_edit.textChanged,
        ):
            signal.connect(self._changed)
        self._mode_changed()

    # ----------------------------------------------------------------- setting

    def set_mass_unit(self, unit: MassUnit) -> None:
        """Show rates and amounts in ``unit`` (the dosed drug's display unit)."""
        self.mass_unit = unit
        for edit in (self.daily_dose, self.bolus_dose):
            edit.mass_unit = unit
            edit.set_text(edit.text())
        self.steps.set_mass_unit(unit)
        self.boluses.set_mass_unit(unit)
        self._changed()

    def set_program(self, schedule: Schedule | None, patient_bolus: PatientBolus | None) -> None:
        """Show ``schedule`` and ``patient_bolus`` (as pumpmgr writes them, units included)."""
        self._setting = True
        self.steps.clear()
        self.boluses.clear()
        self.daily_dose.clear()
        if schedule is None or schedule.is_simple:
            self.simple_radio.setChecked(True)
            if schedule is not None:
                self.daily_dose.set_quantity(schedule.daily_dose())
        else:
            self.flex_radio.setChecked(True)
            for step in schedule.steps:
                self.steps.add_row(
                    step.start, editable_text(step.rate, Kind.DOSE_RATE, self.mass_unit)
                )
            for bolus in schedule.boluses:
                self.boluses.add_row(
                    bolus.at, editable_text(bolus.amount, Kind.MASS, self.mass_unit)
                )
        self.patient_bolus_box.setChecked(patient_bolus is not None)
        if patient_bolus is not None:
            self.bolus_dose.set_quantity(patient_bolus.dose)
            self.bolus_count.setValue(max(1, patient_bolus.max_per_day))
            self.bolus_lockout.set_quantity(patient_bolus.lockout)
        else:
            self.bolus_dose.clear()
            self.bolus_lockout.clear()
        self._setting = False
        self._mode_changed()

    def _mode_changed(self) -> None:
        flex = self.flex_radio.isChecked()
        self.simple_box.setVisible(not flex)
        self.flex_box.setVisible(flex)
        if flex and not self.steps.rows and not self._setting:
            first = self.steps.add_row(time(0, 0))
            if self.daily_dose.quantity() is not None:
                first.amount.set_quantity(self.daily_dose.quantity())
        self._changed()

    def _changed(self) -> None:
        schedule = self.schedule()
        if schedule is not None and not schedule.is_simple:
            self.summary.setText(
                "Daily dose of this schedule: "
                + format_quantity(schedule.daily_dose(), Kind.DOSE_RATE, self.mass_unit)
            )
        else:
            self.summary.setText(" ")
        self.summary.setVisible(self.flex_radio.isChecked())
        self.changed.emit()

    # ----------------------------------------------------------------- reading

    def is_flex(self) -> bool:
        return self.flex_radio.isChecked()

    def _build(self) -> tuple[Schedule | None, str]:
        if not self.is_flex():
            if not self.daily_dose.text().strip():
                return None, "give the daily dose"
            if self.daily_dose.quantity() is None:
                return None, self.daily_dose.error_text()
            try:
                return Schedule.simple(self.daily_dose.quantity()), ""
            except PumpMgrError as exc:
                return None, exc.message
        steps: list[Step] = []
        for row in self.steps.rows:
            if row.time.value() is None:
                return None, row.time.error_text()
            rate = row.amount.quantity()
            if rate is None:
                return None, row.amount.error_text() or f"{row.amount.field}: give the rate"
            steps.append(Step(row.time.value() or time(0, 0), rate))
        boluses: list[ScheduledBolus] = []
        for row in self.boluses.rows:
            if row.time.value() is None:
                return None, row.time.error_text()
            amount = row.amount.quantity()
            if amount is None:
                return None, row.amount.error_text() or f"{row.amount.field}: give the amount"
            boluses.append(ScheduledBolus(row.time.value() or time(0, 0), amount))
        try:
            return Schedule.flex(steps, boluses), ""
        except PumpMgrError as exc:
            return None, exc.message

    def schedule(self) -> Schedule | None:
        """The schedule typed, or None while it is incomplete or wrong (see :meth:`problem`)."""
        return self._build()[0]

    def _bolus(self) -> tuple[PatientBolus | None, str]:
        if not self.patient_bolus_box.isChecked():
            return None, ""
        dose = self.bolus_dose.quantity()
        if dose is None:
            return None, self.bolus_dose.error_text() or "bolus dose: give the dose of one bolus"
        lockout = None
        if self.bolus_lockout.text().strip():
            lockout = self.bolus_lockout.quantity()
            if lockout is None:
                return None, self.bolus_lockout.error_text()
        try:
            return PatientBolus(dose, self.bolus_count.value(), lockout), ""
        except PumpMgrError as exc:
            return None, exc.message

    def patient_bolus(self) -> PatientBolus | None:
        return self._bolus()[0]

    def problem(self) -> str:
        """Why the program cannot be used yet, in words ('' when it can)."""
        return self._build()[1] or self._bolus()[1]
