"""Signing in: the sign-in form (also used by the lock screen), the sign-in dialog, and the
first start's dialog that creates the clinic's administrator.

UI layer: imports PySide6 and :mod:`pumpmgr.errors`; it calls :mod:`pumpmgr.services`
(``ClinicService.sign_in``, ``create_first_administrator``) without importing them, so the
sign-in window is shown before the services are loaded. A refused sign-in shows the service's
message under the form and keeps the user name; the password is cleared.

At start-up the sign-in window is shown before the clinic is open (:mod:`ui.app` opens it in
the background): a sign-in asked for meanwhile waits and is checked as soon as the clinic is
given (:meth:`SignInForm.set_clinic`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from ui import icons
from ui.widgets.style_state import set_role

if TYPE_CHECKING:
    from pumpmgr.services import Actor, ClinicService

#: Shown while a sign-in waits for the clinic to open.
OPENING = "Opening the clinic's records: you are signed in as soon as they are open."


class SignInForm(QWidget):
    """User name, password, a message line and a submit button; emits the signed-in user."""

    signed_in = Signal(object)  #: the :class:`Actor`

    def __init__(
        self,
        clinic: ClinicService | None,
        parent: QWidget | None = None,
        *,
        submit: str = "Sign in",
        in_dialog: bool = False,
        unlock: bool = False,
    ) -> None:
        super().__init__(parent)
        self.clinic = clinic
        #: Sign in was asked for before the clinic was open: checked when it is given.
        self.waiting = False
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
        self.say(" ")
        (self.password if username else self.username).setFocus()

    def say(self, text: str, *, error: bool = True) -> None:
        """Show ``text`` under the form: an error (the default), or news while waiting."""
        set_role(self.message, "error" if error else "muted")
        self.message.setText(text)

    def set_clinic(self, clinic: ClinicService) -> None:
        """The clinic is open: a sign-in asked for meanwhile is checked now."""
        self.clinic = clinic
        if self.waiting:
            self.waiting = False
            self.try_sign_in()

    def try_sign_in(self) -> Actor | None:
        name, password = self.username.text().strip(), self.password.text()
        if not name or not password:
            self.waiting = False
            self.say("Enter your user name and password.")
            (self.username if not name else self.password).setFocus()
            return None
        if self.clinic is None:
            self.waiting = True
            self.say(OPENING, error=False)
            return None
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            actor = (
                self.clinic.users.sign_in(name, password, unlock=True)
                if self.unlock
                else self.clinic.sign_in(name, password)
            )
        except PumpMgrError as exc:
            self.password.clear()
            self.password.setFocus()
            self.say(f"Not signed in: {exc.message}.")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.password.clear()
        self.say(" ")
        self.signed_in.emit(actor)
        return actor


class SignInDialog(QDialog):
    """The first sign-in of a session."""

    def __init__(
        self,
        clinic: ClinicService | None,
        parent: QWidget | None = None,
        *,
        hint: str = "",
        username: str = "",
        clinic_name: str | None = None,
        stay_open: bool = False,
    ) -> None:
        """``clinic`` None: shown before the clinic is open (:meth:`set_clinic` follows).
        ``stay_open``: a sign-in leaves the dialog up (saying so) until its owner closes it,
        when the main window is ready."""
        super().__init__(parent)
        self.stay_open = stay_open
        self.setWindowTitle("Sign in to pumpmgr")
        self.setWindowIcon(icons.app_icon())
        self.actor: Actor | None = None
        if clinic is not None and clinic_name is None:
            clinic_name = clinic.settings().clinic_name
        self.title = title = QLabel(clinic_name or "pumpmgr", self)
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

    def set_clinic(self, clinic: ClinicService, clinic_name: str) -> None:
        """The clinic is open (read in the background): its name, and the waiting sign-in."""
        self.title.setText(clinic_name or "pumpmgr")
        self.form.set_clinic(clinic)

    def _done(self, actor: Actor) -> None:
        self.actor = actor
        if not self.stay_open:
            self.accept()
            return
        self.form.setEnabled(False)
        self.form.say(f"Signed in as {actor.full_name}: opening the due list…", error=False)
