"""The prescriber signs or declines an order with their own password (domain-rules §7).

UI layer: gathers the password (and, to decline, the reason); the order service checks the
password, that the order names this prescriber and that it still waits for a decision.
"""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.formatting import format_datetime
from pumpmgr.records import OrderRecord
from ui import icons

#: The longest reason kept for a declined order.
REASON_LENGTH = 2000


class SignOrderDialog(QDialog):
    """Sign (``decline=False``) or decline one order."""

    def __init__(
        self,
        order: OrderRecord,
        *,
        decline: bool,
        entered_at_text: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.decline = decline
        verb = "Decline" if decline else "Sign"
        self.setWindowTitle(f"{verb} the order")
        self.setWindowIcon(icons.app_icon())
        title = QLabel(
            f"{verb} the order for {escape(order.patient)} (MRN {escape(order.mrn)})", self
        )
        title.setProperty("role", "title")
        title.setWordWrap(True)
        entered = entered_at_text or format_datetime(order.entered_at)
        details = [
            f"<b>{escape(order.dose)}</b> ({escape(order.solution)})",
            f"{escape(order.state_text)}",
            f"entered by {escape(order.entered_by)} on {escape(entered)}"
            + ("" if order.given_as is None else f", given as {escape(order.given_as)}"),
        ]
        details += [escape(f) for f in order.findings]
        summary = QLabel("<br>".join(details), self)
        summary.setWordWrap(True)
        form = QFormLayout()
        self.reason = QPlainTextEdit(self)
        self.reason.setAccessibleName("Why the order is declined")
        self.reason.setTabChangesFocus(True)
        self.reason.textChanged.connect(self._update)
        if decline:
            reason_label = QLabel("&Why it is declined", self)
            reason_label.setBuddy(self.reason)
            form.addRow(reason_label, self.reason)
        else:
            self.reason.hide()
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1024)
        self.password.setAccessibleName("Your password")
        self.password.textChanged.connect(self._update)
        password_label = QLabel("Your &password", self)
        password_label.setBuddy(self.password)
        form.addRow(password_label, self.password)
        buttons = QDialogButtonBox(self)
        self.ok_button = buttons.addButton(f"&{verb}", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._update()

    def reason_text(self) -> str:
        return self.reason.toPlainText().strip()[:REASON_LENGTH]

    def _update(self) -> None:
        self.ok_button.setEnabled(
            bool(self.password.text()) and (not self.decline or bool(self.reason_text()))
        )
