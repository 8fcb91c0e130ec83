"""The lock screen: shown instead of every patient screen until someone signs in again.

UI layer: imports PySide6, :mod:`pumpmgr.services` and :mod:`ui.dialogs.sign_in`. The same
user or another one may unlock; the window then carries on as whoever signed in. When the user
who locked left unsaved work open (hidden while locked), a notice says so, without naming the
patient: that user carries on with it, another user's sign-in discards it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

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
        line = panel.fontMetrics().height()  # sizes follow the text, at any screen scale
        panel.setFixedWidth(round(line * 31.5))
        logo = QLabel(panel)
        side = round(line * 4.6)
        logo.setPixmap(icons.app_icon().pixmap(QSize(side, side)))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        title = QLabel("pumpmgr is locked", panel)
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.reason = QLabel(panel)
        self.reason.setWordWrap(True)
        self.reason.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.reason.setProperty("role", "muted")
        explain = QLabel(
            "Patient data is hidden. Sign in as yourself, or as another user, to continue.", panel
        )
        explain.setWordWrap(True)
        #: Unsaved work kept for the user who locked (hidden when there is none).
        self.kept = QLabel(panel)
        self.kept.setWordWrap(True)
        self.kept.setProperty("role", "notice")
        self.kept.setAccessibleName("Unsaved work")
        self.kept.setVisible(False)
        self.form = SignInForm(clinic, panel, submit="&Unlock", unlock=True)
        inner = QVBoxLayout(panel)
        inner.setContentsMargins(24, 20, 24, 20)
        inner.setSpacing(10)
        inner.addWidget(logo)
        inner.addWidget(title)
        inner.addWidget(self.reason)
        inner.addWidget(explain)
        inner.addWidget(self.kept)
        inner.addWidget(self.form)
        # Centred by stretches, not by alignment: an aligned item's wrapped labels would be
        # measured at the screen's width and the panel come out too short for them.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(panel)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.form.signed_in.connect(self._signed_in)

    def prepare(self, reason: str, last_user: Actor | None, kept: str = "") -> None:
        """Say why it locked and what unsaved work waits for ``last_user`` (``kept``)."""
        self.reason.setText(reason)
        self.kept.setText(kept)
        self.kept.setVisible(bool(kept))
        self.form.reset(last_user.username if last_user else "")

    def _signed_in(self, actor: Actor) -> None:
        self.unlocked.emit(actor)
