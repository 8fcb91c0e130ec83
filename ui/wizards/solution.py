"""SolutionEdit: the drugs of a solution and their concentrations, one line per drug.

UI layer: imports PySide6, :mod:`pumpmgr.catalogs` (the clinic's drug library),
:mod:`pumpmgr.records` (:class:`Ingredient`) and the QuantityEdit. The first line is the dosed
drug (the schedule is written in it); more lines make an admixture, each drug with its own
concentration. Each concentration box reads in the drug's display unit (morphine in mg,
baclofen in mcg), so ``2 mg/mL`` of baclofen is read back as ``2000 mcg/mL`` before anything is
saved. With ``drugs_locked`` only the concentrations can change (a new concentration of the
same drugs).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.catalogs import DrugLibrary
from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import editable_text
from pumpmgr.records import Ingredient
from pumpmgr.units import Kind
from ui.widgets.quantity_edit import QuantityEdit

#: At most this many drugs in one solution.
MAX_DRUGS = 4


class _DrugRow(QWidget):
    changed = Signal()
    removed = Signal(object)

    def __init__(
        self,
        library: DrugLibrary,
        number: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.drug = QComboBox(self)
        self.drug.setAccessibleName(f"drug {number}")
        self.drug.addItem("choose the drug…", "")
        for drug in library:
            self.drug.addItem(drug.name, drug.key)
        self.concentration = QuantityEdit(
            Kind.CONCENTRATION, f"concentration of drug {number}", self
        )
        self.remove = QPushButton("Remove", self)
        self.remove.setAutoDefault(False)
        self.remove.setToolTip("Take this drug out of the solution")
        self.remove.clicked.connect(lambda: self.removed.emit(self))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.drug, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.concentration, 1)
        layout.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignTop)
        self.drug.currentIndexChanged.connect(self._drug_changed)
        self.concentration.line_edit.textChanged.connect(self.changed)

    def key(self) -> str:
        return str(self.drug.currentData() or "")

    def set_key(self, key: str) -> None:
        index = self.drug.findData(key)
        self.drug.setCurrentIndex(max(0, index))

    def _drug_changed(self) -> None:
        key = self.key()
        if key:
            drug = self.library.drug(key)
            self.concentration.mass_unit = drug.display_unit
            self.concentration.field = f"{drug.name.lower()} concentration"
            self.concentration.line_edit.setAccessibleName(self.concentration.field)
            self.concentration.set_text(self.concentration.text())
        self.changed.emit()


class SolutionEdit(QWidget):
    """The drugs of a solution: the dosed drug first, then any others of an admixture."""

    changed = Signal()

    def __init__(self, library: DrugLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.drugs_locked = False
        self.rows: list[_DrugRow] = []
        self._rows = QVBoxLayout()
        self._rows.setSpacing(4)
        self.add_button = QPushButton("Add a drug (ad&mixture)", self)
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add_row().drug.setFocus())
        header = QGridLayout()
        for column, text in enumerate(
            ("Drug (the first is the dosed drug)", "Concentration (with its unit)")
        ):
            label = QLabel(text, self)
            label.setProperty("role", "fieldname")
            header.addWidget(label, 0, column)
        header.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(self._rows)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.add_row()

    def add_row(self) -> _DrugRow:
        row = _DrugRow(self.library, len(self.rows) + 1, self)
        row.changed.connect(self.changed)
        row.removed.connect(self._remove)
        self._rows.addWidget(row)
        self.rows.append(row)
        self._update()
        self.changed.emit()
        return row

    def _remove(self, row: _DrugRow) -> None:
        if len(self.rows) <= 1:
            return
        self.rows.remove(row)
        self._rows.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        locked = self.drugs_locked
        self.add_button.setVisible(not locked)
        self.add_button.setEnabled(len(self.rows) < MAX_DRUGS)
        for row in self.rows:
            row.drug.setEnabled(not locked)
            row.remove.setVisible(not locked and len(self.rows) > 1)

    def set_ingredients(
        self,
        ingredients: Sequence[Ingredient],
        *,
        drugs_locked: bool = False,
        keep_concentrations: bool = True,
    ) -> None:
        """Show ``ingredients``; with ``drugs_locked`` only their concentrations can change;
        without ``keep_concentrations`` the concentration boxes start empty (to be typed)."""
        self.drugs_locked = drugs_locked
        while len(self.rows) > len(ingredients) and len(self.rows) > 1:
            self._remove(self.rows[-1])
        while len(self.rows) < len(ingredients):
            self.add_row()
        for row, ingredient in zip(self.rows, ingredients, strict=False):
            row.set_key(self.library.drug(ingredient.drug).key)
            if keep_concentrations:
                row.concentration.set_text(
                    editable_text(
                        ingredient.concentration, Kind.CONCENTRATION, ingredient.display_unit
                    )
                )
            else:
                row.concentration.clear()
        self._update()
        self.changed.emit()

    def ingredients(self) -> tuple[Ingredient, ...] | None:
        """The solution typed, or None while it is incomplete or wrong (see :meth:`problem`)."""
        if self.problem():
            return None
        result = []
        for row in self.rows:
            drug = self.library.drug(row.key())
            concentration = row.concentration.quantity()
            assert concentration is not None
            result.append(Ingredient(drug.key, concentration, drug.display_unit))
        return tuple(result)

    def problem(self) -> str:
        """Why the solution cannot be used yet, in words ('' when it can)."""
        keys = []
        for number, row in enumerate(self.rows, start=1):
            if not row.key():
                return f"choose drug {number}"
            try:
                drug = self.library.drug(row.key())
            except PumpMgrError as exc:
                return exc.message
            if row.concentration.quantity() is None:
                return (
                    row.concentration.error_text()
                    or f"give the concentration of {drug.name.lower()}"
                )
            keys.append(row.key())
        if len(set(keys)) != len(keys):
            return "each drug can be in the solution once only"
        return ""
