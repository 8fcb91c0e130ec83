"""The list of orders awaiting a prescriber (domain-rules §7): a prescriber's first screen.

UI layer over :meth:`pumpmgr.services.orders.OrderService.awaiting_signature`: declined orders
until a new one replaces them, unsigned high-risk orders, orders waiting for the signature
before programming, then those awaiting co-signature; overdue ones say so in words. The named
prescriber signs or declines with their own password; a nurse records that a held order was
programmed all the same. Each step is the service's, audited there.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.formatting import format_datetime
from pumpmgr.orders import OrderState
from pumpmgr.records import OrderRecord
from pumpmgr.services import Actor, ClinicService
from ui import messages
from ui.dialogs.sign_order import SignOrderDialog
from ui.screens.records_models import _ReadOnlyTable
from ui.widgets.record_table import record_table
from ui.widgets.style_state import set_role

_Index = QModelIndex | QPersistentModelIndex


class OrderColumn(IntEnum):
    STATE = 0
    PATIENT = 1
    SOLUTION = 2
    PRESCRIBER = 3
    ENTERED = 4
    FINDINGS = 5


class OrdersModel(_ReadOnlyTable):
    headers = ("State", "Patient", "Order", "Prescriber", "Entered", "Dose checks")

    def __init__(self, clinic: ClinicService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic

    def set_rows(self, rows: list[OrderRecord]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[OrderRecord]:
        return list(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index) or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        order: OrderRecord = self._rows[index.row()]
        column = OrderColumn(index.column())
        if column is OrderColumn.STATE:
            return order.state_text + (" (overdue)" if order.overdue else "")
        if column is OrderColumn.PATIENT:
            return f"{order.patient} (MRN {order.mrn})"
        if column is OrderColumn.SOLUTION:
            return f"{order.dose} ({order.solution})"
        if column is OrderColumn.PRESCRIBER:
            return order.prescriber
        if column is OrderColumn.ENTERED:
            given = "" if order.given_as is None else f", {order.given_as}"
            return (
                f"{format_datetime(order.entered_at.astimezone(self.clinic.tz))} by "
                f"{order.entered_by}{given}"
            )
        return "; ".join(order.findings) or "ok"


class OrdersScreen(QWidget):
    """Orders awaiting a prescriber, with Sign, Decline and Recorded as programmed."""

    #: The patient to open (the window shows their page).
    open_patient = Signal(int)
    #: An order was signed, declined or recorded as programmed (the badge counts again).
    changed = Signal()

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.actor: Actor | None = None
        title = QLabel("Orders to sign", self)
        title.setProperty("role", "title")
        self.only_mine = QCheckBox("Only the orders that name &me", self)
        self.only_mine.toggled.connect(lambda _on: self.refresh())
        self.model = OrdersModel(clinic, self)
        self.table = record_table(self.model, "Orders awaiting a prescriber", self)
        self.table.doubleClicked.connect(lambda _index: self._open_patient())
        self.empty = QLabel("No order awaits a prescriber.", self)
        self.empty.setProperty("role", "muted")
        #: The selected order's dose checks, whole (the table's column elides them).
        self.checks = QLabel(" ", self)
        self.checks.setWordWrap(True)
        self.checks.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checks.setAccessibleName("Dose checks of the selected order")
        self.sign_button = QPushButton("&Sign…", self)
        self.decline_button = QPushButton("&Decline…", self)
        self.programmed_button = QPushButton("Recorded as &programmed", self)
        self.programmed_button.setToolTip(
            "The pump was programmed with this order on the prescriber's spoken word before "
            "it was signed: it becomes an unsigned high-risk order"
        )
        self.patient_button = QPushButton("&Open patient", self)
        self.sign_button.clicked.connect(lambda: self.decide(decline=False))
        self.decline_button.clicked.connect(lambda: self.decide(decline=True))
        self.programmed_button.clicked.connect(self.record_programmed)
        self.patient_button.clicked.connect(self._open_patient)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update())
        buttons = QHBoxLayout()
        for button in (
            self.sign_button,
            self.decline_button,
            self.programmed_button,
            self.patient_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.only_mine)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.checks)
        layout.addLayout(buttons)
        self._update()

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        prescriber = actor is not None and actor.role == "prescriber"
        self.only_mine.setVisible(prescriber)
        self.only_mine.setChecked(prescriber)

    def refresh(self) -> None:
        mine = (
            self.actor.id
            if self.actor is not None
            and self.only_mine.isChecked()
            and self.actor.role == "prescriber"
            else None
        )
        self.model.set_rows(self.clinic.orders.awaiting_signature(mine))
        self.empty.setVisible(self.model.rowCount() == 0)
        if self.model.rowCount():
            self.table.selectRow(0)
        self._update()

    def selected(self) -> OrderRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows()[rows[0].row()] if rows else None

    def _update(self) -> None:
        order = self.selected()
        role = "" if self.actor is None else self.actor.role
        mine = (
            order is not None and self.actor is not None and (order.prescriber_id == self.actor.id)
        )
        open_state = order is not None and order.state != OrderState.DECLINED
        self.sign_button.setEnabled(mine and open_state)
        self.decline_button.setEnabled(mine and open_state)
        self.programmed_button.setEnabled(
            order is not None
            and role in ("nurse", "prescriber")
            and order.state == OrderState.AWAITING_SIGNATURE
        )
        self.patient_button.setEnabled(order is not None)
        findings = [] if order is None else list(order.findings)
        self.checks.setText(
            " "
            if order is None
            else f"Dose checks of {order.patient}'s order: "
            + ("; ".join(findings) if findings else "ok")
        )
        set_role(self.checks, "error" if findings else "muted")
        if order is not None and not mine and role == "prescriber":
            self.sign_button.setToolTip(f"Only {order.prescriber}, whom the order names, signs it")
        else:
            self.sign_button.setToolTip("Sign with your own password")

    def decide(self, *, decline: bool) -> bool:
        order = self.selected()
        if order is None or self.actor is None:
            return False
        dialog = SignOrderDialog(
            order,
            decline=decline,
            entered_at_text=format_datetime(order.entered_at.astimezone(self.clinic.tz)),
            parent=self,
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        try:
            if decline:
                self.clinic.orders.decline_order(
                    self.actor, order.prescription_id, dialog.password.text(), dialog.reason_text()
                )
            else:
                self.clinic.orders.sign_order(
                    self.actor, order.prescription_id, dialog.password.text()
                )
        except Exception as exc:  # shown to the prescriber; nothing was saved
            messages.show_error(
                self, exc, "declining the order" if decline else "signing the order"
            )
            return False
        self.refresh()
        self.changed.emit()
        return True

    def record_programmed(self) -> bool:
        order = self.selected()
        if order is None or self.actor is None:
            return False
        if not messages.confirm(
            self,
            "Recorded as programmed",
            f"Record that {order.patient}'s pump was programmed with {order.solution} "
            "before the prescriber signed it? It becomes an unsigned high-risk order, "
            "overdue sooner, and every forecast uses it.",
            yes="Record it",
            no="Cancel",
        ):
            return False
        try:
            self.clinic.orders.record_programmed(self.actor, order.prescription_id)
        except Exception as exc:
            messages.show_error(self, exc, "recording the order as programmed")
            return False
        self.refresh()
        self.changed.emit()
        return True

    def _open_patient(self) -> None:
        order = self.selected()
        if order is not None:
            self.open_patient.emit(order.patient_id)
