"""FirstDoseEdit: the question a drug the patient has no record of needs (domain-rules §6).

UI layer: imports PySide6, :mod:`pumpmgr.services` (which drugs have no record:
``PrescriptionService.first_prescriptions``), :mod:`pumpmgr.wording` (the question and the two
answers, the same words the record and the audit use) and
:class:`~ui.widgets.quantity_edit.QuantityEdit`.

A drug's first prescription here is the patient's first dose, checked as a start, unless the
entry says the patient already receives it, with the daily dose it continues (a therapy
transferred in). Neither answer is picked beforehand: the form cannot be saved until each drug
has one, so the start check is never skipped by a default nobody saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QGroupBox, QLabel, QRadioButton, QVBoxLayout, QWidget

from pumpmgr.formatting import MassUnit
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PrescriptionInput
from pumpmgr.units import Kind, Quantity
from pumpmgr.wording import CONTINUES_ANSWER, FIRST_DOSE_ANSWER, first_on_record_question
from ui.widgets.quantity_edit import QuantityEdit


@dataclass(frozen=True)
class FirstDrug:
    """A drug the patient has no record of, as the question names it."""

    key: str
    name: str  #: "Morphine"
    unit: MassUnit  #: the drug's display unit, in which the continued dose is typed


class _Row:
    """One drug's question, its two answers and the dose box of the second."""

    def __init__(self, drug: FirstDrug, parent: QWidget, layout: QVBoxLayout) -> None:
        self.drug = drug
        self.question = QLabel(first_on_record_question(drug.name), parent)
        self.question.setWordWrap(True)
        self.first = QRadioButton(FIRST_DOSE_ANSWER.capitalize(), parent)
        self.continues = QRadioButton(f"{CONTINUES_ANSWER.capitalize()}, daily dose:", parent)
        self.group = QButtonGroup(parent)
        self.group.addButton(self.first)
        self.group.addButton(self.continues)
        self.dose = QuantityEdit(
            Kind.DOSE_RATE, f"{drug.name.lower()} dose continued", parent, mass_unit=drug.unit
        )
        self.dose.setEnabled(False)
        for widget in (self.question, self.first, self.continues, self.dose):
            layout.addWidget(widget)

    def remove(self) -> None:
        for widget in (self.question, self.first, self.continues, self.dose):
            widget.setParent(None)
            widget.deleteLater()


class FirstDoseEdit(QGroupBox):
    """For each drug the patient has no record of: a first dose, or the dose it continues."""

    #: An answer or the dose typed changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("First dose?", parent)
        self._layout = QVBoxLayout(self)
        self._rows: list[_Row] = []
        self.hide()

    def set_drugs(self, drugs: Sequence[FirstDrug]) -> None:
        """Ask about ``drugs`` (none: hidden); the answers of a drug asked already stay."""
        if [r.drug for r in self._rows] == list(drugs):
            return
        kept = {r.drug: r for r in self._rows}
        for gone in self._rows:
            if gone.drug not in drugs:
                gone.remove()
        self._rows = []
        for drug in drugs:
            asked = kept.get(drug)
            if asked is None:
                asked = _Row(drug, self, self._layout)
                asked.group.buttonToggled.connect(lambda *_a, r=asked: self._toggled(r))
                asked.dose.quantityChanged.connect(lambda _q: self.changed.emit())
            self._rows.append(asked)
        self.setVisible(bool(self._rows))
        self.changed.emit()

    def _toggled(self, row: _Row) -> None:
        row.dose.setEnabled(row.continues.isChecked())
        self.changed.emit()

    def continues(self) -> dict[str, Quantity]:
        """The dose each drug answered "continues" with (by key); the others are starts."""
        return {
            r.drug.key: dose
            for r in self._rows
            if r.continues.isChecked() and (dose := r.dose.quantity()) is not None
        }

    def problem(self) -> str:
        """What is missing before saving, '' when every drug has its answer."""
        for row in self._rows:
            if not (row.first.isChecked() or row.continues.isChecked()):
                return (
                    f"answer for {row.drug.name.lower()}: {FIRST_DOSE_ANSWER}, or "
                    f"{CONTINUES_ANSWER}"
                )
            if row.continues.isChecked() and row.dose.quantity() is None:
                return (
                    row.dose.error_text()
                    or f"enter the {row.drug.name.lower()} daily dose the patient receives now"
                )
        return ""


def first_drugs(clinic: ClinicService, pump_id: int, data: PrescriptionInput) -> list[FirstDrug]:
    """The drugs of ``data`` the patient has no record of, as the question names them (the
    service decides which: ``PrescriptionService.first_prescriptions``)."""
    library = clinic.library()
    return [
        FirstDrug(key, library.drug(key).name, library.drug(key).display_unit)
        for key in clinic.prescriptions.first_prescriptions(pump_id, data)
    ]
