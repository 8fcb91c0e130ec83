"""Step 2 of the refill wizard, before anything is drawn from the pump: the programmer's
reading (status, alarms, reservoir volume, the patient boluses it counts since the last fill
when the program has one), the site and pocket, the symptoms asked.

UI layer: the values are :mod:`pumpmgr.visit_record`'s, and so is every word that names one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.patient_boluses import LABEL as BOLUSES_LABEL
from pumpmgr.restart import before_refill_text
from pumpmgr.units import ML, Kind
from pumpmgr.visit_record import (
    ALARM_TEXT,
    FINDING_TEXT,
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SiteFinding,
    SymptomCheck,
)
from pumpmgr.wording import before_refill_notice
from ui.widgets.quantity_edit import QuantityEdit
from ui.wizards.base import WizardStep

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard

#: Notes are one line here; the service allows more (4000 characters).
NOTE_LIMIT = 4000


def _note(name: str, parent: QWidget) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setAccessibleName(name)
    edit.setMaxLength(NOTE_LIMIT)
    edit.setPlaceholderText("what you found")
    return edit


def _boxes(
    names: dict[str, str], parent: QWidget, columns: int
) -> tuple[QGridLayout, dict[str, QCheckBox]]:
    grid = QGridLayout()
    boxes = {}
    for number, (code, text) in enumerate(names.items()):
        box = QCheckBox(text[0].upper() + text[1:], parent)
        grid.addWidget(box, number // columns, number % columns)
        boxes[code] = box
    return grid, boxes


class BedsideStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Before the refill",
            "Interrogate the pump, look at the site and "
            "pocket, and ask about symptoms before drawing anything.",
        )
        self.wizard = wizard
        # -- the programmer's reading
        self.reading = QGroupBox("Programmer's reading before the refill", self)
        status_row = QHBoxLayout()
        status_label = QLabel("Pump status:", self.reading)
        self.running = QRadioButton("R&unning", self.reading)
        self.stopped = QRadioButton("Sto&pped", self.reading)
        self.status = QButtonGroup(self)
        self.status.addButton(self.running)
        self.status.addButton(self.stopped)
        status_row.addWidget(status_label)
        status_row.addWidget(self.running)
        status_row.addWidget(self.stopped)
        status_row.addStretch(1)
        alarms_grid, alarm_boxes = _boxes(
            {a.value: t for a, t in ALARM_TEXT.items()}, self.reading, 3
        )
        self.alarms = {PumpAlarm(code): box for code, box in alarm_boxes.items()}
        self.reservoir = QuantityEdit(Kind.VOLUME, "interrogated reservoir volume", self.reading)
        reservoir_row = QHBoxLayout()
        reservoir_label = QLabel("&Reservoir volume it reports", self.reading)
        reservoir_label.setBuddy(self.reservoir.line_edit)
        reservoir_row.addWidget(reservoir_label)
        reservoir_row.addWidget(self.reservoir)
        reservoir_row.addStretch(1)
        # asked only when a program since the last fill had a patient bolus (domain-rules §4)
        self.boluses = QLineEdit(self.reading)
        self.boluses.setValidator(QIntValidator(0, 99999, self.boluses))
        self.boluses.setAccessibleName(BOLUSES_LABEL)
        self.boluses.setPlaceholderText("the number it shows")
        self.boluses.setMaximumWidth(self.boluses.fontMetrics().horizontalAdvance("0" * 16))
        self.boluses_label = QLabel(
            "Patient &boluses given since the last fill (programmer)", self.reading
        )
        self.boluses_label.setBuddy(self.boluses)
        self.boluses_row = QWidget(self.reading)
        boluses_row = QHBoxLayout(self.boluses_row)
        boluses_row.setContentsMargins(0, 0, 0, 0)
        boluses_row.addWidget(self.boluses_label)
        boluses_row.addWidget(self.boluses)
        boluses_row.addStretch(1)
        reading = QVBoxLayout(self.reading)
        reading.addLayout(status_row)
        reading.addWidget(QLabel("Alarms it reports (none ticked: no alarm):", self.reading))
        reading.addLayout(alarms_grid)
        reading.addLayout(reservoir_row)
        reading.addWidget(self.boluses_row)
        self.no_programmer = QLabel("Constant-flow pump: it has no programmer to read.", self)
        self.no_programmer.setProperty("role", "muted")
        # the worst case already empty: the time without drug, should this be a restart (§3)
        self.without_drug = QLabel(self)
        self.without_drug.setWordWrap(True)
        self.without_drug.setProperty("role", "notice")
        # -- site and pocket
        self.site = QGroupBox("Site and pocket", self)
        self.site_assessed = QCheckBox("&Site and pocket looked at and felt", self.site)
        site_grid, site_boxes = _boxes({f.value: t for f, t in FINDING_TEXT.items()}, self.site, 3)
        self.findings = {SiteFinding(code): box for code, box in site_boxes.items()}
        self.site_note = _note("site note", self.site)
        site = QVBoxLayout(self.site)
        site.addWidget(self.site_assessed)
        site.addLayout(site_grid)
        site.addWidget(self.site_note)
        # -- symptoms
        self.symptoms = QGroupBox("Symptoms", self)
        self.symptoms_asked = QCheckBox("As&ked about withdrawal and overdose", self.symptoms)
        self.withdrawal = QCheckBox(
            "Signs of &withdrawal (itching, spasms, fever, confusion)", self.symptoms
        )
        self.overdose = QCheckBox(
            "Signs of &overdose (drowsiness, weakness, slow breathing)", self.symptoms
        )
        self.symptoms_note = _note("symptoms note", self.symptoms)
        symptoms = QVBoxLayout(self.symptoms)
        for widget in (self.symptoms_asked, self.withdrawal, self.overdose, self.symptoms_note):
            symptoms.addWidget(widget)
        #: A pump computed empty, maybe empty or past its alarm: said again here, where the
        #: patient's condition is asked (domain-rules §3).
        self.state_notice = QLabel(self)
        self.state_notice.setWordWrap(True)
        self.state_notice.setProperty("role", "alert")
        self.state_notice.hide()
        self.body.addWidget(self.state_notice)
        self.body.addWidget(self.without_drug)
        self.body.addWidget(self.no_programmer)
        self.body.addWidget(self.reading)
        self.body.addWidget(self.site)
        self.body.addWidget(self.symptoms)
        self.body.addStretch(1)
        for box in (
            self.running,
            self.stopped,
            self.site_assessed,
            self.symptoms_asked,
            self.withdrawal,
            self.overdose,
            *self.alarms.values(),
            *self.findings.values(),
        ):
            box.toggled.connect(self.changed)
        for edit in (self.reservoir.line_edit, self.boluses, self.site_note, self.symptoms_note):
            edit.textChanged.connect(self.changed)

    def enter(self) -> None:
        constant = self.wizard.constant_flow
        self.no_programmer.setVisible(constant)
        self.reading.setVisible(not constant)
        self.boluses_row.setVisible(self.boluses_asked())
        stored, plan = self.wizard.chart.forecast, self.wizard.base_plan
        notice = "" if plan is None else before_refill_notice(plan.state, plan.may_have_run_dry_at)
        self.state_notice.setText(notice)
        self.state_notice.setVisible(bool(notice))
        text = (
            ""
            if stored is None or plan is None or plan.first_fill
            else before_refill_text(
                stored.empty_at_worst_case, self.wizard.at_aware(), self.wizard.clinic.tz
            )
        )
        self.without_drug.setText(text)
        self.without_drug.setVisible(bool(text))

    def boluses_asked(self) -> bool:
        plan = self.wizard.base_plan
        return not self.wizard.constant_flow and plan is not None and plan.asks_patient_boluses

    def patient_boluses(self) -> int | None:
        """The count typed (None: not asked, or left empty: not known)."""
        text = self.boluses.text().strip()
        return int(text) if self.boluses_asked() and text.isdigit() else None

    def interrogation(self) -> Interrogation | None:
        """The reading typed (None: a constant-flow pump, or not complete)."""
        reservoir = self.reservoir.quantity()
        if self.wizard.constant_flow or reservoir is None or self.status.checkedButton() is None:
            return None
        status = PumpStatus.RUNNING if self.running.isChecked() else PumpStatus.STOPPED
        try:
            return Interrogation(
                status,
                frozenset(a for a, box in self.alarms.items() if box.isChecked()),
                reservoir,
                self.patient_boluses(),
            )
        except PumpMgrError:  # a negative volume: problems() says why
            return None

    def findings_entered(self) -> BedsideFindings:
        return BedsideFindings(
            self.interrogation(),
            SiteAssessment(
                frozenset(f for f, box in self.findings.items() if box.isChecked()),
                self.site_note.text().strip(),
            ),
            SymptomCheck(
                self.withdrawal.isChecked(),
                self.overdose.isChecked(),
                self.symptoms_note.text().strip(),
            ),
        )

    def problems(self) -> list[str]:
        found = []
        if not self.wizard.constant_flow:
            if self.status.checkedButton() is None:
                found.append("pump status: choose Running or Stopped as the programmer reads it")
            reservoir = self.reservoir.quantity()
            capacity = self.wizard.pump.capacity
            if reservoir is None:
                found.append(
                    self.reservoir.error_text()
                    or "reservoir volume: enter the volume the programmer reports, in mL"
                )
            elif reservoir.to(ML).m < 0 or reservoir > capacity:
                found.append(
                    f"reservoir volume: {format_quantity(reservoir, Kind.VOLUME)} is "
                    f"not within 0 to {format_quantity(capacity, Kind.VOLUME)}"
                )
            if self.wizard.boluses_error:
                found.append(self.wizard.boluses_error)
        if not self.site_assessed.isChecked():
            found.append("tick 'Site and pocket looked at and felt'")
        elif (
            any(b.isChecked() for b in self.findings.values()) and not self.site_note.text().strip()
        ):
            found.append("site note: say what you found at the site or pocket")
        if not self.symptoms_asked.isChecked():
            found.append("tick 'Asked about withdrawal and overdose'")
        elif (self.withdrawal.isChecked() or self.overdose.isChecked()) and not (
            self.symptoms_note.text().strip()
        ):
            found.append("symptoms note: say which signs you found")
        return found

    def first_input(self) -> QWidget | None:
        return self.site_assessed if self.wizard.constant_flow else self.running
