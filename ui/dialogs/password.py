"""Change my password: the current password, the new one twice (File → Change my password…,
and at the sign-in after an administrator reset it).

UI layer: imports PySide6 and :mod:`pumpmgr.services` (``users.change_password``). The service
checks the current password (a wrong one counts as a failed sign-in) and the rules of a new one;
a refusal is shown under the form, naming the field, and the dialog stays open.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.auth import MIN_PASSWORD_LENGTH
from pumpmgr.errors import PumpMgrError
from pumpmgr.services import Actor, ClinicService

#: What the dialog says when an administrator reset the password.
RESET_NOTE = (
    "An administrator reset your password. Choose your own now; until you do, "
    "the window stays locked."
)


def _password_box(parent: QWidget, name: str) -> QLineEdit:
    box = QLineEdit(parent)
    box.setEchoMode(QLineEdit.EchoMode.Password)
    box.setMaxLength(1024)
    box.setAccessibleName(name)
    box.setMinimumWidth(
        box.fontMetrics().horizontalAdvance("at least 8 characters, not the user name") + 16
    )
    return box


class ChangePasswordDialog(QDialog):
    """The signed-in user's own new password."""

    def __init__(
        self,
        clinic: ClinicService,
        actor: Actor,
        parent: QWidget | None = None,
        *,
        required: bool = False,
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor = clinic, actor
        self.setWindowTitle("Change my password")
        who = QLabel(f"{actor.full_name} ({actor.username})", self)
        who.setProperty("role", "title")
        self.note = QLabel(RESET_NOTE, self)
        self.note.setWordWrap(True)
        self.note.setVisible(required)
        self.old = _password_box(self, "Current password")
        self.new = _password_box(self, "New password")
        self.new.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters, not the user name")
        self.repeat = _password_box(self, "New password again")
        self.message = QLabel(" ", self)
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Change the password")
        self.buttons.accepted.connect(self.change)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Current password", self.old)
        form.addRow("&New password", self.new)
        form.addRow("New password &again", self.repeat)
        layout = QVBoxLayout(self)
        layout.addWidget(who)
        layout.addWidget(self.note)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.old.setFocus()

    def change(self) -> bool:
        """Change the password and close; on a refusal say why and stay open."""
        if self.new.text() != self.repeat.text():
            self._refused(
                "New password again: the two new passwords differ; type them again.", self.new
            )
            return False
        try:
            self.clinic.users.change_password(self.actor, self.old.text(), self.new.text())
        except PumpMgrError as exc:
            box = self.old if exc.field == "old password" else self.new
            self._refused(f"Not changed: {exc.message[:1].upper()}{exc.message[1:]}.", box)
            return False
        for box in (self.old, self.new, self.repeat):
            box.clear()
        self.accept()
        return True

    def _refused(self, text: str, focus: QLineEdit) -> None:
        self.message.setText(text)
        for box in (focus, self.repeat) if focus is self.new else (focus,):
            box.clear()
        focus.setFocus()
