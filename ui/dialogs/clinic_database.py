"""File → Clinic database…: point this workstation at the clinic's database (a file here, or
the clinic's PostgreSQL server once the clinic moves to several workstations), from its next
start. Administrators only; audited in the database the workstation uses now.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``configuration.point_workstation``) and
the database choice widget (with its connection test).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from pumpmgr.errors import PumpMgrError
from pumpmgr.services import Actor, ClinicService
from ui import messages
from ui.widgets.database_choice import DatabaseChoice


class ClinicDatabaseDialog(QDialog):
    def __init__(self, clinic: ClinicService, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Clinic database")
        self.clinic = clinic
        self.actor = actor
        database = clinic.database
        self.current = (
            str(database.path)
            if database.path is not None
            else database.url.render_as_string(hide_password=True)
        )
        uses = QLabel(
            f"This workstation uses the records in {self.current}.\n\nChoose where it "
            "finds them from its next start: the change is audited, and every user "
            "of this workstation then signs in with an account of that database.",
            self,
        )
        uses.setWordWrap(True)
        self.choice = DatabaseChoice(
            database.path or Path(), "" if database.path is not None else self.current, self
        )
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        buttons = QDialogButtonBox(self)
        self.use_button = buttons.addButton(
            "&Use it from the next start", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(uses)
        layout.addWidget(self.choice)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(640)

    def save(self) -> bool:
        problems = self.choice.problems()
        chosen = self.choice.chosen()
        if problems:
            self.message.setText(f"Not changed: {problems[0]}.")
            return False
        if chosen == self.current:
            self.message.setText("Not changed: this workstation uses these records already.")
            return False
        try:
            self.clinic.configuration.point_workstation(self.actor, chosen)
        except PumpMgrError as exc:
            self.message.setText(f"Not changed: {exc.message}.")
            return False
        messages.info(
            self,
            "Clinic database",
            f"From its next start this workstation opens {chosen}. Quit pumpmgr and "
            "start it again to use it.",
        )
        self.accept()
        return True
