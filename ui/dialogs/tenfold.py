"""The prescriber's blind re-entry of a change flagged as a possible tenfold error.

UI layer (domain-rules §6): a change to five times or a fifth of the dose stops for the
prescriber, who types each flagged drug's new daily dose again without seeing the first entry
and picks a reason from the list for the change's direction. The service
(:meth:`pumpmgr.services.prescriptions.PrescriptionService.tenfold_question`) says what to
ask; :func:`pumpmgr.services.dose_orders.settle_stop` judges the answer when the change is
saved. This dialog only gathers it.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.formatting import format_quantity
from pumpmgr.services.dose_orders import TenfoldQuestion
from pumpmgr.services.inputs import TenfoldConfirmation, TenfoldReason
from pumpmgr.units import Kind, Quantity
from ui import icons
from ui.widgets.quantity_edit import QuantityEdit

#: The longest free text with "other" (the audit entry keeps it whole).
OTHER_LENGTH = 500


class TenfoldDialog(QDialog):
    """Asks the prescriber for each flagged drug's new daily dose again, and a listed reason."""

    def __init__(self, question: TenfoldQuestion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Possible tenfold error")
        self.setWindowIcon(icons.app_icon())
        self.question = question
        title = QLabel("Possible tenfold error: the prescriber confirms", self)
        title.setProperty("role", "title")
        direction = "an increase" if question.increase else "a decrease"
        intro = QLabel(
            f"This change is {direction} to five times or a fifth of the dose or beyond, as a "
            "slipped decimal point or a mg/mcg slip would be. Only the prescriber saves it: "
            "type the new daily dose again without looking at the first entry, and choose why.",
            self,
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        self.doses: dict[str, QuantityEdit] = {}
        for drug in question.drugs:
            now = format_quantity(drug.current, Kind.DOSE_RATE, drug.unit)
            edit = QuantityEdit(
                Kind.DOSE_RATE,
                f"new daily dose of {drug.name.lower()}",
                self,
                mass_unit=drug.unit,
                example=f"100 {drug.unit}/day",
            )
            edit.validityChanged.connect(self._update)
            label = QLabel(f"{drug.name}, now {now}. &New daily dose", self)
            label.setBuddy(edit.line_edit)
            form.addRow(label, edit)
            self.doses[drug.key] = edit
        self.reason = QComboBox(self)
        self.reason.setAccessibleName("Reason for the change")
        self.reason.addItem("choose a reason", None)
        for reason, words in question.reasons:
            self.reason.addItem(words, reason)
        self.reason.currentIndexChanged.connect(self._update)
        reason_label = QLabel("&Reason", self)
        reason_label.setBuddy(self.reason)
        form.addRow(reason_label, self.reason)
        self.other = QLineEdit(self)
        self.other.setMaxLength(OTHER_LENGTH)
        self.other.setAccessibleName("Why, in words")
        self.other.setPlaceholderText("required with 'other'")
        self.other.textChanged.connect(self._update)
        other_label = QLabel("&Why, in words", self)
        other_label.setBuddy(self.other)
        form.addRow(other_label, self.other)
        self.problem = QLabel(" ", self)
        self.problem.setProperty("role", "error")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.confirm_button = self.buttons.addButton(
            "&Confirm and save", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._update()

    def _chosen(self) -> TenfoldReason | None:
        data = self.reason.currentData()
        return None if data is None else TenfoldReason(data)

    def problem_text(self) -> str:
        """What still stops the confirmation, "" when nothing does."""
        for edit in self.doses.values():
            if not edit.is_valid():
                return f"type the {edit.field} again ({edit.error_text() or 'a dose a day'})"
        reason = self._chosen()
        if reason is None:
            return "choose a reason"
        if reason is TenfoldReason.OTHER and not self.other.text().strip():
            return "say why in words, with 'other'"
        return ""

    def _update(self) -> None:
        problem = self.problem_text()
        self.problem.setText(f"To confirm: {problem}" if problem else " ")
        self.confirm_button.setEnabled(not problem)
        self.other.setEnabled(self._chosen() is TenfoldReason.OTHER)

    def confirmation(self) -> TenfoldConfirmation | None:
        """The re-entry as typed, None while incomplete."""
        reason = self._chosen()
        if self.problem_text() or reason is None:
            return None
        doses: dict[str, Quantity] = {}
        for key, edit in self.doses.items():
            quantity = edit.quantity()
            if quantity is None:
                return None
            doses[key] = quantity
        return TenfoldConfirmation(doses, reason, self.other.text().strip())
