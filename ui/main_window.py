"""The main window: the due list (home), the patient view and the lock screen in one stack,
with the menus, toolbar and shortcuts that reach them.

UI layer: imports PySide6, :mod:`pumpmgr.services` and the ui screens. It holds the signed-in
:class:`~pumpmgr.services.Actor`, locks after the clinic's idle time (``auto_lock_minutes``)
and on Ctrl+L, and when locked empties every screen's models so no patient data stays behind
the lock screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from pumpmgr.services import Actor, ClinicService
from ui import icons, messages, presentation
from ui.idle import IdleWatcher
from ui.screens.dashboard import DashboardScreen
from ui.screens.lock_screen import LockScreen
from ui.screens.patient_view import PatientScreen


class MainWindow(QMainWindow):
    def __init__(self, clinic: ClinicService, actor: Actor, parent: QWidget | None = None,
                 ) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.actor: Actor | None = actor
        self._last_actor: Actor = actor
        self._resume_patient: int | None = None
        self.setWindowTitle("pumpmgr")
        self.setWindowIcon(icons.app_icon())

        self.dashboard = DashboardScreen(clinic, self)
        self.patient = PatientScreen(clinic, self)
        self.lock_screen = LockScreen(clinic, self)
        self.stack = QStackedWidget(self)
        for screen in (self.dashboard, self.patient, self.lock_screen):
            self.stack.addWidget(screen)
        self.setCentralWidget(self.stack)

        self.dashboard.open_patient.connect(self.open_patient)
        self.patient.back_requested.connect(self.show_dashboard)
        self.lock_screen.unlocked.connect(self.unlock)

        self._make_actions()
        self.user_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.user_label)

        self.idle = IdleWatcher(self)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)
        self.idle.set_minutes(clinic.settings().auto_lock_minutes)
        self.idle.start()

        self._fit_to_screen()
        self._signed_in(actor)
        self.show_dashboard()

    # ----------------------------------------------------------------- set-up

    def _make_actions(self) -> None:
        def action(text: str, slot: object, keys: list[QKeySequence] | None = None,
                   icon: str | None = None, tip: str = "") -> QAction:
            made = QAction(icons.icon(icon), text, self) if icon else QAction(text, self)
            if keys:
                made.setShortcuts(keys)
                made.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            made.setToolTip(tip or text.replace("&", ""))
            made.triggered.connect(slot)
            self.addAction(made)
            return made

        self.due_action = action("&Due list", self.show_dashboard,
                                 [QKeySequence("Ctrl+1"), QKeySequence("Alt+Home")],
                                 icons.DUE_LIST, "The clinic's refill due list (Ctrl+1)")
        self.refresh_action = action("&Refresh", self.refresh,
                                     [QKeySequence(QKeySequence.StandardKey.Refresh),
                                      QKeySequence("F5")], icons.REFRESH,
                                     "Read the records again (F5)")
        self.find_action = action("&Find patient…", self.find_patient,
                                  [QKeySequence(QKeySequence.StandardKey.Find)], None,
                                  "Search the due list by name or MRN (Ctrl+F)")
        self.export_action = action("&Export due list as calendar (.ics)…",
                                    self.dashboard.export_calendar, None, icons.CALENDAR,
                                    "Write the rows shown as refill appointments")
        self.lock_action = action("&Lock", lambda: self.lock(idle=False),
                                  [QKeySequence("Ctrl+L")], icons.LOCK,
                                  "Lock pumpmgr and hide patient data (Ctrl+L)")
        self.quit_action = action("&Quit", self.close,
                                  [QKeySequence(QKeySequence.StandardKey.Quit),
                                   QKeySequence("Ctrl+Q")], None, "Quit pumpmgr")
        self.about_action = action("&About pumpmgr", self.about)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.lock_action)
        file_menu.addAction(self.quit_action)
        go_menu = self.menuBar().addMenu("&Go")
        go_menu.addAction(self.due_action)
        go_menu.addAction(self.find_action)
        go_menu.addAction(self.refresh_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for item in (self.due_action, self.refresh_action):
            toolbar.addAction(item)
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addAction(self.lock_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        #: Actions that reach patient data: off while locked.
        self.patient_actions = [self.due_action, self.refresh_action, self.find_action,
                                self.export_action, self.lock_action]

    def _fit_to_screen(self) -> None:
        self.setMinimumSize(QSize(1000, 620))
        screen = QGuiApplication.primaryScreen()
        wanted = QSize(1360, 840)
        if screen is not None:
            available = screen.availableGeometry().size()
            wanted = wanted.boundedTo(QSize(available.width() - 20, available.height() - 40))
        self.resize(wanted.expandedTo(self.minimumSize()))

    # ----------------------------------------------------------------- navigation

    def show_dashboard(self) -> None:
        if self.is_locked():
            return
        self._run("reading the due list", self.dashboard.refresh)
        self.stack.setCurrentWidget(self.dashboard)
        self.dashboard.table.setFocus()

    def open_patient(self, patient_id: int) -> None:
        if self.is_locked():
            return
        if self._run("opening the patient", lambda: self.patient.show_patient(patient_id)):
            self.stack.setCurrentWidget(self.patient)
            self.patient.tabs.setFocus()

    def refresh(self) -> None:
        if self.is_locked():
            return
        if self.stack.currentWidget() is self.patient and self.patient.patient_id is not None:
            self.open_patient(self.patient.patient_id)
        else:
            self.show_dashboard()

    def find_patient(self) -> None:
        if self.is_locked():
            return
        if self.stack.currentWidget() is not self.dashboard:
            self.show_dashboard()
        self.dashboard.focus_search()

    def _run(self, doing: str, work: object) -> bool:
        """Run ``work``; on an error tell the user, keep the screen as it was."""
        assert callable(work)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            work()
        except Exception as exc:  # every failure reaches the user as a dialog
            QGuiApplication.restoreOverrideCursor()
            messages.show_error(self, exc, doing)
            return False
        QGuiApplication.restoreOverrideCursor()
        return True

    # ----------------------------------------------------------------- lock

    def is_locked(self) -> bool:
        return self.actor is None

    def lock(self, *, idle: bool = False) -> None:
        """Hide every patient screen behind the lock screen and forget their data."""
        if self.is_locked():
            return
        assert self.actor is not None
        self._resume_patient = (self.patient.patient_id
                                if self.stack.currentWidget() is self.patient else None)
        minutes = self.clinic.settings().auto_lock_minutes if idle else 0
        at = presentation.local_datetime(self.clinic.clock.now(), self.clinic.tz)
        reason = (f"Locked at {at:%H:%M} after {minutes} minutes without use."
                  if idle else f"Locked at {at:%H:%M} by {self.actor.full_name}.")
        self._last_actor = self.actor
        self.actor = None
        self.idle.stop()
        self.dashboard.clear()
        self.patient.clear()
        for item in self.patient_actions:
            item.setEnabled(False)
        self.toolbar.setVisible(False)
        self.lock_screen.prepare(reason, self._last_actor)
        self.stack.setCurrentWidget(self.lock_screen)
        self.user_label.setText("Locked")
        self.statusBar().showMessage("Locked: patient data hidden")
        self.lock_screen.form.password.setFocus()

    def unlock(self, actor: Actor) -> None:
        self._signed_in(actor)
        for item in self.patient_actions:
            item.setEnabled(True)
        self.toolbar.setVisible(True)
        self.idle.set_minutes(self.clinic.settings().auto_lock_minutes)
        self.idle.start()
        resume = self._resume_patient if actor.id == self._last_actor.id else None
        self._resume_patient = None
        self.show_dashboard()
        if resume is not None:
            self.open_patient(resume)

    def _signed_in(self, actor: Actor) -> None:
        self.actor = actor
        self._last_actor = actor
        self.user_label.setText(f"Signed in: {actor.full_name} ({actor.role})")
        self.statusBar().showMessage(f"Welcome, {actor.full_name}", 5000)

    # ----------------------------------------------------------------- misc

    def about(self) -> None:
        messages.info(self, "About pumpmgr",
                      "pumpmgr: intrathecal pump clinic manager.\n\nDecision support and record "
                      "keeping: the pump's own programmer stays the device of record. Every "
                      "number is shown with its unit.")

    def closeEvent(self, event: QCloseEvent) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        self.idle.stop()
        super().closeEvent(event)
