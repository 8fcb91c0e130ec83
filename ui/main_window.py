"""The main window: the due list (home), the patient view, the calculators, the records and
the lock screen in one stack, with the menus, toolbar and shortcuts that reach them. Only the
due list is built with the window; each other screen is built (and its module imported) when
it is first used, so that start-up pays for the first screen only.

UI layer: imports PySide6, :mod:`pumpmgr.services` and the ui screens. It holds the signed-in
:class:`~pumpmgr.services.Actor`, locks after the clinic's idle time (``auto_lock_minutes``,
measured on the clinic's clock) and on Ctrl+L, and when locked empties every screen's models so
no patient data stays behind the lock screen. Pump and catheter events open their dialog
(:mod:`ui.dialogs.events`) for the patient shown; what the signed-in role may not do is
disabled.

Unsaved work survives a lock for the user who locked, and only for them. The lock hides every
open dialog of the window (the refill wizard, a prescription change, a pump event, a records
dialog) as it is, and closes the question boxes waiting on an answer (they answer "no"). The
same user signing in again gets the screen and the dialogs back with everything typed. When
another user signs in, the first user's unsaved forms are discarded, never saved: a half-done
refill carries the first nurse's name, measurements and bedside checks, which the second user
cannot vouch for, so it must not be saved under either name by them; and kept aside, in this
window's memory only, it would resurface stale after the second user's own work on the same
pump, or vanish at the next quit. So the lock screen warns before (without naming the patient)
that another user's sign-in discards it, the second user is told what was discarded (patient
and form), and the first user is told again when they next sign in here.

Over 600 lines: one class, the window that owns the screens, the actions and the lock, whose
parts share its state (the signed-in actor, the open dialogs, the stack); no pure move splits it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeGuard, TypeVar

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import program_version
from pumpmgr.records import ClinicSettings
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.audit_trail import VIEW_ACTION
from pumpmgr.visit_note import RecordRef
from ui import icons, manual, messages, presentation, remembered
from ui.background import Background
from ui.dialogs import events
from ui.idle import IdleNotice, IdleWatcher
from ui.live import LiveUpdates
from ui.screens.dashboard import DashboardScreen
from ui.screens.lock_screen import LockScreen
from ui.screens.records import TAB_TITLES, RecordsTab
from ui.window_size import within_screen

if TYPE_CHECKING:  # imported on first use: the wizard and printing bring in reportlab, the
    # other screens and the prescription are not needed to show the due list
    from pumpmgr.records import DueRow, PatientChart
    from pumpmgr.services.context import Change, ChangeFeed
    from pumpmgr.services.records import IncrementalReport, IntegrityReport
    from ui.dialogs import print_preview
    from ui.dialogs.password import ChangePasswordDialog
    from ui.dialogs.prescription import PrescriptionDialog
    from ui.screens.calculators import CalculatorsScreen
    from ui.screens.orders_list import OrdersScreen
    from ui.screens.patient_view import PatientScreen
    from ui.screens.records import RecordsScreen
    from ui.screens.week_view import WeekViewScreen
    from ui.wizards.refill import RefillWizard

_Clinical = TypeVar("_Clinical", "RefillWizard", "PrescriptionDialog")
#: How long after a sign-in the program's window starts the daily full integrity check: the
#: due list painted and the first look at it taken first, since the check's Python work
#: shares the interpreter with the GUI for the minutes it takes on a large clinic.
FULL_CHECK_AFTER_MS = 30_000
_Page = TypeVar("_Page", bound=QWidget)
#: :func:`_as_recorded`'s alarm of a pump whose forecast stores none (the due list gives the
#: time of the read).
_NO_ALARM = datetime.min.replace(tzinfo=UTC)


def _saved_record(dialog: RefillWizard | PrescriptionDialog) -> RecordRef | None:
    """The record a refill wizard or a prescription dialog saved, for its visit note."""
    outcome = dialog.outcome
    if outcome is None:
        return None
    if _is_prescription(dialog):
        return RecordRef("prescription", dialog.outcome.prescription.id)  # type: ignore[union-attr]
    return RecordRef("refill", outcome.refill.id)  # type: ignore[union-attr]


def _as_recorded(rows: Sequence[DueRow]) -> list[DueRow]:
    """The due list's rows less what follows the clock, in an order that does not: what a
    save by another workstation can change. The time and volume left, the states, the booking
    status (a refill comes within the booking horizon, a missed visit ages out) and the alarm
    of a pump with none stored (the time of the read) move with the clock, and with them the
    list's order (a missed visit and an urgent pump first); compared with them, a read after
    a minute or a day differed, and the window said the records had changed when nobody had
    saved. Kept: ``booked_on``, the bookings' own record."""
    return sorted(
        (
            replace(
                r,
                days_left=0.0,
                volume_left_ml=None,
                refill_state=None,
                state="fine",
                booking="",
                alarm_at=r.alarm_at if r.nominal_alarm_at is not None else _NO_ALARM,
            )
            for r in rows
        ),
        key=lambda r: r.pump_id,
    )


def _is_prescription(widget: object) -> TypeGuard[PrescriptionDialog]:
    """Whether ``widget`` is a prescription dialog (its module is imported when the first one
    opens: before that there is none)."""
    module = sys.modules.get("ui.dialogs.prescription")
    return module is not None and isinstance(widget, module.PrescriptionDialog)


