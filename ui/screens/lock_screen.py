"""The lock screen: shown instead of every patient screen until someone signs in again.

UI layer: imports PySide6, :mod:`pumpmgr.services` and :mod:`ui.dialogs.sign_in`. The same
user or another one may unlock; the window then carries on as whoever signed in.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from pumpmgr.services import Actor, ClinicService
from ui import icons
from ui.dialogs.sign_in import SignInForm


class LockScreen(QWidget):
    unlocked = Signal(object)  #: the :class:`Actor` who signed in

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        panel = QFrame(self)
        panel.setObjectName("lockPanel")
        panel.setFixedWidth(440)
        logo = QLabel(panel)
        logo.setPixmap(icons.app_icon().pixmap(QSize(64, 64)))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        title = QLabel("pumpmgr is locked", panel)
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.reason = QLabel(panel)
        self.reason.setWordWrap(True)
        self.reason.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.reason.setProperty("role", "muted")
        explain = QLabel("Patient data is hidden. Sign in as yourself, or as another user, "
                         "to continue.", panel)
        explain.setWordWrap(True)
        self.form = SignInForm(clinic, panel, submit="&Unlock")
        inner = QVBoxLayout(panel)
        inner.setContentsMargins(24, 20, 24, 20)
        inner.setSpacing(10)
        inner.addWidget(logo)
        inner.addWidget(title)
        inner.addWidget(self.reason)
        inner.addWidget(explain)
        inner.addWidget(self.form)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(panel, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.form.signed_in.connect(self._signed_in)

    def prepare(self, reason: str, last_user: Actor | None) -> None:
        self.reason.setText(reason)
        self.form.reset(last_user.username if last_user else "")

    def _signed_in(self, actor: Actor) -> None:
        self.unlocked.emit(actor)
