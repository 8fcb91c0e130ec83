"""Step 9 of the refill wizard: the second nurse's independent check with their own
password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from pumpmgr.units import Kind
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.second_user import SecondUserBox
from ui.wizards import refill_checks
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import wrapped_label

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


class VerifyStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Second nurse",
            "Second nurse: read the syringe label and the pump "
            "yourself and enter what you see. The first nurse's entries are not "
            "shown; a difference stops the save.",
        )
        self.wizard = wizard
        account = self.account = SecondUserBox(self)
        self.username, self.password = account.username, account.password
        self.concentration_form = QFormLayout()
        self.concentrations: list[QuantityEdit] = []
        self.volume = QuantityEdit(Kind.VOLUME, "volume added (second nurse)", self)
        self.lot = QLineEdit(self)
        self.lot.setMaxLength(64)
        self.lot.setAccessibleName("Lot number (second nurse)")
        self.message = wrapped_label(" ", self, "error")
        self.message.setAccessibleName("Verification message")
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
        for signal in (
            self.username.textChanged,
            self.password.textChanged,
            self.volume.line_edit.textChanged,
            self.lot.textChanged,
        ):
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
                edit = QuantityEdit(
                    Kind.CONCENTRATION,
                    f"{ingredient.drug} concentration (second nurse)",
                    self,
                    mass_unit=ingredient.display_unit,
                )
                edit.line_edit.textChanged.connect(self._typed)
                label = QLabel(
                    f"{ingredient.drug.capitalize()} &concentration"
                    if len(ingredients) == 1
                    else f"{ingredient.drug.capitalize()} concentration",
                    self,
                )
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
        if account := self.account.missing():
            found.append(account)
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
