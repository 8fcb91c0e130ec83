"""The clinic's accounts (administrator): list them, add one with its role, reset one's password
(its user chooses a new one at the next sign-in), deactivate one.

UI layer: imports PySide6 and :mod:`pumpmgr.services` (``list_users``, ``add_user``,
``users.reset_password``, ``deactivate_user``). The service checks the role again and refuses
what the signed-in user may not do; this screen only hides it. A deactivated account keeps its
records and audit entries.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.auth import MIN_PASSWORD_LENGTH
from pumpmgr.errors import PumpMgrError
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.clinic import UserRecord
from ui import messages
from ui.screens.records_models import ROLE_WORDS, ObjectRole, UsersModel
from ui.widgets.record_table import record_table
from ui.widgets.style_state import set_role


class UsersTab(QWidget):
    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None
        self.model = UsersModel(clinic.tz, self)
        self.table = record_table(self.model, "Accounts", self)

        add_box = QGroupBox("Add an account", self)
        self.username = QLineEdit(add_box)
        self.username.setMaxLength(64)
        self.full_name = QLineEdit(add_box)
        self.full_name.setMaxLength(200)
        self.role = QComboBox(add_box)
        for role, word in ROLE_WORDS.items():
            self.role.addItem(word, role)
        self.password = QLineEdit(add_box)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1024)
        self.password.setPlaceholderText(
            f"at least {MIN_PASSWORD_LENGTH} characters, not the user name"
        )
        self.repeat = QLineEdit(add_box)
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setMaxLength(1024)
        self.add_button = QPushButton("&Add the account", add_box)
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_user)
        self.add_message = QLabel(" ", add_box)
        self.add_message.setWordWrap(True)
        form = QFormLayout(add_box)
        form.addRow("&User name", self.username)
        form.addRow("Full &name", self.full_name)
        form.addRow("R&ole", self.role)
        form.addRow("&Password", self.password)
        form.addRow("Re&peat the password", self.repeat)
        form.addRow("", self.add_button)
        form.addRow("", self.add_message)

        close_box = QGroupBox("Deactivate an account", self)
        explain = QLabel(
            "A deactivated account can no longer sign in or verify; its records "
            "and audit entries stay.",
            close_box,
        )
        explain.setWordWrap(True)
        explain.setProperty("role", "muted")
        self.reason = QLineEdit(close_box)
        self.reason.setMaxLength(2000)
        self.reason.setPlaceholderText("for example: left the clinic")
        self.deactivate_button = QPushButton("&Deactivate the selected account…", close_box)
        self.deactivate_button.setAutoDefault(False)
        self.deactivate_button.clicked.connect(self.deactivate)
        self.close_message = QLabel(" ", close_box)
        self.close_message.setWordWrap(True)
        close_form = QFormLayout(close_box)
        close_form.addRow(explain)
        close_form.addRow("&Reason", self.reason)
        close_form.addRow("", self.deactivate_button)
        close_form.addRow("", self.close_message)

        reset_box = QGroupBox("Reset a password", self)
        reset_explain = QLabel(
            "For a user who forgot theirs: tell them the new password in "
            "person; they choose their own at the next sign-in.",
            reset_box,
        )
        reset_explain.setWordWrap(True)
        reset_explain.setProperty("role", "muted")
        self.reset_password = QLineEdit(reset_box)
        self.reset_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.reset_password.setMaxLength(1024)
        self.reset_password.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
        self.reset_repeat = QLineEdit(reset_box)
        self.reset_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.reset_repeat.setMaxLength(1024)
        self.reset_button = QPushButton("R&eset the selected account's password", reset_box)
        self.reset_button.setAutoDefault(False)
        self.reset_button.clicked.connect(self.reset)
        self.reset_message = QLabel(" ", reset_box)
        self.reset_message.setWordWrap(True)
        reset_form = QFormLayout(reset_box)
        reset_form.addRow(reset_explain)
        reset_form.addRow("Ne&w password", self.reset_password)
        reset_form.addRow("Repea&t the new password", self.reset_repeat)
        reset_form.addRow("", self.reset_button)
        reset_form.addRow("", self.reset_message)

        # Three forms are taller than a 768-pixel screen leaves: they scroll, never squeeze.
        forms = QWidget(self)
        side = QVBoxLayout(forms)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(add_box)
        side.addWidget(reset_box)
        side.addWidget(close_box)
        side.addStretch(1)
        scroller = QScrollArea(self)
        scroller.setWidget(forms)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QHBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(scroller, 2)

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        admin = actor is not None and actor.role == "administrator"
        for widget in (self.add_button, self.deactivate_button, self.reset_button):
            widget.setEnabled(admin)

    def refresh(self) -> None:
        self.model.set_rows(self.clinic.list_users())

    def clear(self) -> None:
        self.model.set_rows([])
        for label in (self.add_message, self.close_message, self.reset_message):
            label.setText(" ")
        for edit in (self.reset_password, self.reset_repeat):
            edit.clear()

    def _say(self, label: QLabel, text: str, error: bool) -> None:
        label.setText(text)
        set_role(label, "error" if error else "muted")

    def selected(self) -> UserRecord | None:
        index = self.table.selectionModel().currentIndex()
        user = index.data(ObjectRole) if index.isValid() else None
        return user if isinstance(user, UserRecord) else None

    def add_user(self) -> UserRecord | None:
        if self.actor is None:
            return None
        if self.password.text() != self.repeat.text():
            self._say(
                self.add_message, "Not added: the two passwords differ; type them again.", True
            )
            self.repeat.clear()
            self.password.setFocus()
            return None
        try:
            added = self.clinic.add_user(
                self.actor,
                self.username.text(),
                self.password.text(),
                self.full_name.text(),
                self.role.currentData(),
            )
        except PumpMgrError as exc:
            self._say(self.add_message, f"Not added: {exc.message}", True)
            return None
        for edit in (self.username, self.full_name, self.password, self.repeat):
            edit.clear()
        self._say(
            self.add_message,
            f"Added {added.full_name} ({added.username}, {ROLE_WORDS[added.role].lower()}).",
            False,
        )
        self.refresh()
        return next((u for u in self.model.rows() if u.id == added.id), None)

    def deactivate(self) -> bool:
        user = self.selected()
        if self.actor is None:
            return False
        if user is None:
            self._say(self.close_message, "Select the account in the list first.", True)
            return False
        if not self.reason.text().strip():
            self._say(self.close_message, "Not deactivated: write the reason.", True)
            self.reason.setFocus()
            return False
        if not messages.confirm(
            self,
            "Deactivate an account",
            f"Deactivate {user.full_name} ({user.username})? They can no "
            "longer sign in; their records stay.",
            yes="Deactivate",
        ):
            return False
        try:
            self.clinic.deactivate_user(self.actor, user.id, self.reason.text())
        except PumpMgrError as exc:
            self._say(self.close_message, f"Not deactivated: {exc.message}", True)
            return False
        self.reason.clear()
        self._say(self.close_message, f"{user.username} deactivated.", False)
        self.refresh()
        return True

    def reset(self) -> bool:
        """Reset the selected account's password to the one typed twice."""
        user = self.selected()
        if self.actor is None:
            return False
        if user is None:
            self._say(self.reset_message, "Select the account in the list first.", True)
            return False
        if self.reset_password.text() != self.reset_repeat.text():
            self._say(
                self.reset_message, "Not reset: the two passwords differ; type them again.", True
            )
            self.reset_repeat.clear()
            self.reset_password.setFocus()
            return False
        try:
            self.clinic.users.reset_password(self.actor, user.id, self.reset_password.text())
        except PumpMgrError as exc:
            self._say(self.reset_message, f"Not reset: {exc.message}", True)
            return False
        for edit in (self.reset_password, self.reset_repeat):
            edit.clear()
        self._say(
            self.reset_message,
            f"The password of {user.username} is reset; they choose their own at the next sign-in.",
            False,
        )
        return True
