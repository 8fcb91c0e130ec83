"""Records: the audit log, backup and restore, export, the accounts, the clinic settings, the
drug library and the export for the hospital, as tabs of one screen.

UI layer: imports PySide6, :mod:`pumpmgr.services` and the ``records_*`` tabs. What the
signed-in role may not do is hidden (the accounts tab) or disabled with a word saying who may;
the services refuse it again whatever the screen shows. Each tab reads its records when it is
shown, and :meth:`RecordsScreen.clear` forgets them when the window locks.
"""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from pumpmgr.services import Actor, ClinicService


class RecordsTab(IntEnum):
    AUDIT = 0
    DATA = 1
    USERS = 2
    SETTINGS = 3
    LIBRARY = 4
    HOSPITAL = 5
    PUMPS = 6


TAB_TITLES = {
    RecordsTab.AUDIT: "&Audit log",
    RecordsTab.DATA: "&Backup, restore, export",
    RecordsTab.USERS: "A&ccounts",
    RecordsTab.SETTINGS: "Clinic &settings",
    RecordsTab.LIBRARY: "&Drug library",
    RecordsTab.HOSPITAL: "E&xport for the hospital",  # H is the Help menu
    RecordsTab.PUMPS: "&Pump models",
}


class RecordsScreen(QWidget):
    """The records tabs; :meth:`show_tab` opens one and reads its records."""

    #: A backup was restored (the safety copy of the replaced database, or None).
    restored = Signal(object)
    #: The clinic settings were saved.
    settings_saved = Signal(object)

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        # The tabs are imported here, not with the module: the main window's Records menu
        # needs only the titles above, and the screen is built when first opened.
        from ui.screens.records_audit import AuditTab
        from ui.screens.records_data import DataTab
        from ui.screens.records_hospital import HospitalTab
        from ui.screens.records_library import DrugLibraryTab
        from ui.screens.records_pumps import PumpModelsTab
        from ui.screens.records_settings import SettingsTab
        from ui.screens.records_users import UsersTab

        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None
        title = QLabel("Records", self)
        title.setProperty("role", "title")
        self.audit = AuditTab(clinic, self)
        self.data = DataTab(clinic, self)
        self.users = UsersTab(clinic, self)
        self.settings = SettingsTab(clinic, self)
        self.library = DrugLibraryTab(clinic, self)
        self.hospital = HospitalTab(clinic, self)
        self.pumps = PumpModelsTab(clinic, self)
        self.tabs = QTabWidget(self)
        for tab, widget in zip(
            RecordsTab,
            (
                self.audit,
                self.data,
                self.users,
                self.settings,
                self.library,
                self.hospital,
                self.pumps,
            ),
            strict=True,
        ):
            self.tabs.addTab(widget, TAB_TITLES[tab])
        self.tabs.currentChanged.connect(lambda index: self._load(RecordsTab(index)))
        self.data.restored.connect(self.restored)
        self.settings.saved.connect(self.settings_saved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)

    def set_actor(self, actor: Actor | None) -> None:
        """Show and enable what ``actor``'s role may do."""
        self.actor = actor
        admin = actor is not None and actor.role == "administrator"
        self.tabs.setTabVisible(int(RecordsTab.USERS), admin)
        for tab in (
            self.audit,
            self.data,
            self.users,
            self.settings,
            self.library,
            self.hospital,
            self.pumps,
        ):
            tab.set_actor(actor)

    def allowed_tab(self, tab: RecordsTab) -> bool:
        return self.tabs.isTabVisible(int(tab))

    def show_tab(self, tab: RecordsTab) -> None:
        """Open ``tab`` (the audit log when the role may not see it) and read its records."""
        if not self.allowed_tab(tab):
            tab = RecordsTab.AUDIT
        if self.tabs.currentIndex() == int(tab):
            self._load(tab)
        else:
            self.tabs.setCurrentIndex(int(tab))  # loads through currentChanged

    def refresh(self) -> None:
        self._load(RecordsTab(self.tabs.currentIndex()))

    def _load(self, tab: RecordsTab) -> None:
        if self.actor is None:
            return
        if tab is RecordsTab.AUDIT:
            self.audit.load(self.audit.offset)
        elif tab is RecordsTab.USERS:
            self.users.refresh()
        elif tab is RecordsTab.SETTINGS:
            self.settings.load()
        elif tab is RecordsTab.LIBRARY:
            self.library.refresh()
        elif tab is RecordsTab.HOSPITAL:
            self.hospital.load()
        elif tab is RecordsTab.PUMPS:
            self.pumps.refresh()

    def clear(self) -> None:
        """Forget every record shown (the window is locking)."""
        self.audit.clear()
        self.data.clear()
        self.users.clear()
        self.settings.clear()
        self.library.clear()
        self.hospital.clear()
        self.pumps.clear()
