"""Steps 10 and 11 of the refill wizard: before and after side by side with Save, then the
completed worksheet and the wallet card to print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from pumpmgr.formatting import format_quantity
from pumpmgr.units import Kind
from pumpmgr.wording import solution_text
from ui import presentation
from ui.widgets.field_list import Field, FieldList
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import wrapped_label

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


@dataclass(frozen=True)
class ReviewRow:
    name: str
    before: str
    after: str
    #: The after column words "no change" itself ("Prescription: unchanged").
    kept: bool = False

    @property
    def changed(self) -> bool:
        return not self.kept and self.before != self.after and self.before != "—"


class ReviewStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Review and save",
            "Before and after, side by side. Save records the "
            "refill, the new prescription if any, and both nurses, in one go.",
        )
        self.wizard = wizard
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(
            ["", "Before this refill", "After this refill", "Change"]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        # Room around wrapped lines, so a two-line value never touches the grid.
        self.table.setStyleSheet("QTableView::item { padding-top: 0.3em; padding-bottom: 0.3em; }")
        self.table.setAccessibleName("Before and after")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.body.addWidget(self.table, 1)
        self.rows: list[ReviewRow] = []

    def enter(self) -> None:
        self.rows = self.wizard.review_rows()
        self.table.setRowCount(len(self.rows))
        for number, row in enumerate(self.rows):
            items = [
                QTableWidgetItem(row.name),
                QTableWidgetItem(row.before),
                QTableWidgetItem(row.after),
                QTableWidgetItem("changed" if row.changed else ""),
            ]
            font = items[0].font()
            font.setBold(True)
            items[0].setFont(font)
            if row.changed:
                for item in items[2:]:
                    item.setFont(font)
            for column, item in enumerate(items):
                self.table.setItem(number, column, item)
        self.table.resizeRowsToContents()

    def text(self, name: str) -> tuple[str, str]:
        row = next(r for r in self.rows if r.name == name)
        return row.before, row.after

    def leave(self) -> bool:
        return self.wizard.save()


class DoneStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__("Saved", "")
        self.wizard = wizard
        self.summary = FieldList("Recorded", self)
        self.worksheet_button = QPushButton("Print the completed &worksheet…", self)
        self.worksheet_button.setAutoDefault(False)
        self.card_button = QPushButton("Print the wallet car&d…", self)
        self.card_button.setAutoDefault(False)
        self.note_button = QPushButton("Copy the visit &note…", self)
        self.note_button.setAutoDefault(False)
        self.note_button.setToolTip(
            "The refill as a note for the hospital's record, on the clipboard"
        )
        self.worksheet_button.clicked.connect(wizard.print_worksheet)
        self.card_button.clicked.connect(wizard.print_card)
        self.note_button.clicked.connect(wizard.copy_note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.worksheet_button)
        buttons.addWidget(self.card_button)
        buttons.addWidget(self.note_button)
        buttons.addStretch(1)
        self.body.addWidget(
            wrapped_label(
                "The refill is saved. Give the patient the new wallet "
                "card when the alarm date or the dose changed.",
                self,
            )
        )
        self.body.addWidget(self.summary)
        self.body.addLayout(buttons)
        self.body.addStretch(1)

    def enter(self) -> None:
        outcome = self.wizard.outcome
        if outcome is None:
            return
        tz = self.wizard.clinic.tz
        refill = outcome.refill
        fields: list[Field] = [
            (
                "refill",
                "Refill",
                f"{presentation.datetime_text(refill.performed_at, tz)}: "
                f"{format_quantity(refill.volume_added, Kind.VOLUME)} of "
                f"{solution_text(refill.ingredients, self.wizard.library)}",
                "",
            ),
            ("nurses", "Nurses", f"{refill.nurse}, verified by {refill.verifier}", ""),
        ]
        if outcome.discrepancy is not None:
            fields.append(("verdict", "Residual", outcome.discrepancy.verdict, ""))
        if outcome.forecast is not None:
            forecast = outcome.forecast
            fields.append(
                (
                    "alarm",
                    "Low-reservoir alarm",
                    presentation.datetime_text(forecast.alarm_at, tz),
                    "",
                )
            )
            fields.append(
                (
                    "refill due",
                    "Next refill due",
                    presentation.date_text(forecast.refill_due),
                    "title",
                )
            )
        self.summary.set_fields(fields)

    def first_input(self) -> QWidget | None:
        return self.worksheet_button
