"""Signing in: the sign-in form (also used by the lock screen), the sign-in dialog, and the
first start's dialog that creates the clinic's administrator.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``ClinicService.sign_in``,
``has_users``, ``create_first_administrator``) and :mod:`pumpmgr.errors`. A refused sign-in
shows the service's message under the form and keeps the user name; the password is cleared.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.services import Actor, ClinicService
from ui import icons


class SignInForm(QWidget):
    """User name, password, a message line and a submit button; emits the signed-in user."""

    signed_in = Signal(object)  #: the :class:`Actor`

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None, *,
                 submit: str = "Sign in", in_dialog: bool = False, unlock: bool = False,
                 ) -> None:
        super().__init__(parent)
        self.clinic = clinic
        #: The lock screen's form: audited as an unlock, not a sign-in.
        self.unlock = unlock
        self.username = QLineEdit(self)
        self.username.setAccessibleName("User name")
        self.username.setMaxLength(64)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.password.setMaxLength(1024)
        self.message = QLabel(" ", self)
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        self.submit = QPushButton(submit, self)
        self.submit.setDefault(True)
        self.submit.setAutoDefault(True)

        form = QFormLayout()
        form.addRow("&User name", self.username)
        form.addRow("&Password", self.password)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.submit, 0, Qt.AlignmentFlag.AlignRight)

        self.submit.clicked.connect(self.try_sign_in)
        if not in_dialog:  # in a dialog, Enter already presses the default button
            self.username.returnPressed.connect(self.password.setFocus)
            self.password.returnPressed.connect(self.try_sign_in)

    def reset(self, username: str = "") -> None:
        """Empty the password and the message; prefill ``username``; focus the first blank."""
        self.username.setText(username)
        self.password.clear()
        self.message.setText(" ")
        (self.password if username else self.username).setFocus()

    def try_sign_in(self) -> Actor | None:
        name, password = self.username.text().strip(), self.password.text()
        if not name or not password:
            self.message.setText("Enter your user name and password.")
            (self.username if not name else self.password).setFocus()
            return None
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            actor = (self.clinic.users.sign_in(name, password, unlock=True) if self.unlock
                     else self.clinic.sign_in(name, password))
        except PumpMgrError as exc:
            self.password.clear()
            self.password.setFocus()
            self.message.setText(f"Not signed in: {exc.message}.")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.password.clear()
        self.message.setText(" ")
        self.signed_in.emit(actor)
        return actor


class SignInDialog(QDialog):
    """The first sign-in of a session."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None, *,
                 hint: str = "", username: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to pumpmgr")
        self.setWindowIcon(icons.app_icon())
        self.actor: Actor | None = None
        title = QLabel(clinic.settings().clinic_name, self)
        title.setProperty("role", "title")
        self.form = SignInForm(clinic, self, in_dialog=True)
        self.hint = QLabel(hint, self)
        self.hint.setProperty("role", "muted")
        self.hint.setWordWrap(True)
        self.hint.setVisible(bool(hint))
        quit_button = QPushButton("Quit", self)
        quit_button.setAutoDefault(False)
        quit_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(QLabel("Sign in with your own account.", self))
        layout.addWidget(self.form)
        layout.addWidget(self.hint)
        layout.addWidget(quit_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.form.signed_in.connect(self._done)
        self.setMinimumWidth(440)
        self.form.reset(username)

    def _done(self, actor: Actor) -> None:
        self.actor = actor
        self.accept()

    @classmethod
    def ask(cls, clinic: ClinicService, parent: QWidget | None = None, *, hint: str = "",
            username: str = "") -> Actor | None:
        dialog = cls(clinic, parent, hint=hint, username=username)
        dialog.exec()
        return dialog.actor


class FirstAdministratorDialog(QDialog):
    """First start, no account yet: create the clinic's administrator (who is then signed in)."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.actor: Actor | None = None
        self.setWindowTitle("pumpmgr: first start")
        self.setWindowIcon(icons.app_icon())
        intro = QLabel(
            "This clinic has no accounts yet. Create the administrator's account: the "
            "administrator adds the nurses' and prescribers' accounts afterwards.", self)
        intro.setWordWrap(True)
        self.full_name = QLineEdit(self)
        self.username = QLineEdit(self)
        self.username.setMaxLength(64)
        self.username.setPlaceholderText("for example a.admin")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("at least 8 characters")
        self.repeat = QLineEdit(self)
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel(" ", self)
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&Full name", self.full_name)
        form.addRow("&User name", self.username)
        form.addRow("&Password", self.password)
        form.addRow("&Repeat password", self.repeat)
        buttons = QDialogButtonBox(self)
        self.create_button = buttons.addButton("Create administrator",
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.try_create)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
        self.full_name.setFocus()

    def try_create(self) -> Actor | None:
        if self.password.text() != self.repeat.text():
            self.message.setText("The two passwords differ; type the same password twice.")
            self.repeat.clear()
            self.repeat.setFocus()
            return None
        try:
            actor = self.clinic.create_first_administrator(
                self.username.text(), self.password.text(), self.full_name.text())
        except PumpMgrError as exc:
            self.message.setText(f"Not created: {exc.message}.")
            return None
        self.actor = actor
        self.accept()
        return actor

    @classmethod
    def ask(cls, clinic: ClinicService, parent: QWidget | None = None) -> Actor | None:
        dialog = cls(clinic, parent)
        dialog.exec()
        return dialog.actor
