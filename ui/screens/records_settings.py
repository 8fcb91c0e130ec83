"""The clinic's settings (administrator): name, phone, time zone, refill buffer, open days, page
size and the idle time before the window locks.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``settings_for_edit``, ``update_settings``)
and :mod:`pumpmgr.errors`. The form remembers the version it loaded; a save over a change
someone else saved meanwhile is refused by the service, and the form then says so, keeps what
was typed and offers to reload. Others see the settings read-only.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.records import ClinicSettings
from pumpmgr.services import Actor, ClinicService
from ui import messages
from ui.widgets.style_state import set_role
from ui.widgets.time_zone import TimeZoneBox

DAY_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHANGED_MEANWHILE = (
    "The clinic settings were changed by someone else (another workstation or "
    "window) after you opened them, so yours were not saved. What you typed is "
    "still in the form: reload to see the other change, then make yours again."
)


class SettingsTab(QWidget):
    """The settings form, saved as one versioned change."""

    #: The settings were saved (the new :class:`ClinicSettings`).
    saved = Signal(object)

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None
        #: The settings row's version when the form was loaded.
        self.version: int | None = None
        self.loaded = ClinicSettings()
        #: The zone shown when loaded: a clinic without one shows this computer's, and keeps
        #: none unless the administrator chooses one.
        self._zone_shown = ""

        box = QGroupBox("Clinic settings", self)
        self.name = QLineEdit(box)
        self.name.setMaxLength(200)
        self.name.setPlaceholderText(
            "printed on every sheet, for example 'Pain Clinic, St Mary's Hospital'"
        )
        self.phone = QLineEdit(box)
        self.phone.setMaxLength(64)
        self.phone.setPlaceholderText("printed on the wallet card and the worksheets")
        self.time_zone = TimeZoneBox(box)
        self.buffer = QSpinBox(box)
        self.buffer.setRange(0, 60)
        self.buffer.setSuffix(" days")
        self.buffer.setToolTip("The refill is due this many days before the alarm date")
        days = QHBoxLayout()
        self.days: list[QCheckBox] = []
        for word in DAY_WORDS:
            check = QCheckBox(word, box)
            days.addWidget(check)
            self.days.append(check)
        days.addStretch(1)
        self.page_size = QComboBox(box)
        self.page_size.addItems(["A4", "Letter"])
        self.auto_lock = QSpinBox(box)
        self.auto_lock.setRange(1, 120)
        self.auto_lock.setSuffix(" minutes")
        self.auto_lock.setToolTip("The window locks after this long without use")
        # Booking (issue 16): visits a day per place, and how far ahead a due pump without a
        # booking is listed as not booked.
        self.clinic_visits = QSpinBox(box)
        self.clinic_visits.setRange(0, 500)
        self.clinic_visits.setSuffix(" a day")
        self.clinic_visits.setToolTip("Refill visits the clinic rooms take a day")
        self.home_visits = QSpinBox(box)
        self.home_visits.setRange(0, 500)
        self.home_visits.setSuffix(" a day")
        self.home_visits.setToolTip("Refill home visits a day")
        self.horizon = QSpinBox(box)
        self.horizon.setRange(1, 366)
        self.horizon.setSuffix(" days")
        self.horizon.setToolTip(
            "A pump due within this many days and not booked is listed as not booked"
        )
        form = QFormLayout(box)
        # Each Alt key once in the window: the menus, the Records tabs and the buttons claim
        # A B C D E F G H P R S V; the rarely changed fields go without one.
        form.addRow("Clinic &name", self.name)
        form.addRow("Clinic ph&one", self.phone)
        form.addRow("&Time zone", self.time_zone)
        form.addRow("Refill b&uffer before the alarm", self.buffer)
        form.addRow("Clinic open on", days)
        form.addRow("Paper si&ze", self.page_size)
        form.addRow("Loc&k after", self.auto_lock)
        form.addRow("Clinic roo&m visits", self.clinic_visits)
        form.addRow("Home visits", self.home_visits)
        form.addRow("Book refills ahead", self.horizon)
        self.save_button = QPushButton("Save the sett&ings", self)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.reload_button = QPushButton("Re&load", self)
        self.reload_button.setAutoDefault(False)
        self.reload_button.clicked.connect(self.load)
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.reload_button)
        buttons.addStretch(1)
        self.note = QLabel(" ", self)
        self.note.setWordWrap(True)
        self.note.setProperty("role", "muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(box)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.editors: list[QWidget] = [
            self.name,
            self.phone,
            self.time_zone,
            self.buffer,
            *self.days,
            self.page_size,
            self.auto_lock,
            self.clinic_visits,
            self.home_visits,
            self.horizon,
        ]

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        admin = actor is not None and actor.role == "administrator"
        for widget in [*self.editors, self.save_button]:
            widget.setEnabled(admin)
        self.note.setText(
            "Changing a setting changes every pump's refill-due date; the change is audited."
            if admin
            else "Only an administrator changes the clinic's settings."
        )

    def load(self) -> None:
        settings, self.version = self.clinic.settings_for_edit()
        # settings this screen does not edit (the longest refill interval, the closed dates,
        # the empty threshold) are saved back as loaded, never reset to their defaults
        self.loaded = settings
        self.name.setText(settings.clinic_name)
        self.phone.setText(settings.clinic_phone)
        self.time_zone.set_zone(settings.time_zone)
        self._zone_shown = self.time_zone.currentText()
        self.buffer.setValue(settings.buffer_days)
        for number, check in enumerate(self.days):
            check.setChecked(number in settings.open_days)
        self.page_size.setCurrentText(settings.page_size)
        self.auto_lock.setValue(settings.auto_lock_minutes)
        self.clinic_visits.setValue(settings.clinic_visits_per_day)
        self.home_visits.setValue(settings.home_visits_per_day)
        self.horizon.setValue(settings.booking_horizon_days)
        self._say(" ", False)

    def clear(self) -> None:
        self.version = None
        self.loaded = ClinicSettings()
        for edit in (self.name, self.phone):
            edit.clear()

    def settings(self) -> ClinicSettings:
        """The settings as typed."""
        return replace(
            self.loaded,
            clinic_name=self.name.text(),
            clinic_phone=self.phone.text(),
            time_zone=self._time_zone(),
            buffer_days=self.buffer.value(),
            open_days=frozenset(i for i, check in enumerate(self.days) if check.isChecked()),
            page_size="Letter" if self.page_size.currentText() == "Letter" else "A4",
            auto_lock_minutes=self.auto_lock.value(),
            clinic_visits_per_day=self.clinic_visits.value(),
            home_visits_per_day=self.home_visits.value(),
            booking_horizon_days=self.horizon.value(),
        )

    def _time_zone(self) -> str:
        typed = self.time_zone.currentText().strip()
        if typed == self._zone_shown:
            return self.loaded.time_zone
        return self.time_zone.zone() or typed  # not a zone: the service says so, naming it

    def _say(self, text: str, error: bool) -> None:
        self.message.setText(text)
        set_role(self.message, "error" if error else "muted")

    def save(self) -> bool:
        if self.actor is None or self.version is None:
            return False
        try:
            saved = self.clinic.update_settings(self.actor, self.settings(), self.version)
        except PumpMgrError as exc:
            if exc.code is Code.DB_CHANGED_MEANWHILE:
                self._say(CHANGED_MEANWHILE, True)
                messages.warn(self, "Settings not saved", CHANGED_MEANWHILE)
                self.reload_button.setFocus()
            else:
                self._say(f"Not saved: {exc.message}", True)
            return False
        _, self.version = self.clinic.settings_for_edit()
        self._say("Saved. Every pump's refill-due date follows the new settings.", False)
        self.saved.emit(saved)
        return True
