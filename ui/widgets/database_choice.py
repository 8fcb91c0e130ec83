"""Where the clinic's records live: a file on this computer, or the clinic's PostgreSQL server
with a connection test that says what failed. Used by the first run and by File → Clinic
database….

UI layer: imports PySide6, :mod:`pumpmgr.services.connection` (the connection test),
:mod:`pumpmgr.cli.paths` (why no file can be at a path) and :mod:`pumpmgr.workstation`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from pumpmgr.cli.paths import path_problem
from pumpmgr.services.connection import Probe, probe_database
from ui import messages
from ui.background import run_in_background
from ui.widgets.style_state import set_role

SERVER_EXAMPLE = "postgresql+psycopg://pumpmgr_app@SERVER/pumpmgr"


class DatabaseChoice(QWidget):
    """A file or a server address, and the server's connection test."""

    #: The choice or its address changed.
    changed = Signal()

    def __init__(self, file: Path, server: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.local = QRadioButton("On this &computer, in a file (one workstation)", self)
        self.file = QLineEdit(str(file), self)
        self.file.setAccessibleName("Clinic database file")
        self.browse = QPushButton("C&hoose…", self)
        self.browse.setAutoDefault(False)
        self.server = QRadioButton(
            "On the clinic's Post&greSQL server (several workstations)", self
        )
        self.address = QLineEdit(server, self)
        self.address.setAccessibleName("Server address")
        self.address.setPlaceholderText(SERVER_EXAMPLE)
        self.address.setToolTip(
            "postgresql+psycopg://USER@SERVER:PORT/DATABASE; the password "
            "belongs in this computer's pgpass file, not here"
        )
        self.test_button = QPushButton("&Test the connection", self)
        self.test_button.setAutoDefault(False)
        self.result = QLabel(" ", self)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.server)
        (self.server if server else self.local).setChecked(True)
        #: The last connection test and the address it tested.
        self.probe: Probe | None = None
        self.tested = ""

        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse)
        server_row = QHBoxLayout()
        server_row.addWidget(self.address, 1)
        server_row.addWidget(self.test_button)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setColumnMinimumWidth(0, 24)
        layout.addWidget(self.local, 0, 0, 1, 2)
        layout.addLayout(file_row, 1, 1)
        layout.addWidget(self.server, 2, 0, 1, 2)
        layout.addLayout(server_row, 3, 1)
        layout.addWidget(self.result, 4, 1)
        layout.setColumnStretch(1, 1)

        self.browse.clicked.connect(self._browse)
        self.test_button.clicked.connect(self.test_connection)
        for button in (self.local, self.server):
            button.toggled.connect(self._changed)
        for edit in (self.file, self.address):
            edit.textChanged.connect(self._changed)
        self._changed()

    def on_server(self) -> bool:
        return self.server.isChecked()

    def chosen(self) -> str:
        """The address chosen: the file's absolute path, or the server's URL."""
        if self.on_server():
            return self.address.text().strip()
        text = self.file.text().strip()
        return str(Path(text).expanduser().absolute()) if text else ""

    def problems(self) -> list[str]:
        """What stops the choice being used, in words."""
        if not self.on_server():
            if not self.file.text().strip():
                return ["type the file where the records live"]
            problem = path_problem(Path(self.chosen()))
            return [f"database file: {problem}"] if problem else []
        if not self.chosen():
            return [f"type the server's address, for example {SERVER_EXAMPLE}"]
        if self.probe is None or self.tested != self.chosen():
            return ["press Test the connection"]
        if not self.probe.reached:
            return ["the connection test failed: correct the address or the server"]
        return []

    def test_connection(self) -> Probe:
        """Test the server's address now and show what was found."""
        address = self.chosen()
        # up to CONNECT_TIMEOUT_S when nothing answers: the window stays responsive meanwhile
        self.probe = run_in_background(
            self, "Testing the connection…", lambda: probe_database(address)
        )
        self.tested = address
        self.result.setText(self.probe.message)
        set_role(self.result, "muted" if self.probe.reached else "error")
        self.changed.emit()
        return self.probe

    def _browse(self) -> None:
        current = Path(self.chosen() or Path.home())
        chosen = messages.save_path(
            self, "Clinic database file", current, "pumpmgr database (*.db)"
        )
        if chosen is not None:
            self.file.setText(str(chosen))

    def _changed(self) -> None:
        server = self.on_server()
        self.file.setEnabled(not server)
        self.browse.setEnabled(not server)
        self.address.setEnabled(server)
        self.test_button.setEnabled(server and bool(self.address.text().strip()))
        if server and self.probe is not None and self.tested == self.chosen():
            self.result.setText(self.probe.message)
        elif server:
            self.result.setText("Test the connection before going on.")
            self.result.setProperty("role", "muted")
        else:
            self.result.setText(" ")
        self.changed.emit()
