"""What several steps of the refill wizard share: labels and tick boxes, date boxes,
heights in lines and rows, and the plan's doses in words."""

from __future__ import annotations

from datetime import date
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.records import Ingredient
from pumpmgr.visit import VisitPlan
from ui import presentation
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList


def wrapped_label(text: str, parent: QWidget, role: str = "") -> QLabel:
    """A label that wraps and whose text can be selected, with the stylesheet's ``role``."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label


class Confirm(QWidget):
    """A tick box with a short statement and, beneath it, what exactly is confirmed (wrapped,
    so a long sentence never widens the step)."""

    def __init__(self, text: str, explanation: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.box = QCheckBox(text, self)
        self.box.setAccessibleName(text.replace("&", ""))
        self.box.setAccessibleDescription(explanation)
        font = self.box.font()
        font.setBold(True)
        self.box.setFont(font)
        self.explanation = wrapped_label(explanation, self, "muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(0)
        layout.addWidget(self.box)
        indent = QHBoxLayout()
        indent.addSpacing(24)
        indent.addWidget(self.explanation, 1)
        layout.addLayout(indent)


def entered_date(edit: DateEdit) -> date | None:
    """The date entered, or None while the box is empty or its text is not a date."""
    return edit.day()


def date_problem(edit: DateEdit, missing: str) -> str | None:
    """Why the date box holds no date: its own message, or ``missing`` when it is empty."""
    if edit.day() is not None:
        return None
    return edit.error_text() or missing


class ShownFields(FieldList):
    """A field list that rebuilds its lines only when they change (typing re-plans the visit
    on every key)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.shown: list[Field] | None = None

    def show_fields(self, values: list[Field]) -> None:
        if values != self.shown:
            self.set_fields(values)
            self.shown = list(values)


def lines_high(edit: QPlainTextEdit, lines: int) -> int:
    """The height showing ``lines`` lines of text in the edit's font."""
    margin = round(edit.document().documentMargin())
    return edit.fontMetrics().lineSpacing() * lines + 2 * (margin + edit.frameWidth())


def table_height(table: QTableWidget, rows: int) -> int:
    """The height showing the header and ``rows`` rows in the table's font and style."""
    table.ensurePolished()
    return (
        table.horizontalHeader().sizeHint().height()
        + rows * table.verticalHeader().defaultSectionSize()
        + 2 * table.frameWidth()
        + 2
    )


def mass_unit_of(ingredients: tuple[Ingredient, ...]) -> Literal["mcg", "mg"]:
    return ingredients[0].display_unit if ingredients else "mcg"


def doses_text(plan: VisitPlan) -> str:
    return " + ".join(
        f"{d.ingredient.drug} {presentation.dose_text(d.daily_dose, d.ingredient.display_unit)}"
        for d in plan.doses
    )
