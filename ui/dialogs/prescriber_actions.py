"""A prescriber's actions on the patient's page: review an incident (domain-rules §4a), record
the opioid status, stop a drug, and raise, review or end an individual maximum (§6).

UI layer: gathers what is typed; the services check the role, the second prescriber's password
and the values, and audit each step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.formatting import MassUnit
from pumpmgr.records import PatientChart
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.inputs import Verification
from pumpmgr.units import Kind
from ui import icons, messages
from ui.dialogs.stop_order import stop_drug
from ui.widgets.quantity_edit import QuantityEdit


class RaiseMaximumDialog(QDialog):
    """A clinic-policy hard maximum raised for this patient, with a second prescriber."""

    def __init__(
        self, clinic: ClinicService, chart: PatientChart, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Raise an individual maximum")
        self.setWindowIcon(icons.app_icon())
        library = clinic.library()
        title = QLabel(f"Individual maximum for {chart.patient.display_name}", self)
        title.setProperty("role", "title")
        intro = QLabel(
            "Raises the clinic's policy hard maximum of one drug for this patient "
            "only. A second prescriber signs it with their own password; it is "
            "reviewed at least every 6 months. Label maxima cannot be raised.",
            self,
        )
        intro.setWordWrap(True)
        self.drug = QComboBox(self)
        self.drug.setAccessibleName("Drug")
        keys = (
            [i.drug for i in chart.prescription.ingredients]
            if chart.prescription is not None
            else []
        )
        for key in keys:
            drug = library.drug(key)
            self.drug.addItem(drug.name, (drug.key, drug.display_unit))
        unit: MassUnit = library.drug(keys[0]).display_unit if keys else "mcg"
        self.maximum = QuantityEdit(
            Kind.DOSE_RATE, "individual maximum", self, mass_unit=unit, example=f"3000 {unit}/day"
        )
        self.reason = QPlainTextEdit(self)
        self.reason.setTabChangesFocus(True)
        self.reason.setAccessibleName("Why it is raised")
        self.second_user = QLineEdit(self)
        self.second_user.setMaxLength(64)
        self.second_user.setAccessibleName("Second prescriber's user name")
        self.second_password = QLineEdit(self)
        self.second_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.second_password.setMaxLength(1024)
        self.second_password.setAccessibleName("Second prescriber's password")
        form = QFormLayout()
        for text, widget in (
            ("&Drug", self.drug),
            ("&Maximum a day", self.maximum.line_edit),
            ("&Why", self.reason),
            ("Second prescriber's &user name", self.second_user),
            ("Second prescriber's pass&word", self.second_password),
        ):
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, self.maximum if widget is self.maximum.line_edit else widget)
        buttons = QDialogButtonBox(self)
        self.ok_button = buttons.addButton(
            "&Raise the maximum", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        for signal in (
            self.maximum.validityChanged,
            self.reason.textChanged,
            self.second_user.textChanged,
            self.second_password.textChanged,
        ):
            signal.connect(self._update)
        self._update()

    def _update(self, *_args: object) -> None:
        self.ok_button.setEnabled(
            self.drug.count() > 0
            and self.maximum.is_valid()
            and bool(self.reason.toPlainText().strip())
            and bool(self.second_user.text().strip())
            and bool(self.second_password.text())
        )

    def drug_key(self) -> str:
        data = self.drug.currentData()
        return str(data[0]) if data else ""


def raise_maximum(
    parent: QWidget, clinic: ClinicService, actor: Actor, chart: PatientChart
) -> bool:
    dialog = RaiseMaximumDialog(clinic, chart, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    maximum = dialog.maximum.quantity()
    if maximum is None:
        return False
    try:
        clinic.maxima.raise_maximum(
            actor,
            Verification(dialog.second_user.text().strip(), dialog.second_password.text()),
            chart.patient.id,
            dialog.drug_key(),
            maximum,
            dialog.reason.toPlainText(),
        )
    except Exception as exc:  # shown; nothing was saved
        messages.show_error(parent, exc, "raising the individual maximum")
        return False
    return True


def add_prescriber_actions(
    menu: QMenu,
    parent: QWidget,
    clinic: ClinicService,
    actor: Actor,
    chart: PatientChart,
    done: Callable[[], object],
) -> None:
    """Fill ``menu`` with what a prescriber may do for the patient of ``chart``; ``done`` is
    called after a step is saved (the page reads the chart again)."""

    # each menu entry's own incident or drug, bound now (not the loop's last one)
    def review_incident(incident_id: int) -> Callable[[], None]:
        return lambda: _review_incident(parent, clinic, actor, incident_id, done)

    def maximum_step(drug: str, step: str) -> Callable[[], None]:
        return lambda: _maximum_step(parent, clinic, actor, chart, drug, step, done)

    menu.clear()
    for incident in chart.open_incidents:
        menu.addAction(f"Review the incident: {incident.text}…", review_incident(incident.id))
    menu.addAction(
        "Record the &opioid status…",
        lambda: _record_opioid_status(parent, clinic, actor, chart, done),
    )
    menu.addAction("&Stop a drug…", lambda: stop_drug(parent, clinic, actor, chart) and done())
    menu.addAction(
        "Raise an individual &maximum…",
        lambda: raise_maximum(parent, clinic, actor, chart) and done(),
    )
    for maximum in chart.individual_maxima:
        name = maximum.drug.lower()
        menu.addAction(f"Review the {name} maximum…", maximum_step(maximum.drug_key, "review"))
        menu.addAction(f"End the {name} maximum…", maximum_step(maximum.drug_key, "end"))


#: The opioid status as the prescriber picks it; not recorded counts as naive (domain-rules §6).
_OPIOID_CHOICES: tuple[tuple[Literal["naive", "tolerant"] | None, str], ...] = (
    ("naive", "Opioid-naive"),
    ("tolerant", "Opioid-tolerant (the FDA's definition)"),
    (None, "Not recorded (the dose checks count the patient as opioid-naive)"),
)


def _record_opioid_status(
    parent: QWidget,
    clinic: ClinicService,
    actor: Actor,
    chart: PatientChart,
    done: Callable[[], object],
) -> None:
    chosen = messages.choose(
        parent,
        "Opioid status",
        f"{chart.patient.display_name}: the opioid status picks the start "
        "range a start or restart is checked against.",
        [words for _, words in _OPIOID_CHOICES],
    )
    if chosen is None:
        return
    try:
        clinic.set_opioid_status(actor, chart.patient.id, _OPIOID_CHOICES[chosen][0])
    except Exception as exc:
        messages.show_error(parent, exc, "recording the opioid status")
        return
    done()


def _review_incident(
    parent: QWidget,
    clinic: ClinicService,
    actor: Actor,
    incident_id: int,
    done: Callable[[], object],
) -> None:
    note = messages.ask_text(
        parent, "Review the incident", "What was done (recorded with your name):"
    )
    if note is None:
        return
    try:
        clinic.orders.review_incident(actor, incident_id, note)
    except Exception as exc:
        messages.show_error(parent, exc, "reviewing the incident")
        return
    done()


def _maximum_step(
    parent: QWidget,
    clinic: ClinicService,
    actor: Actor,
    chart: PatientChart,
    drug: str,
    step: str,
    done: Callable[[], object],
) -> None:
    label = (
        "Why it is still needed (the next review is due in 6 months):"
        if step == "review"
        else "Why it ends (the library's hard maximum applies again):"
    )
    note = messages.ask_text(parent, "Individual maximum", label)
    if note is None:
        return
    try:
        if step == "review":
            clinic.maxima.review_maximum(actor, chart.patient.id, drug, note)
        else:
            clinic.maxima.end_maximum(actor, chart.patient.id, drug, note)
    except Exception as exc:
        messages.show_error(
            parent, exc, f"{'reviewing' if step == 'review' else 'ending'} the individual maximum"
        )
        return
    done()
