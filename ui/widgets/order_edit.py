"""How the prescriber gave an order a nurse enters (domain-rules §7): spoken, telephone or
written, when, its read-back, and whether the pump was already programmed with it.

The prescriber is named in a line edit that completes the clinic's prescriber accounts; the
service refuses a name that is not one (never free text)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from pumpmgr.services.inputs import OrderGiven
from ui.widgets.date_edit import DateEdit

GIVEN_AS = (("spoken", "Spoken (in person)"), ("telephone", "Telephone"), ("written", "Written"))


def complete_prescribers(edit: QLineEdit, prescribers: list[tuple[int, str, str]]) -> None:
    """Offer the clinic's prescriber accounts (full names) as ``edit`` is typed in."""
    completer = QCompleter([full for _id, _user, full in prescribers], edit)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    edit.setCompleter(completer)
    names = ", ".join(full for _id, _user, full in prescribers) or "none yet"
    edit.setToolTip(f"One of the clinic's prescriber accounts: {names}")


class OrderEdit:
    """The nurse's record of an order (not needed when the prescriber enters their own): its
    inputs, added as rows of the form that holds the prescriber (:meth:`add_rows`)."""

    def __init__(self, now: datetime, parent: QWidget) -> None:
        self.given_as = QComboBox(parent)
        self.given_as.setAccessibleName("Order given as")
        self.given_as.addItem("choose how it was given", None)
        for value, text in GIVEN_AS:
            self.given_as.addItem(text, value)
        # typed in the clinic's format or ISO, like every date (issue 13); not after now
        self.given_at = DateEdit(
            "order given at",
            parent,
            with_time=True,
            value=now.replace(second=0, microsecond=0, tzinfo=None),
            latest=now.date(),
        )
        self.given_at.setAccessibleName("Order given at")
        self.read_back = QCheckBox("Read back to the prescriber and confirmed", parent)
        self.programmed = QCheckBox(
            "The pump was already programmed with it (record what happened)", parent
        )

    def add_rows(self, form: QFormLayout, parent: QWidget) -> None:
        for text, widget in (("Order &given as", self.given_as), ("Given a&t", self.given_at)):
            label = QLabel(text, parent)
            label.setBuddy(widget.line_edit if isinstance(widget, DateEdit) else widget)
            form.addRow(label, widget)
        form.addRow(self.read_back)
        form.addRow(self.programmed)

    def set_given_as(self, value: str) -> None:
        self.given_as.setCurrentIndex(self.given_as.findData(value))

    def order(self, tz: tzinfo) -> OrderGiven | None:
        """The order as typed, or None while how it was given is not chosen."""
        value = self.given_as.currentData()
        if value is None:
            return None
        moment = self.given_at.moment()
        if moment is None:
            return None
        return OrderGiven(
            str(value), moment.replace(tzinfo=tz), read_back_confirmed=self.read_back.isChecked()
        )

    def problem(self) -> str:
        """What is missing before saving, in the words of the form ("" when nothing)."""
        value = self.given_as.currentData()
        if value is None:
            return "choose how the prescriber gave the order"
        if self.given_at.moment() is None:
            return self.given_at.error_text() or "enter when the order was given"
        if value in ("spoken", "telephone") and not self.read_back.isChecked():
            return "read the order back to the prescriber and tick that it was confirmed"
        return ""
