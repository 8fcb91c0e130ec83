"""A titled list of "name: value" lines whose values can be selected and read by tests.

UI layer: imports PySide6 only. Values are text already formatted by the caller (through
:mod:`pumpmgr.formatting`); :attr:`FieldList.values` maps each line's key to its label so a
test reads exactly what a nurse sees.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

#: (key, name shown, value shown, emphasis word or '')
Field = tuple[str, str, str, str]


class FieldList(QGroupBox):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.form = QFormLayout(self)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(3)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        #: Each line's value label by key.
        self.values: dict[str, QLabel] = {}
        #: The lines shown, less their values: (key, name, emphasis) each.
        self._lines: list[tuple[str, str, str]] = []

    def set_fields(self, fields: Sequence[Field]) -> None:
        """Show ``fields``. When only the values differ from the lines shown (the next patient
        of the same kind), the labels are kept and given the new texts rather than made,
        styled and laid out again (its figure: docs/performance.md)."""
        lines = [(key, name, emphasis) for key, name, _value, emphasis in fields]
        if lines == self._lines and len(self.values) == len(fields):
            for key, _name, value, _emphasis in fields:
                self.values[key].setText(value)
            return
        self._lines = lines
        while self.form.rowCount():
            self.form.removeRow(0)
        self.values = {}
        for key, name, value, emphasis in fields:
            label = QLabel(name, self)
            label.setProperty("role", "fieldname")
            shown = QLabel(value, self)
            shown.setWordWrap(True)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            shown.setAccessibleName(name)
            if emphasis:
                shown.setProperty("role", emphasis)
            self.form.addRow(label, shown)
            self.values[key] = shown

    def text(self, key: str) -> str:
        return self.values[key].text()
