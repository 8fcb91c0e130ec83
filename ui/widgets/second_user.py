"""SecondUserBox: the second nurse's own user name and password, as the refill wizard asks
them and the refill correction asks them again (domain-rules §8: a refill is saved with the
second nurse's verification).

UI layer: imports PySide6 and :mod:`pumpmgr.services.inputs` (:class:`Verification`). The box
only gathers what is typed; the service checks the password and that it is another user.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from pumpmgr.services.inputs import Verification

#: What is said while the box is not filled in.
NOT_ENTERED = "the second nurse enters their own user name and password"


class SecondUserBox(QGroupBox):
    """The "Second nurse's own account" group: a user name and a password (never shown)."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        user_label: str = "&User name",
        password_label: str = "&Password",
    ) -> None:
        super().__init__("Second nurse's own account", parent)
        self.username = QLineEdit(self)
        self.username.setMaxLength(64)
        self.username.setAccessibleName("Second nurse's user name")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1024)
        self.password.setAccessibleName("Second nurse's password")
        self.form = QFormLayout(self)
        for text, widget in ((user_label, self.username), (password_label, self.password)):
            label = QLabel(text, self)
            label.setBuddy(widget)
            self.form.addRow(label, widget)

    def missing(self) -> str:
        """What is still to be typed ('' when both are)."""
        return "" if self.username.text().strip() and self.password.text() else NOT_ENTERED

    def verification(self) -> Verification:
        return Verification(self.username.text().strip(), self.password.text())

    def refused(self) -> None:
        """After a refused password: the password box emptied and focused for another try."""
        self.password.clear()
        self.password.setFocus()