class MainWindow(QMainWindow):
    def __init__(
        self,
        clinic: ClinicService,
        actor: Actor | None,
        parent: QWidget | None = None,
        *,
        due_rows: Sequence[DueRow] | None = None,
        full_check_after_ms: int | None = None,
        integrity_check_in_background: bool = False,
    ) -> None:
        """Signed in as ``actor``; or, ``actor`` None, built hidden behind the sign-in with
        the ``due_rows`` read meanwhile, and :meth:`start` once the user has signed in.
        ``full_check_after_ms``: that long after a sign-in, :meth:`start_full_check` (the
        program's window: :data:`FULL_CHECK_AFTER_MS`; None, for the windows of tests and
        benchmarks, never). ``integrity_check_in_background``: the check since the checkpoint
        (:meth:`check_integrity`) runs on the background helper (the program's window), else
        before :meth:`start` returns (the windows of tests)."""
        super().__init__(parent)
        self._integrity_in_background = integrity_check_in_background
        #: The check since the checkpoint running or last run in the background (None: none).
        self.integrity_check: Background | None = None
        #: The full integrity check running or last run in the background (None: none yet).
        self.full_check: Background | None = None
        self._full_check_timer: QTimer | None = None
        if full_check_after_ms is not None:
            self._full_check_timer = QTimer(self)
            self._full_check_timer.setSingleShot(True)
            self._full_check_timer.setInterval(full_check_after_ms)
            self._full_check_timer.timeout.connect(self.start_full_check)
        self.clinic = clinic
        self.actor: Actor | None = None
        self._last_actor: Actor  # set at the first sign-in (start)
        self._resume_patient: int | None = None
        self.setWindowTitle("pumpmgr")
        self.setWindowIcon(icons.app_icon())

        self.dashboard = DashboardScreen(clinic, self)
        # The other screens, built when first used (the properties below).
        self._patient: PatientScreen | None = None
        self._lock_screen: LockScreen | None = None
        self._calculators: CalculatorsScreen | None = None
        self._records: RecordsScreen | None = None
        self._week_view: WeekViewScreen | None = None
        self._orders: OrdersScreen | None = None
        #: The pump-event dialog open now, if any (closed when the window locks).
        self.event_dialog: events.EventDialog | None = None
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.dashboard)
        #: The integrity break found at start-up (None: none), above every screen of an
        #: administrator and above everyone's due list.
        self.integrity_notice: str | None = None
        self.integrity_banner = QLabel(self)
        self.integrity_banner.setProperty("role", "alert")
        self.integrity_banner.setWordWrap(True)
        self.integrity_banner.hide()
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.integrity_banner)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.dashboard.open_patient.connect(self.open_patient)
        #: The refill wizard or prescription dialog open now, if any (discarded on lock).
        self.clinical_dialog: RefillWizard | PrescriptionDialog | None = None
        self.stack.currentChanged.connect(lambda _index: self._update_event_actions())
        self.stack.currentChanged.connect(lambda _index: self._update_menu_keys())
        self.stack.currentChanged.connect(lambda _index: self._update_integrity_banner())

        self._make_actions()
        self.user_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.user_label)
        #: What the nurse was on when the window locked: the screen and its tab.
        self._resume_screen: tuple[QWidget | None, int] = (None, 0)

        #: The windows the lock hid (parents first), shown again when the same user signs in.
        self.hidden_windows: list[QWidget] = []
        #: Users whose unsaved work another user's sign-in discarded: told when they sign in.
        self._discarded_for: dict[int, str] = {}

        self.idle = IdleWatcher(self, clock=clinic.clock)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)
        self.idle.set_minutes(clinic.settings().auto_lock_minutes)
        self.idle_notice = IdleNotice(self.idle, self)
        self.statusBar().insertPermanentWidget(0, self.idle_notice, 1)

        #: Other workstations' changes, shown when no dialog or wizard is open (issue 13).
        self.live = LiveUpdates(self._open_feed(), self._may_show_changes, self)
        self.live.changed.connect(self._others_changed)
        self.live.start()

        self._fit_to_screen()
        #: The due list was given with the window (read behind the sign-in), not read at start.
        self._rows_given = due_rows is not None
        if due_rows is not None:
            self.dashboard.refresh(due_rows)
        if actor is not None:
            self.start(actor)

    def start(self, actor: Actor) -> None:
        """The session's first sign-in: the user's own looks, the idle lock, the due list (as
        given with the window, else read now)."""
        self._signed_in(actor)
        self.idle.start()
        if actor.role == "prescriber":  # a prescriber's first screen (domain-rules §7)
            self.show_orders()
        elif self._rows_given:
            self.stack.setCurrentWidget(self.dashboard)
            self.dashboard.table.setFocus()
        else:
            self.show_dashboard()
        self.check_integrity()

    # ----------------------------------------------------------------- set-up

    def _make_actions(self) -> None:
        def action(
            text: str,
            slot: object,
            keys: list[QKeySequence] | None = None,
            icon: str | None = None,
            tip: str = "",
        ) -> QAction:
            made = QAction(icons.icon(icon), text, self) if icon else QAction(text, self)
            if keys:
                made.setShortcuts(keys)
                made.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            made.setToolTip(tip or text.replace("&", ""))
            made.triggered.connect(slot)
            self.addAction(made)
            return made

        self.due_action = action(
            "&Due list",
            self.show_dashboard,
            [QKeySequence("Ctrl+1"), QKeySequence("Alt+Home")],
            icons.DUE_LIST,
            "The clinic's refill due list (Ctrl+1)",
        )
        self.refresh_action = action(
            "&Refresh",
            self.refresh,
            [QKeySequence(QKeySequence.StandardKey.Refresh), QKeySequence("F5")],
            icons.REFRESH,
            "Read the records again (F5)",
        )
        self.find_action = action(
            "&Find patient…",
            self.find_patient,
            [QKeySequence(QKeySequence.StandardKey.Find)],
            None,
            "Search the due list by name or MRN (Ctrl+F)",
        )
        self.export_action = action(
            "&Export due list as calendar (.ics)…",
            self.dashboard.export_calendar,
            None,
            icons.CALENDAR,
            "Write the rows shown as refill appointments",
        )
        self.lock_action = action(
            "&Lock",
            lambda: self.lock(idle=False),
            [QKeySequence("Ctrl+L")],
            icons.LOCK,
            "Lock pumpmgr and hide patient data (Ctrl+L)",
        )
        # Ctrl+Q once: the platform's Quit key is often Ctrl+Q too, and a key claimed twice
        # runs nothing
        self.quit_action = action(
            "&Quit", self.close, [QKeySequence("Ctrl+Q")], None, "Quit pumpmgr (Ctrl+Q)"
        )
        self.about_action = action("&About pumpmgr", self.about)
        self.manual_action = action(
            "&Manual",
            lambda: manual.open_manual(self, manual.GUIDE),
            [QKeySequence(QKeySequence.StandardKey.HelpContents)],
            None,
            "The nurse's guide, with pictures of every screen",
        )
        self.quick_reference_action = action(
            "&Quick reference (PDF)",
            lambda: manual.open_manual(self, manual.QUICK_REFERENCE),
            None,
            None,
            "One page to print and keep by the workstation",
        )
        self.log_folder_action = action(
            "Open &log folder",
            lambda: messages.open_log_folder(self),
            None,
            None,
            "The folder of pumpmgr's log files",
        )

        self.print_due_action = action(
            "&Print due list…",
            self.print_due_list,
            None,
            None,
            "The refill due list of a period, with a preview",
        )
        self.print_day_action = action(
            "Print a &day's worksheets…",
            self.print_day,
            None,
            None,
            "Every refill worksheet of one clinic day",
        )
        self.clinic_database_action = action(
            "Clinic &database…",
            self.choose_clinic_database,
            None,
            None,
            "Where this workstation finds the clinic's records (administrator)",
        )
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.print_due_action)
        file_menu.addAction(self.print_day_action)
        file_menu.addSeparator()
        self.password_action = action(
            "Change my pass&word…",
            lambda: self.change_password(),
            None,
            None,
            "Choose a new password (your current one needed)",
        )
        file_menu.addAction(self.password_action)
        file_menu.addAction(self.clinic_database_action)
        file_menu.addSeparator()
        file_menu.addAction(self.lock_action)
        file_menu.addAction(self.quit_action)
        go_menu = self.menuBar().addMenu("&Go")
        self.go_menu = go_menu
        go_menu.addAction(self.due_action)
        go_menu.addAction(self.find_action)
        go_menu.addAction(self.refresh_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.manual_action)
        help_menu.addAction(self.quick_reference_action)
        help_menu.addSeparator()
        help_menu.addAction(self.log_folder_action)
        help_menu.addAction(self.about_action)
        self.help_menu = help_menu

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        side = round(toolbar.fontMetrics().height() * 1.3)  # as tall as the text, any font
        toolbar.setIconSize(QSize(side, side))
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
        self.patient_actions = [
            self.due_action,
            self.refresh_action,
            self.find_action,
            self.export_action,
            self.lock_action,
            self.print_due_action,
            self.print_day_action,
            self.password_action,
        ]
        self._make_event_and_record_actions()

    def _make_event_and_record_actions(self) -> None:
        """The Events and Records menus, and Calculators in the Go menu and the toolbar."""

        def action(text: str, slot: object, keys: str = "", tip: str = "") -> QAction:
            made = QAction(text, self)
            if keys:
                made.setShortcut(QKeySequence(keys))
                made.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            made.setToolTip(tip or text.replace("&", "").rstrip("…"))
            made.triggered.connect(slot)
            self.addAction(made)
            return made

        self.calculators_action = action(
            "&Calculators",
            self.show_calculators,
            "Ctrl+K",
            "Forecast, bridge, priming, compounding and units (Ctrl+K)",
        )
        self.go_menu.addSeparator()
        self.go_menu.addAction(self.calculators_action)
        self.week_view_action = action(
            "Week's &bookings",
            self.show_week_view,
            "Ctrl+Shift+B",
            "The week's refill visits, free room and pumps to book (Ctrl+Shift+B)",
        )
        self.orders_action = action(
            "&Orders to sign",
            self.show_orders,
            "Ctrl+Shift+O",
            "Orders awaiting a prescriber's signature (Ctrl+Shift+O)",
        )
        view_menu = QMenu("&View", self)
        view_menu.addAction(self.orders_action)
        view_menu.addAction(self.week_view_action)
        self.menuBar().insertMenu(self.help_menu.menuAction(), view_menu)
        actions = self.toolbar.actions()  # the spacer follows Refresh
        self.toolbar.insertAction(
            actions[actions.index(self.refresh_action) + 1], self.calculators_action
        )
        self.toolbar.insertAction(self.calculators_action, self.orders_action)

        #: The pump and catheter events by kind (enabled for the patient shown).
        self.event_actions: dict[str, QAction] = {}
        events_menu = QMenu("&Events", self)
        for kind, text, _ in events.EVENTS:
            made = action(text, lambda _checked=False, k=kind: self.open_event_dialog(k))
            self.event_actions[kind] = made
            events_menu.addAction(made)
            if kind in events.SEPARATED_AFTER:
                events_menu.addSeparator()
        self.menuBar().insertMenu(self.help_menu.menuAction(), events_menu)
        self.events_menu = events_menu

        #: Records menu entries by tab.
        self.records_actions: dict[RecordsTab, QAction] = {}
        records_menu = QMenu("&Records", self)
        for tab in RecordsTab:
            made = action(
                TAB_TITLES[tab].replace("&", "") + "…" * (tab is RecordsTab.DATA),
                lambda _checked=False, t=tab: self.show_records(t),
            )
            self.records_actions[tab] = made
            records_menu.addAction(made)
        self.records_actions[RecordsTab.AUDIT].setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.menuBar().insertMenu(self.help_menu.menuAction(), records_menu)
        self.records_menu = records_menu
        self.patient_actions += [
            self.calculators_action,
            self.week_view_action,
            self.orders_action,
            *self.records_actions.values(),
        ]

    def _fit_to_screen(self) -> None:
        self.setMinimumSize(QSize(1000, 620))
        self.resize(within_screen(QSize(1360, 840), (20, 40)).expandedTo(self.minimumSize()))

    def _patient_menus(self) -> list[QAction]:
        """The menus whose every entry reaches patient data: off while locked."""
        return [m.menuAction() for m in (self.go_menu, self.events_menu, self.records_menu)]

    def _update_menu_keys(self) -> None:
        """On the patient view Alt+R and Alt+H are its tabs (Residuals, History), not the
        Records and Help menus: a key claimed twice opens the menu."""
        patient = self._showing(self._patient)
        self.records_menu.setTitle("Records" if patient else "&Records")
        self.help_menu.setTitle("Help" if patient else "&Help")

    # ----------------------------------------------------------------- screens

    def check_integrity(self) -> None:
        """The check of what was written since the last checkpoint (the services audit a
        break); clinical work goes on whatever it finds. In the program's window it runs on
        the background helper: on a clinic with no checkpoint yet (the first start after an
        upgrade) it reads the whole chain, which must not hold the sign-in."""
        if not self._integrity_in_background:
            try:
                report = self.clinic.records.check_since_checkpoint()
            except PumpMgrError as exc:  # the check must never keep the clinic from its records
                self._integrity_check_failed(exc)
            else:
                self._integrity_checked(report)
            return
        if self.integrity_check is not None and not self.integrity_check.finished:
            return
        records = self.clinic.records
        self.integrity_check = Background(
            lambda _report: records.check_since_checkpoint(), "pumpmgr-integrity-check", self
        )
        self.integrity_check.done.connect(self._integrity_checked)
        self.integrity_check.failed.connect(self._integrity_check_failed)
        self.integrity_check.start()

    def _integrity_checked(self, report: IncrementalReport) -> None:
        from pumpmgr.services.records import integrity_notice

        self.integrity_notice = integrity_notice(report)
        self._update_integrity_banner()

    def _integrity_check_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, PumpMgrError):
            logging.getLogger(__name__).warning("the integrity check could not run", exc_info=exc)
        why = (
            exc.message
            if isinstance(exc, PumpMgrError)
            else (f"{type(exc).__name__}; the log says more (Help → Open log folder)")
        )
        self.integrity_notice = f"The integrity check could not run: {why}"
        self._update_integrity_banner()

    def start_full_check(self) -> None:
        """The full integrity check (:meth:`RecordService.run_full_check`), once a day per
        workstation, on the one background helper: it reads for minutes on a large clinic,
        so the GUI never waits for it. A break it finds is shown like the start-up check's
        (the banner) and audited by the service; a sound result is said in the status bar."""
        if self.full_check is not None and not self.full_check.finished:
            return
        records = self.clinic.records

        def work(_report: object) -> IntegrityReport | None:
            return records.run_full_check() if records.full_check_due() else None

        self.full_check = Background(work, "pumpmgr-full-check", self)
        self.full_check.done.connect(self._full_check_done)
        self.full_check.failed.connect(self._full_check_failed)
        self.full_check.start()

    def _full_check_done(self, report: IntegrityReport | None) -> None:
        from pumpmgr.services.records import integrity_notice

        if report is None:  # run today on this workstation already
            return
        notice = integrity_notice(report)
        if notice is None:
            self.statusBar().showMessage(
                f"Full integrity check: every record matches the audit log "
                f"({report.records.rows_checked:,} records, "
                f"{report.chain.entries_checked:,} audit entries).",
                10000,
            )
            return
        self.integrity_notice = notice
        self._update_integrity_banner()

    def _full_check_failed(self, exc: BaseException) -> None:
        logging.getLogger(__name__).warning("the full integrity check could not run", exc_info=exc)
        why = (
            exc.message
            if isinstance(exc, PumpMgrError)
            else (f"{type(exc).__name__}; the log says more (Help → Open log folder)")
        )
        self.statusBar().showMessage(f"The full integrity check could not run: {why}", 15000)

    def _update_integrity_banner(self) -> None:
        shown = (
            self.integrity_notice is not None
            and self.actor is not None
            and (self.actor.role == "administrator" or self.stack.currentWidget() is self.dashboard)
        )
        self.integrity_banner.setText(self.integrity_notice or "")
        self.integrity_banner.setVisible(shown)

    def _page(self, screen: _Page) -> _Page:
        self.stack.addWidget(screen)
        return screen

    def _showing(self, screen: QWidget | None) -> bool:
        """Whether ``screen`` (None: not built yet) is the one shown."""
        return screen is not None and self.stack.currentWidget() is screen

    @property
    def patient(self) -> PatientScreen:
        """The patient view, built on first use."""
        if self._patient is None:
            from ui.screens.patient_view import PatientScreen

            screen = self._patient = self._page(PatientScreen(self.clinic, self))
            screen.back_requested.connect(self.show_dashboard)
            screen.refill_requested.connect(self.start_refill)
            screen.prescription_requested.connect(self.change_prescription)
            screen.refill_correction_requested.connect(self.correct_refill)
            screen.set_actor(self.actor)
            menu = screen.events_button.menu()
            for kind, _, _ in events.EVENTS:  # the Events menu's actions
                menu.addAction(self.event_actions[kind])
                if kind in events.SEPARATED_AFTER:
                    menu.addSeparator()
            self._update_event_actions()
        return self._patient

    @property
    def lock_screen(self) -> LockScreen:
        """The lock screen, built at the first lock."""
        if self._lock_screen is None:
            self._lock_screen = self._page(LockScreen(self.clinic, self))
            self._lock_screen.unlocked.connect(self.unlock)
        return self._lock_screen

    @property
    def calculators(self) -> CalculatorsScreen:
        """The calculators, built on first use (with the settings and date of then)."""
        if self._calculators is None:
            from ui.screens.calculators import CalculatorsScreen

            self._calculators = self._page(
                CalculatorsScreen(
                    self.clinic.catalogs, self.clinic.settings(), self.clinic.today(), self
                )
            )
        return self._calculators

    @property
    def week_view(self) -> WeekViewScreen:
        """The week's bookings, built on first use."""
        if self._week_view is None:
            from ui.screens.week_view import WeekViewScreen

            self._week_view = self._page(WeekViewScreen(self.clinic, self))
        return self._week_view

    @property
    def orders(self) -> OrdersScreen:
        """The orders awaiting a prescriber, built on first use."""
        if self._orders is None:
            from ui.screens.orders_list import OrdersScreen

            screen = self._orders = self._page(OrdersScreen(self.clinic, self))
            screen.open_patient.connect(self.open_patient)
            screen.changed.connect(self.update_orders_badge)
            screen.set_actor(self.actor)
        return self._orders

    def show_orders(self) -> None:
        if self.is_locked():
            return
        if self._run("reading the orders", self.orders.refresh):
            self.stack.setCurrentWidget(self.orders)
            self.orders.table.setFocus()
        self.update_orders_badge()

    def update_orders_badge(self) -> None:
        """The count of orders awaiting a prescriber, on the action everyone sees."""
        try:
            count = self.clinic.orders.count_awaiting()
        except Exception:  # the badge is a hint; the list itself reports errors
            count = -1
        text = "Orders to sign" + (f" ({count})" if count > 0 else "")
        self.orders_action.setText(text.replace("Orders", "&Orders", 1))
        self.orders_action.setIconText(text)

    def show_week_view(self) -> None:
        if self.is_locked():
            return
        if self._run("reading the bookings", self.week_view.refresh):
            self.stack.setCurrentWidget(self.week_view)
            self.week_view.table.setFocus()

    @property
    def records(self) -> RecordsScreen:
        """The records screen, built on first use."""
        if self._records is None:
            from ui.screens.records import RecordsScreen

            screen = self._records = self._page(RecordsScreen(self.clinic, self))
            screen.restored.connect(self.after_restore)
            screen.settings_saved.connect(self._settings_saved)
            screen.set_actor(self.actor)
        return self._records

    # ----------------------------------------------------------------- other workstations

    def _open_feed(self) -> ChangeFeed | None:
        try:
            return self.clinic.context.change_feed()
        except Exception:  # the window still works; it is then read again on F5 only
            logging.getLogger(__name__).warning(
                "no live updates from other workstations", exc_info=True
            )
            return None

    def _may_show_changes(self) -> bool:
        """A refresh waits while the nurse may be typing: a dialog or wizard open, a modal box,
        or the lock screen."""
        return not (
            self.is_locked()
            or self.clinical_dialog is not None
            or self.event_dialog is not None
            or QApplication.activeModalWidget() is not None
        )

    def _others_changed(self, change: Change) -> None:
        """Read again what is shown (the due list, or the chart of a patient ``change``
        touches), keeping the selection, tab and scroll positions."""
        try:
            if self.stack.currentWidget() is self.dashboard:
                rows = _as_recorded(self.dashboard.model.rows())
                self.dashboard.refresh()
                shown_changed = _as_recorded(self.dashboard.model.rows()) != rows
            elif (
                self._showing(self._patient)
                and self.patient.patient_id is not None
                and change.touches_patient(self.patient.patient_id)
            ):
                chart = self.patient.chart
                self.patient.reload()
                shown_changed = self.patient.chart != chart
            else:
                return  # every other screen is read when shown, or on F5
        except Exception:  # told on the status bar: the screen stays as it was read
            logging.getLogger(__name__).warning("a live refresh failed", exc_info=True)
            self.statusBar().showMessage(
                "The records changed, but they could not be read again; press F5 to try.", 10000
            )
            return
        if shown_changed:  # not this window's own save, already shown (SQLite reports it)
            at = presentation.local_datetime(self.clinic.clock.now(), self.clinic.tz)
            self.statusBar().showMessage(
                f"Read again at {at:%H:%M}: the records changed since they were shown.", 10000
            )

    # ----------------------------------------------------------------- navigation

    def show_dashboard(self) -> None:
        if self.is_locked():
            return
        self._run("reading the due list", self.dashboard.refresh)
        self.stack.setCurrentWidget(self.dashboard)
        self.dashboard.table.setFocus()
        self.update_orders_badge()

    def open_patient(self, patient_id: int) -> None:
        if self.is_locked():
            return
        shown = self._showing(self._patient) and self.patient.patient_id == patient_id
        if self._run("opening the patient", lambda: self.patient.show_patient(patient_id)):
            self.stack.setCurrentWidget(self.patient)
            self.patient.tabs.setFocus()
            if not shown and self.actor is not None:  # who saw which chart (issue 13)
                self._run(
                    "recording that the chart was opened",
                    lambda: self.clinic.records.record_access(self.actor, VIEW_ACTION, patient_id),
                )

    def change_password(self, *, required: bool = False) -> ChangePasswordDialog | None:
        """The signed-in user's own new password (``required``: after a reset; cancelling
        then locks the window)."""
        if self.is_locked():
            return None
        from ui.dialogs.password import ChangePasswordDialog

        assert self.actor is not None
        dialog = ChangePasswordDialog(self.clinic, self.actor, self, required=required)
        if required:
            dialog.rejected.connect(lambda: self.lock(idle=False))
        dialog.accepted.connect(lambda: self.statusBar().showMessage("Password changed", 5000))
        dialog.open()
        return dialog

    def refresh(self) -> None:
        if self.is_locked():
            return
        if self._showing(self._records):
            self._run("reading the records", self.records.refresh)
        elif self._showing(self._calculators):
            return
        elif self._showing(self._week_view):
            self._run("reading the bookings", self.week_view.refresh)
        elif self._showing(self._orders):
            self.show_orders()
        elif self._showing(self._patient) and self.patient.patient_id is not None:
            self.open_patient(self.patient.patient_id)
        else:
            self.show_dashboard()

    def show_calculators(self) -> None:
        if self.is_locked():
            return
        self.stack.setCurrentWidget(self.calculators)
        self.calculators.tabs.setFocus()

    def show_records(self, tab: RecordsTab = RecordsTab.AUDIT) -> None:
        if self.is_locked():
            return
        if self._run("reading the records", lambda: self.records.show_tab(tab)):
            self.stack.setCurrentWidget(self.records)
            self.records.tabs.setFocus()

    # ----------------------------------------------------------------- pump events

    def _shown_chart(self) -> PatientChart | None:
        """The chart of the patient shown (None when the patient view is not shown)."""
        return self.patient.chart if self._showing(self._patient) else None

    def _update_event_actions(self) -> None:
        """Each event is possible for the patient shown, to the signed-in role."""
        chart = self._shown_chart()
        role = self.actor.role if self.actor is not None else ""
        for kind, made in self.event_actions.items():
            made.setEnabled(events.event_possible(kind, chart, role))
        if self._patient is None:
            return  # its Events button is set when it is built
        self.patient.events_button.setEnabled(
            any(made.isEnabled() for made in self.event_actions.values())
        )
        self.patient.events_button.setToolTip(
            "Implant, replace, explant, catheter revision, MRI, alarm, ERI or note; "
            "correct the pump's dates"
            if self.patient.events_button.isEnabled()
            else "Pump and catheter events are recorded by a nurse or a prescriber"
        )

    def open_event_dialog(self, kind: str) -> events.EventDialog | None:
        """Open the dialog recording ``kind`` for the patient shown (window-modal); the
        patient view is read again after a save."""
        chart = self._shown_chart()
        if (
            self.is_locked()
            or self.actor is None
            or chart is None
            or not events.event_possible(kind, chart, self.actor.role)
        ):
            return None
        dialog = events.make_dialog(kind, self.clinic, self.actor, chart, self)
        dialog.accepted.connect(lambda: self._event_saved(dialog))
        dialog.finished.connect(lambda _result: self._event_closed(dialog))
        self.event_dialog = dialog
        self._lock_keys_in(dialog)
        dialog.open()
        return dialog

    def correct_refill(self, refill_id: int) -> events.EventDialog | None:
        """Open the correction of the patient's refill ``refill_id`` (window-modal, in the
        event dialog's place); after a save the patient is read again on the same tab, so
        the history shows the correction beneath the refill and the forecast the new date."""
        from ui.dialogs.refill_correction import RefillCorrectionDialog, correctable

        chart = self._shown_chart()
        if (
            self.is_locked()
            or self.actor is None
            or self.event_dialog is not None
            or not correctable(("refill", refill_id), chart, self.actor.role)
        ):
            return None
        assert chart is not None
        dialog = RefillCorrectionDialog(self.clinic, self.actor, chart, refill_id, self)
        dialog.accepted.connect(lambda: self._refill_corrected(dialog))
        dialog.finished.connect(lambda _result: self._event_closed(dialog))
        self.event_dialog = dialog
        self._lock_keys_in(dialog)
        dialog.open()
        return dialog

    def _refill_corrected(self, dialog: events.EventDialog) -> None:
        self.statusBar().showMessage(dialog.saved_text, 10000)
        if self._run("reading the patient again", self.patient.reload):
            self.patient.offer_note(dialog.saved_record, dialog.saved_text)

    def _lock_keys_in(self, dialog: QWidget) -> None:
        """Ctrl+L locks from a window-modal dialog too (the window's own shortcut is blocked
        behind it)."""
        for keys in self.lock_action.shortcuts():
            shortcut = QShortcut(keys, dialog)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(self.lock_action.trigger)

    def _event_saved(self, dialog: events.EventDialog) -> None:
        self.statusBar().showMessage(dialog.saved_text, 10000)
        self.open_patient(dialog.chart.patient.id)
        self.patient.offer_note(dialog.saved_record, dialog.saved_text)
        self._update_event_actions()

    def _event_closed(self, dialog: events.EventDialog) -> None:
        if self.event_dialog is dialog:
            self.event_dialog = None
        dialog.deleteLater()

    # ----------------------------------------------------------------- refill, prescription

    def start_refill(self) -> RefillWizard | None:
        """Open the refill wizard for the patient shown (window-modal); the patient view is
        read again after a save."""
        from ui.wizards.refill import RefillWizard

        return self._open_clinical(RefillWizard, "opening the refill wizard")

    def change_prescription(self) -> PrescriptionDialog | None:
        from ui.dialogs.prescription import PrescriptionDialog

        return self._open_clinical(PrescriptionDialog, "opening the prescription")

    def _open_clinical(self, kind: type[_Clinical], doing: str) -> _Clinical | None:
        chart = self.patient.chart if self._patient is not None else None
        if (
            self.is_locked()
            or self.actor is None
            or chart is None
            or (self.clinical_dialog is not None)
        ):
            return None
        try:
            dialog = kind(self.clinic, self.actor, chart.patient.id, self)
        except Exception as exc:  # the nurse is told why; nothing was opened
            messages.show_error(self, exc, doing)
            return None
        dialog.finished.connect(lambda _result: self._clinical_closed(dialog))
        self.clinical_dialog = dialog
        self._lock_keys_in(dialog)
        dialog.open()
        return dialog

    def _clinical_closed(self, dialog: RefillWizard | PrescriptionDialog) -> None:
        if self.clinical_dialog is dialog:
            self.clinical_dialog = None
        if dialog.outcome is not None:
            saved = dialog.summary() if _is_prescription(dialog) else "Refill saved"
            self.statusBar().showMessage(saved, 10000)
            notice = getattr(dialog.outcome, "booking_notice", None)
            if notice:  # the nurse who moved the due date is told at once (issue 16)
                messages.warn(self, "Booking now too late", notice)
            if not self.is_locked():
                self.open_patient(dialog.chart.patient.id)
                self.patient.offer_note(_saved_record(dialog), saved)
        dialog.deleteLater()

    def print_due_list(self) -> None:
        if not self.is_locked():
            from ui.dialogs import print_preview

            print_preview.print_due_list(self, self.clinic)

    def print_day(self) -> print_preview.SheetJob | None:
        if self.is_locked():
            return None
        from ui.dialogs import print_preview

        return print_preview.print_day(self, self.clinic)

    # ----------------------------------------------------------------- records

    def _settings_saved(self, settings: ClinicSettings) -> None:
        self.idle.set_minutes(settings.auto_lock_minutes)
        self.statusBar().showMessage("Clinic settings saved", 5000)

    def after_restore(self, safety: object) -> None:
        """The records were replaced by a backup: lock, so that someone signs in again with an
        account of the restored records."""
        kept = "" if safety is None else f"\n\nThe database it replaced is kept as {safety}."
        messages.info(
            self,
            "Backup restored",
            "The backup was restored. pumpmgr locks now: sign in with an account of "
            f"the restored records.{kept}",
        )
        self.lock()
        self.check_integrity()  # the restored records: their own checkpoint, their own break
        self._resume_patient = None
        self._discard_hidden()  # forms on the records replaced: nobody carries on with them
        self.lock_screen.prepare(
            "The records were restored from a backup. Sign in with an "
            "account of the restored records.",
            None,
        )

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
        self._resume_patient = self.patient.patient_id if self._showing(self._patient) else None
        screen = self.stack.currentWidget()
        tabs = getattr(screen, "tabs", None)
        self._resume_screen = (screen, tabs.currentIndex() if tabs is not None else 0)
        minutes = self.idle.timeout_ms() // 60_000 if idle else 0  # the time it waited
        at = presentation.local_datetime(self.clinic.clock.now(), self.clinic.tz)
        reason = (
            f"Locked at {at:%H:%M} after {presentation.count_text(minutes, 'minute')} without use."
            if idle
            else f"Locked at {at:%H:%M} by {self.actor.full_name}."
        )
        self._last_actor = self.actor
        self._save_looks(self.actor.username)
        self.actor = None
        self.idle.stop()
        self._hide_windows()
        self.dashboard.clear()
        if self._patient is not None:
            self._patient.clear()
        if self._records is not None:
            self._records.clear()
            self._records.set_actor(None)
        if self._week_view is not None:
            self._week_view.clear()
        for item in [*self.patient_actions, *self._patient_menus()]:
            item.setEnabled(False)
        self.clinic_database_action.setEnabled(False)  # again at the sign-in, by role
        self.toolbar.setVisible(False)
        self.lock_screen.prepare(reason, self._last_actor, self._kept_notice(self._last_actor))
        self.stack.setCurrentWidget(self.lock_screen)
        self.user_label.setText("Locked")
        self.statusBar().showMessage("Locked: patient data hidden")
        self.lock_screen.form.password.setFocus()

    def unlock(self, actor: Actor) -> None:
        same = actor.id == self._last_actor.id
        first = self._last_actor
        # Still locked: a discarded refill saved before the lock does not open its patient.
        discarded = [] if same else self._discard_hidden()
        self._signed_in(actor)
        for item in [*self.patient_actions, *self._patient_menus()]:
            item.setEnabled(True)
        self.toolbar.setVisible(True)
        self.idle.set_minutes(self.clinic.settings().auto_lock_minutes)
        self.idle.start()
        resume = self._resume_patient if same else None
        (screen, tab), self._resume_screen = self._resume_screen, (None, 0)
        self._resume_patient = None
        self.show_dashboard()
        if resume is not None:
            self.open_patient(resume)
            self.patient.tabs.setCurrentIndex(tab)
        elif same and screen is not None and screen is self._calculators:
            self.show_calculators()
        elif same and screen is not None and screen is self._records:
            self.show_records(RecordsTab(tab))
        if same:
            self._show_hidden()
        if discarded:
            self._tell_discarded(first, actor, discarded)
        note = self._discarded_for.pop(actor.id, "")
        if note:
            messages.info(self, "Unsaved work discarded", note)

    # ----------------------------------------------------------------- windows behind the lock

    def _own_windows(self) -> list[QWidget]:
        """The visible windows of this main window (dialogs and their own dialogs), parents
        first."""
        found: list[tuple[int, QWidget]] = []
        for widget in QApplication.topLevelWidgets():
            if widget is self or not widget.isVisible():
                continue
            depth, parent = 0, widget.parentWidget()
            while parent is not None and parent is not self:
                depth, parent = depth + 1, parent.parentWidget()
            if parent is self:
                found.append((depth, widget))
        return [widget for _, widget in sorted(found, key=lambda pair: pair[0])]

    def _hide_windows(self) -> None:
        """Hide every window of ours as it is; close popups, and question boxes waiting on an
        answer (application-modal: they would block the lock screen; they answer "no")."""
        kept: list[QWidget] = []
        for widget in reversed(self._own_windows()):  # children first
            if widget.windowType() in (Qt.WindowType.Popup, Qt.WindowType.ToolTip):
                widget.hide()
            elif widget.windowModality() == Qt.WindowModality.ApplicationModal:
                if isinstance(widget, QDialog):
                    QDialog.reject(widget)
                else:
                    widget.close()
            else:
                widget.hide()
                kept.append(widget)
                # Closed while hidden (a finished print job's progress, say): not shown again.
                widget.installEventFilter(self)
                if isinstance(widget, QDialog):
                    widget.finished.connect(lambda _result, w=widget: self._forget_hidden(w))
        self.hidden_windows = list(reversed(kept)) + self.hidden_windows

    def _forget_hidden(self, widget: QWidget) -> None:
        if widget in self.hidden_windows:
            self.hidden_windows.remove(widget)
            widget.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and isinstance(watched, QWidget):
            self._forget_hidden(watched)
        return super().eventFilter(watched, event)

    def _show_hidden(self) -> None:
        """The same user is back: every hidden window as it was, the last one on top."""
        shown = [w for w in self.hidden_windows if shiboken6.isValid(w)]
        self.hidden_windows = []
        for widget in shown:
            widget.removeEventFilter(self)
            widget.show()
        if shown:
            shown[-1].raise_()
            shown[-1].activateWindow()

    def _unsaved(self, widget: QWidget) -> str:
        """The unsaved work ``widget`` holds, naming the patient ("" if none)."""
        chart = getattr(widget, "chart", None)
        patient = (
            ""
            if chart is None
            else (f" for {chart.patient.display_name} (MRN {chart.patient.mrn})")
        )
        if _is_prescription(widget):
            return "" if widget.outcome is not None else f"a prescription change{patient}"
        if widget is self.clinical_dialog:  # the refill wizard (imported on first use)
            if getattr(widget, "outcome", None) is not None:
                return ""  # saved already: only its last step was open
            steps = getattr(widget, "steps", [])
            index = getattr(widget, "index", 0)
            at = f", at step {index + 1} of {len(steps)}" if steps else ""
            return f"a refill{patient}{at}"
        if isinstance(widget, QProgressDialog | QMessageBox):
            return ""  # work in progress or a message: nothing typed
        if isinstance(widget, QDialog):
            return f"“{widget.windowTitle()}”"
        return ""

    def _kept_notice(self, user: Actor) -> str:
        """The lock screen's notice of unsaved work (no patient named: the screen is locked)."""
        count = sum(1 for widget in self.hidden_windows if self._unsaved(widget))
        if not count:
            return ""
        what, it = (
            ("an unsaved form", "it is") if count == 1 else (f"{count} unsaved forms", "they are")
        )
        return (
            f"{user.full_name} has {what} open, kept as typed. Sign in as "
            f"{user.full_name} to carry on. If another user signs in, {it} discarded: "
            "nothing of it has been saved."
        )

    def _discard_hidden(self) -> list[str]:
        """Close every hidden window without saving (children first); the unsaved work they
        held."""
        hidden, self.hidden_windows = self.hidden_windows, []
        forms: list[str] = []
        for widget in reversed(hidden):
            if not shiboken6.isValid(widget):
                continue
            widget.removeEventFilter(self)
            form = self._unsaved(widget)
            if form:
                forms.append(form)
            discard = getattr(widget, "discard", None)
            if widget is self.clinical_dialog and callable(discard):
                discard()  # closes without asking and without saving
            elif isinstance(widget, QDialog):
                QDialog.reject(widget)  # no "discard?" question: nobody is there to answer
            else:
                widget.close()
        return list(reversed(forms))

    def _tell_discarded(self, first: Actor, actor: Actor, forms: list[str]) -> None:
        """Tell the user who signed in, and later the one whose work it was."""
        at = presentation.local_datetime(self.clinic.clock.now(), self.clinic.tz)
        listed = "; ".join(forms)
        self.statusBar().showMessage(f"{first.full_name}'s unsaved work was discarded", 15000)
        messages.info(
            self,
            "Unsaved work discarded",
            f"{first.full_name} had unsaved work open when pumpmgr locked: {listed}.\n\n"
            "It was discarded when you signed in; nothing of it was saved. If that work was "
            f"done at the bedside, {first.full_name} records it again.",
        )
        self._discarded_for[first.id] = (
            f"Your unsaved work ({listed}) was discarded at {at:%H:%M} when "
            f"{actor.full_name} signed in on this workstation; nothing of it was saved. "
            "Record it again if it was done."
        )

    def _signed_in(self, actor: Actor) -> None:
        self._restore_looks(actor.username)
        self.actor = actor
        self._last_actor = actor
        self.user_label.setText(f"Signed in: {actor.full_name} ({actor.role})")
        if self._records is not None:
            self._records.set_actor(actor)
        if self._orders is not None:
            self._orders.set_actor(actor)
        if self._patient is not None:
            self._patient.set_actor(actor)
        self.update_orders_badge()
        self.records_actions[RecordsTab.USERS].setVisible(actor.role == "administrator")
        self.clinic_database_action.setEnabled(actor.role == "administrator")
        self._update_event_actions()
        self.statusBar().showMessage(f"Welcome, {actor.full_name}", 5000)
        self._update_integrity_banner()
        if self._full_check_timer is not None:
            self._full_check_timer.start()
        if self.clinic.users.must_change_password(actor):
            QTimer.singleShot(0, lambda: self.change_password(required=True))

    def _save_looks(self, username: str) -> None:
        remembered.save(self, username, self.dashboard.header_state())

    def _restore_looks(self, username: str) -> None:
        """The user's own window size and due-list columns, where they were kept."""
        geometry = remembered.window_geometry(username)
        if geometry is not None:
            self.restoreGeometry(geometry)
        columns = remembered.due_list_columns(username)
        if columns is None or not self.dashboard.restore_header(columns):
            self.dashboard.default_widths()

    # ----------------------------------------------------------------- misc

    def choose_clinic_database(self) -> None:
        if self.actor is not None and self.actor.role == "administrator":
            from ui.dialogs.clinic_database import ClinicDatabaseDialog

            ClinicDatabaseDialog(self.clinic, self.actor, self).exec()

    def about(self) -> None:
        messages.info(
            self,
            "About pumpmgr",
            f"{program_version()}: intrathecal pump clinic manager.\n\n"
            "Decision support and record "
            "keeping: the pump's own programmer stays the device of record. Every "
            "number is shown with its unit.",
        )

    def _may_quit(self) -> bool:
        """Quitting loses unsaved forms: ask first when there are any (behind the lock, without
        naming the patients)."""
        if self.is_locked():
            count = sum(
                1
                for widget in self.hidden_windows
                if shiboken6.isValid(widget) and self._unsaved(widget)
            )
            listed = (
                "" if not count else ("an unsaved form" if count == 1 else f"{count} unsaved forms")
            )
        else:
            listed = "; ".join(form for form in map(self._unsaved, self._own_windows()) if form)
        if not listed:
            return True
        return messages.confirm(
            self,
            "Quit pumpmgr",
            f"Not saved: {listed}.\n\nQuitting discards it: nothing of it has been saved, and "
            "work done at the bedside would have to be recorded again.",
            yes="Quit without saving",
            no="Go back",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._may_quit():
            event.ignore()
            return
        for widget in self._own_windows():  # its dialogs go with it
            widget.hide()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        self.idle.stop()
        self.live.stop()
        if self.actor is not None:
            self._save_looks(self.actor.username)
        super().closeEvent(event)
