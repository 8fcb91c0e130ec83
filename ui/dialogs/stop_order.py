"""The Stop order (domain-rules §6) on the patient's page: a prescriber stops one drug of the
pump with their own password (Prescriber → Stop a drug…), and a clinician records how it was
carried out (Stop carried out…).

UI layer: gathers what is typed; the service checks the role, the password and the drug, and
audits each step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.records import PatientChart, StopOrderRecord
from pumpmgr.services import Actor, ClinicService
from pumpmgr.stop_orders import CARRIED_OUT_TEXT, CarriedOut
from ui import icons, messages
from ui.widgets.date_edit import DateEdit


class StopDrugDialog(QDialog):
    """A Stop order of one drug of the patient's pump, signed with the prescriber's password."""

    def __init__(
        self, clinic: ClinicService, chart: PatientChart, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Stop a drug")
        self.setWindowIcon(icons.app_icon())
        title = QLabel(f"Stop order for {chart.patient.display_name}", self)
        title.setProperty("role", "title")
        intro = QLabel(
            "Stopping a drug is its own order, never a dose of zero. The nurse is "
            "reminded on the page and the worksheet until the stop is carried out.",
            self,
        )
        intro.setWordWrap(True)
        library = clinic.library()
        self.drug = QComboBox(self)
        self.drug.setAccessibleName("Drug")
        for ingredient in chart.prescription.ingredients if chart.prescription else ():
            self.drug.addItem(library.drug(ingredient.drug).name, ingredient.drug)
        now = clinic.clock.now().astimezone(clinic.tz)
        self.effective = DateEdit(
            "takes effect",
            self,
            with_time=True,
            value=now.replace(second=0, microsecond=0, tzinfo=None),
        )
        self.effective.setAccessibleName("Takes effect")
        self.reason = QPlainTextEdit(self)
        self.reason.setTabChangesFocus(True)
        self.reason.setAccessibleName("Why the drug is stopped")
        self.long_stop = QCheckBox(
            "A long stop: empty the pump and fill it with "
            "preservative-free saline (per the pump's manual)",
            self,
        )
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1024)
        self.password.setAccessibleName("Your password")
        form = QFormLayout()
        for text, widget, field in (
            ("&Drug", self.drug, self.drug),
            ("Takes &effect", self.effective.line_edit, self.effective),
            ("&Why", self.reason, self.reason),
            ("Your pass&word", self.password, self.password),
        ):
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, field)
        form.addRow(self.long_stop)
        buttons = QDialogButtonBox(self)
        self.ok_button = buttons.addButton("&Stop the drug", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        for signal in (
            self.effective.valueChanged,
            self.reason.textChanged,
            self.password.textChanged,
        ):
            signal.connect(self._update)
        self._update()

    def _update(self, *_args: object) -> None:
        self.ok_button.setEnabled(
            self.drug.count() > 0
            and self.effective.moment() is not None
            and bool(self.reason.toPlainText().strip())
            and bool(self.password.text())
        )


def stop_drug(
    parent: QWidget,
    clinic: ClinicService,
    actor: Actor,
    chart: PatientChart,
) -> bool:
    """Prescriber → Stop a drug…: True once the Stop order is saved."""
    if chart.pump is None:
        return False
    dialog = StopDrugDialog(clinic, chart, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    try:
        clinic.stop_orders.give(
            actor,
            dialog.password.text(),
            chart.pump.id,
            str(dialog.drug.currentData()),
            dialog.effective.required_moment(),
            dialog.reason.toPlainText(),
            long_stop=dialog.long_stop.isChecked(),
        )
    except Exception as exc:  # shown; nothing was saved
        messages.show_error(parent, exc, "giving the Stop order")
        return False
    return True


def stop_carried_out(
    parent: QWidget,
    clinic: ClinicService,
    actor: Actor,
    stop: StopOrderRecord,
    done: Callable[[], object],
) -> None:
    """Stop carried out…: what was done, then an optional note."""
    choices = list(CarriedOut)
    chosen = messages.choose(
        parent,
        "Stop carried out",
        f"How the Stop order of {stop.drug.lower()} was carried out:",
        [CARRIED_OUT_TEXT[c].capitalize() for c in choices],
    )
    if chosen is None:
        return
    note = messages.ask_text(
        parent, "Stop carried out", "A note, if any (recorded with your name):"
    )
    if note is None:
        return
    try:
        clinic.stop_orders.record_carried_out(actor, stop.id, choices[chosen], note)
    except Exception as exc:
        messages.show_error(parent, exc, "recording that the stop was carried out")
        return
    done()
