"""One patient: identity and flags, the pump with its reservoir gauge and forecast, the current
prescription, the reservoir and residual charts, and the history as one timeline.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``patient_chart``, ``expected_now``),
:mod:`pumpmgr.formatting` and the ui widgets and models. Display only: every number comes from
a record or the service and is written by :mod:`pumpmgr.formatting` with its unit.

Over 600 lines: one screen class whose sections all show the one chart it holds and share its
buttons; no pure move splits it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.alerts import patient_alerts
from pumpmgr.booking import visit_text
from pumpmgr.errors import PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import format_percent, format_quantity
from pumpmgr.records import INDICATION_TEXT, PatientChart, PumpRecord, RefillRecord
from pumpmgr.residuals import ResidualRow, residual_rows
from pumpmgr.services import Actor, ClinicService
from pumpmgr.units import Kind, Quantity
from pumpmgr.visit_note import RecordRef
from pumpmgr.visit_record import investigate_text
from pumpmgr.wording import bolus_text, schedule_lines
from ui import icons, messages, presentation
from ui.dialogs import booking, refill_correction, visit_note
from ui.dialogs.prescriber_actions import add_prescriber_actions
from ui.dialogs.stop_order import stop_carried_out
from ui.models.history import Column as HistoryColumn
from ui.models.history import HistoryModel, timeline
from ui.widgets.charts import ALARM, ReservoirChart, ResidualChart
from ui.widgets.field_list import Field, FieldList
from ui.widgets.reservoir_gauge import ReservoirCard
from ui.widgets.style_state import set_role

if TYPE_CHECKING:  # imported on the first print (it brings in reportlab)
    from ui.dialogs import print_preview

#: A replace-by date within this many days is flagged (about 6 months).
REPLACE_SOON_DAYS = 183

PUMP_TYPE_TEXT = {
    "programmable_peristaltic": "programmable (peristaltic)",
    "valve_gated": "programmable (valve-gated)",
    "constant_flow": "constant flow (no low-reservoir alarm)",
}


def _live_refills(refills: tuple[RefillRecord, ...], pump_id: int) -> list[RefillRecord]:
    """The pump's refills in force (a corrected refill is replaced by its correction)."""
    corrected = {r.corrects_id for r in refills if r.corrects_id is not None}
    return sorted(
        (r for r in refills if r.pump_id == pump_id and r.id not in corrected),
        key=lambda r: r.performed_at,
    )


#: The residual table's columns.
RESIDUAL_COLUMNS = ("Refill", "Expected", "Aspirated", "Difference", "Delivery error", "Verdict")


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


#: The opioid status beside a patient on an opioid: it picks the start range a start or restart
#: is checked against, and one not recorded counts as naive (domain-rules §6).
_OPIOID_FLAGS: dict[str | None, tuple[str, str]] = {
    "naive": (
        "Opioid naive",
        "Opioid-naive: a start or restart is checked against the opioid-naive start range",
    ),
    "tolerant": (
        "Opioid tolerant",
        "Opioid-tolerant: a start or restart is checked against the opioid-tolerant start range",
    ),
    None: (
        "Opioid status not recorded",
        "Not recorded, so the dose checks count the patient "
        "as opioid-naive (the stricter start range)",
    ),
}


class PatientScreen(QWidget):
    """The patient view; :meth:`show_patient` loads one patient through the service."""

    #: Back to the due list.
    back_requested = Signal()
    #: Start the refill wizard / the prescription change for the patient shown.
    refill_requested = Signal()
    prescription_requested = Signal()
    #: Correct the refill (its id) selected in the history.
    refill_correction_requested = Signal(int)

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.chart: PatientChart | None = None
        self.expected_now: Quantity | None = None

        self.back_button = QPushButton(icons.icon(icons.BACK), "&Back to due list", self)
        self.back_button.setAutoDefault(False)
        self.back_button.setToolTip("Back to the due list (Esc or Alt+Left)")
        self.back_button.clicked.connect(self.back_requested)
        self.name_label = QLabel(self)
        self.name_label.setProperty("role", "title")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.identity_label = QLabel(self)
        self.identity_label.setProperty("role", "subtitle")
        self.identity_label.setWordWrap(True)
        self.identity_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        #: Pump and catheter events: the main window fills the menu with its actions.
        self.events_button = QToolButton(self)
        self.events_button.setText("Pump && catheter &events")
        self.events_button.setToolTip(
            "Implant, replace, explant, catheter revision, MRI, alarm, ERI or note"
        )
        self.events_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.events_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.events_button.setMenu(QMenu(self.events_button))
        self.refill_button = QPushButton("Ref&ill…", self)
        self.refill_button.setAutoDefault(False)
        self.refill_button.setToolTip("The refill wizard, step by step as at the bedside")
        self.refill_button.clicked.connect(self.refill_requested)
        self.prescription_button = QPushButton("Change &prescription…", self)
        self.prescription_button.setAutoDefault(False)
        self.prescription_button.setToolTip(
            "A new program outside a refill, with live dose checks and a second nurse's check"
        )
        self.prescription_button.clicked.connect(self.prescription_requested)
        self.booking_button = QToolButton(self)
        self.booking_button.setText("Boo&king")
        self.booking_button.setToolTip(
            "Book, move or cancel the pump's refill visit, or mark it not attended"
        )
        self.booking_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.booking_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.booking_button.setMenu(QMenu(self.booking_button))
        self.booking_button.menu().aboutToShow.connect(self._fill_booking_menu)
        self.print_button = QToolButton(self)
        self.print_button.setText("Prin&t")
        self.print_button.setToolTip(
            "Print the refill worksheet, the wallet card, the "
            "history, the admission hand-off or the reminder letter, "
            "with a preview"
        )
        self.print_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.print_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.print_button.setMenu(QMenu(self.print_button))
        sheets: tuple[tuple[print_preview.PatientSheet, str], ...] = (
            ("worksheet", "Refill &worksheet (before the visit)…"),
            ("card", "Wallet &card…"),
            ("history", "&History…"),
            ("handoff", "&Admission hand-off for a ward…"),
            ("reminder", "&Reminder letter of the booked visit…"),
        )
        for kind, text in sheets:
            self.print_button.menu().addAction(text, partial(self.print_sheet, kind))
        self.flags_row = QHBoxLayout()
        self.flags_row.setSpacing(6)
        self.flag_labels: list[QLabel] = []
        #: Incidents, open orders and individual maxima (domain-rules §4a, §6, §7): the top of
        #: the page, in the worksheet's words (:func:`pumpmgr.alerts.patient_alerts`).
        self.alerts_label = QLabel(self)
        self.alerts_label.setWordWrap(True)
        self.alerts_label.setTextFormat(Qt.TextFormat.RichText)
        self.alerts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.alerts_label.setAccessibleName("Alerts for this patient")
        self.alerts_label.hide()
        #: A prescriber's actions (reviews, individual maxima), for prescribers only.
        self.actor: Actor | None = None
        self.prescriber_button = QToolButton(self)
        self.prescriber_button.setText("Prescri&ber")
        self.prescriber_button.setToolTip(
            "Review an incident; stop a drug; raise, review or end an individual maximum"
        )
        self.prescriber_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.prescriber_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.prescriber_button.setMenu(QMenu(self.prescriber_button))
        self.prescriber_button.hide()
        #: A Stop order awaiting the nurse (domain-rules §6): shown while one is open.
        self.stop_done_button = QPushButton("&Stop carried out…", self)
        self.stop_done_button.setAutoDefault(False)
        self.stop_done_button.setToolTip("Record how a prescriber's Stop order was carried out")
        self.stop_done_button.clicked.connect(self.record_stop_carried_out)
        self.stop_done_button.hide()

        self.pump_fields = FieldList("Pump", self)
        self.reservoir = ReservoirCard(self)
        self.forecast_fields = FieldList("Forecast", self)
        self.prescription_fields = FieldList("Current prescription", self)
        self.reservoir_chart = ReservoirChart(clinic.tz, self)
        self._residual_chart = ResidualChart(clinic.tz, self)
        self._history_model = HistoryModel(clinic.tz, self)
        #: What the hidden tabs will show, filled when a tab is shown or read (None: filled):
        #: the live refills for the residuals, the chart for the history.
        self._residuals_to_fill: list[RefillRecord] | None = None
        self._history_to_fill: PatientChart | None = None
        self.history_view = QTableView(self)
        self.history_view.setModel(self._history_model)
        self.history_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_view.setWordWrap(True)
        self.history_view.setTabKeyNavigation(False)
        self.history_view.verticalHeader().setVisible(False)
        self.history_view.setAccessibleName("Patient history")
        self.history_view.horizontalHeader().setSectionResizeMode(
            int(HistoryColumn.DETAILS), QHeaderView.ResizeMode.Stretch
        )
        self._fit_history(False)
        self.copy_note_button = QPushButton("Copy &note…", self)
        self.copy_note_button.setAutoDefault(False)
        self.copy_note_button.setToolTip(
            "The selected refill, prescription or event as a note "
            "for the hospital's record, on the clipboard"
        )
        self.copy_note_button.clicked.connect(self.copy_selected_note)
        self.history_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.history_view.addAction(
            self.copy_note_button.text().replace("&", ""), self.copy_selected_note
        )
        self.correct_button = QPushButton("&Correct this refill…", self)
        self.correct_button.setAutoDefault(False)
        self.correct_button.setToolTip(
            "A correction of the selected refill, checked by a second nurse; the refill as "
            "recorded stays, with the correction beneath it"
        )
        self.correct_button.clicked.connect(self.correct_selected_refill)
        self.correct_action = self.history_view.addAction(
            self.correct_button.text().replace("&", ""), self.correct_selected_refill
        )
        self.history_view.selectionModel().selectionChanged.connect(
            lambda *_: self._update_note_button()
        )
        self.history_view.doubleClicked.connect(lambda _index: self.copy_selected_note())
        #: After an event or a prescription is saved: its note, one click away.
        self.saved_label = QLabel(self)
        self.saved_label.setProperty("role", "muted")
        self.saved_note_button = QPushButton("Copy its &visit note…", self)
        self.saved_note_button.setAutoDefault(False)
        self.saved_note_button.clicked.connect(self.copy_saved_note)
        self.saved_record: RecordRef | None = None
        saved_bar = QHBoxLayout()
        saved_bar.addWidget(self.saved_label)
        saved_bar.addWidget(self.saved_note_button)
        saved_bar.addStretch(1)
        self.saved_bar = saved_bar
        self.offer_note(None)

        # Overview: reservoir and pump on the left; forecast, prescription and the reservoir
        # chart on the right. Fits 1366x768 without scrolling; scrolls on smaller windows.
        chart_box = QGroupBox("Reservoir volume over time", self)
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(6, 6, 6, 6)
        chart_layout.addWidget(self.reservoir_chart)
        overview = QWidget(self)
        grid = QGridLayout(overview)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.addWidget(self.reservoir, 0, 0)
        grid.addWidget(self.pump_fields, 1, 0)
        grid.addWidget(self.forecast_fields, 0, 1)
        grid.addWidget(self.prescription_fields, 0, 2)
        grid.addWidget(chart_box, 1, 1, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 4)
        grid.setRowStretch(1, 1)
        self.reservoir_chart.setMinimumHeight(170)
        scroll = self.overview_scroll = QScrollArea(self)
        scroll.setWidget(overview)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        residuals = QWidget(self)
        residual_layout = QVBoxLayout(residuals)
        residual_note = QLabel(
            "At each refill: the residual pumpmgr expected (circle) and the volume aspirated "
            "(square; a red cross when the verdict was investigate). A steady gap suggests "
            "the pump runs fast or slow; a sudden one, a leak, a pocket fill or a stopped pump.",
            residuals,
        )
        residual_note.setWordWrap(True)
        residual_note.setProperty("role", "muted")
        residual_layout.addWidget(residual_note)
        residual_layout.addWidget(self._residual_chart, 1)
        self._residual_table = QTableWidget(0, len(RESIDUAL_COLUMNS), residuals)
        self.residuals_tab = residuals
        self._residual_table.setHorizontalHeaderLabels(list(RESIDUAL_COLUMNS))
        for column, tip in (
            (3, "expected minus aspirated: positive when less came back"),
            (4, "the difference over the volume expected to be delivered since the fill before"),
        ):
            header_item = self._residual_table.horizontalHeaderItem(column)
            if header_item is not None:
                header_item.setToolTip(tip)
        self._residual_table.setAccessibleName("Residuals across refills")
        self._residual_table.verticalHeader().setVisible(False)
        self._residual_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._residual_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._residual_table.setTabKeyNavigation(False)
        self._residual_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        residual_layout.addWidget(self._residual_table, 1)

        history = QWidget(self)
        history_layout = QVBoxLayout(history)
        history_note = QLabel(
            "Newest first. A correction sits right under the entry it "
            "corrects; the corrected entry stays, marked.",
            history,
        )
        history_note.setProperty("role", "muted")
        history_layout.addWidget(history_note)
        history_layout.addWidget(self.history_view, 1)
        note_row = QHBoxLayout()
        note_row.addWidget(self.copy_note_button)
        note_row.addWidget(self.correct_button)
        note_row.addStretch(1)
        history_layout.addLayout(note_row)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(scroll, "&Overview")
        self.tabs.addTab(residuals, "&Residuals across refills")
        self.tabs.addTab(history, "&History")
        self.history_tab = history
        self.tabs.currentChanged.connect(lambda _index: self._tab_shown(self.tabs.currentWidget()))

        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addWidget(self.name_label)
        heading.addWidget(self.identity_label)
        top = QHBoxLayout()
        top.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addSpacing(10)
        top.addLayout(heading, 1)
        top.addLayout(self.flags_row)
        for button in (
            self.refill_button,
            self.prescription_button,
            self.booking_button,
            self.print_button,
        ):
            top.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.events_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.stop_done_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.prescriber_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addLayout(top)
        layout.addWidget(self.alerts_label)
        layout.addLayout(self.saved_bar)
        layout.addWidget(self.tabs, 1)

        for keys in (QKeySequence(Qt.Key.Key_Escape), QKeySequence("Alt+Left")):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.back_requested)

    # ----------------------------------------------------------------- loading

    @property
    def patient_id(self) -> int | None:
        return None if self.chart is None else self.chart.patient.id

    def show_patient(self, patient_id: int) -> None:
        """Load the patient's chart and the estimated volume now from the service."""
        if self.chart is None or self.chart.patient.id != patient_id:
            self.offer_note(None)
        chart = self.clinic.patient_chart(patient_id)
        pump = chart.pump
        now = self.clinic.clock.now()
        due_at = (
            None
            if chart.forecast is None
            else datetime.combine(chart.forecast.refill_due, time(12, 0), self.clinic.tz)
        )
        # the residual now and, for the projection, at the due date: one read
        moments = [now] if due_at is None or due_at <= now else [now, due_at]
        expected, *at_due = [None] if pump is None else self.clinic.expected_at(pump.id, moments)
        projection: list[tuple[datetime, Quantity]] = []
        if pump is not None and chart.forecast is not None and expected is not None:
            projection = [(chart.forecast.filled_at, chart.forecast.fill_volume), (now, expected)]
            live = _live_refills(chart.refills, pump.id)
            if live and live[-1].performed_at < chart.forecast.filled_at:
                # re-baselined by a prescription change: the line runs on from the last fill
                projection.insert(0, (live[-1].performed_at, live[-1].final_volume))
            if due_at is not None and at_due and at_due[0] is not None:
                projection.append((due_at, at_due[0]))
        self.chart, self.expected_now = chart, expected
        self._show_identity(chart)
        self._show_pump(chart, expected)
        self._show_forecast(chart)
        self._show_prescription(chart)
        refills = [] if pump is None else _live_refills(chart.refills, pump.id)
        if pump is None:
            self.reservoir_chart.clear()
        else:
            self.reservoir_chart.set_data(
                refills,
                capacity=pump.capacity,
                alarm=pump.alarm_volume,
                projection=projection,
                due=None if chart.forecast is None else chart.forecast.refill_due,
                now=now,
                alarm_name="planning volume"
                if pump.pump_type == "constant_flow"
                else "alarm volume",
            )
        # the residuals and the history are filled when their tab is shown (or read)
        self._residuals_to_fill, self._history_to_fill = refills, chart
        self.tabs.setCurrentIndex(0)
        self._tab_shown(self.tabs.currentWidget())
        self._show_alerts(chart)
        self._update_buttons()

    def reload(self) -> None:
        """Read the patient shown again (another workstation changed the records: ui.live),
        keeping the tab, the scroll positions and the history's selected entry."""
        if self.chart is None:
            return
        tab = self.tabs.currentIndex()
        scrolled = [
            (bar, bar.value())
            for view in (self.overview_scroll, self.history_view)
            for bar in (view.verticalScrollBar(), view.horizontalScrollBar())
        ]
        rows = self.history_view.selectionModel().selectedRows()
        # an unfilled history has no selection (what its view holds is an earlier chart's)
        entries = [] if self._history_to_fill is not None else self._history_model.entries()
        selected = entries[rows[0].row()].key if rows and rows[0].row() < len(entries) else None
        self.show_patient(self.chart.patient.id)
        self.tabs.setCurrentIndex(tab)
        if selected is not None:
            keys = [entry.key for entry in self.history_model.entries()]
            if selected in keys:
                self.history_view.selectRow(keys.index(selected))
        for bar, value in scrolled:
            bar.setValue(value)

    def clear(self) -> None:
        """Forget the patient (the window is locked: no patient data stays on screen)."""
        self.chart, self.expected_now = None, None
        self.name_label.clear()
        self.identity_label.clear()
        self._set_flags([])
        self.alerts_label.clear()
        self.alerts_label.hide()
        for fields in (self.pump_fields, self.forecast_fields, self.prescription_fields):
            fields.set_fields([])
        self.reservoir.clear()
        self.reservoir_chart.clear()
        self._residuals_to_fill, self._history_to_fill = None, None
        self._residual_chart.set_refills([])
        self._show_residuals([])
        self._history_model.set_entries([])
        self.offer_note(None)

    # The residuals' and the history's tabs are filled when shown, not with the chart: a long
    # history's timeline and residual rows are most of opening a patient, for tabs not on
    # screen. Reading them (the properties below) fills them as well.

    @property
    def history_model(self) -> HistoryModel:
        """The history's model, filled for the patient shown."""
        self._fill_history()
        return self._history_model

    @property
    def residual_chart(self) -> ResidualChart:
        """The residuals' chart, filled for the patient shown."""
        self._fill_residuals()
        return self._residual_chart

    @property
    def residual_table(self) -> QTableWidget:
        """The residuals' table, filled for the patient shown."""
        self._fill_residuals()
        return self._residual_table

    def _tab_shown(self, tab: QWidget) -> None:
        if tab is self.residuals_tab:
            self._fill_residuals()
        elif tab is self.history_tab:
            self._fill_history()
        self._fit_history(tab is self.history_tab)

    def _fill_residuals(self) -> None:
        refills, self._residuals_to_fill = self._residuals_to_fill, None
        if refills is not None:
            residuals = residual_rows(refills)
            self._residual_chart.set_refills(refills, residuals)
            self._show_residuals(residuals)

    def _fill_history(self) -> None:
        chart, self._history_to_fill = self._history_to_fill, None
        if chart is not None:
            self._history_model.set_entries(timeline(chart, self.clinic.catalogs))

    def _fit_history(self, shown: bool) -> None:
        """Size the history table's rows and columns to their contents while its tab is shown,
        and not while it is hidden: Qt measures every cell for that (hundreds of wrapped
        details in a long history), which would otherwise slow down opening every patient
        for a tab that is not on screen. Sized again each time the tab is shown."""
        mode = (
            QHeaderView.ResizeMode.ResizeToContents if shown else QHeaderView.ResizeMode.Interactive
        )
        header = self.history_view.horizontalHeader()
        for column in HistoryColumn:
            if column != HistoryColumn.DETAILS:
                header.setSectionResizeMode(int(column), mode)
        self.history_view.verticalHeader().setSectionResizeMode(mode)

    # ----------------------------------------------------------------- sections

    def _show_residuals(self, residuals: list[ResidualRow]) -> None:
        """Newest first: each refill's expected and aspirated residual, the difference and
        the delivery error, as :mod:`pumpmgr.residuals` gives them."""
        rows = list(reversed(residuals))
        self._residual_table.setRowCount(len(rows))
        for number, row in enumerate(rows):
            verdict = "" if row.verdict is None else row.verdict.replace("_", " ")
            texts = (
                presentation.datetime_text(row.performed_at, self.clinic.tz),
                format_quantity(row.expected, Kind.VOLUME),
                format_quantity(row.aspirated, Kind.VOLUME),
                row.difference_text(),
                row.error_text(),
                verdict,
            )
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if row.verdict == "investigate":
                    item.setForeground(ALARM)
                self._residual_table.setItem(number, column, item)

    def _set_flags(self, flags: list[tuple[str, str]]) -> None:
        for label in self.flag_labels:
            self.flags_row.removeWidget(label)
            label.hide()
            label.deleteLater()
        self.flag_labels = []
        for text, tip in flags:
            label = QLabel(text, self)
            label.setProperty("role", "flag")
            label.setToolTip(tip)
            self.flags_row.addWidget(label, 0, Qt.AlignmentFlag.AlignTop)
            self.flag_labels.append(label)

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        self._update_buttons()

    def _show_alerts(self, chart: PatientChart) -> None:
        alerts = patient_alerts(chart, self.clinic.tz, self.clinic.clock.now())
        set_role(self.alerts_label, "alert" if any(a.urgent for a in alerts) else "notice")
        # rich text always: one alert has no tag, and Qt would show its escapes as typed
        self.alerts_label.setText("<br>".join(escape(a.text, quote=False) for a in alerts))
        self.alerts_label.setVisible(bool(alerts))

    def alert_texts(self) -> list[str]:
        """The alerts shown, one a line (for tests and screen readers)."""
        chart = self.chart
        return (
            []
            if chart is None
            else [a.text for a in patient_alerts(chart, self.clinic.tz, self.clinic.clock.now())]
        )

    def flag_texts(self) -> list[str]:
        return [label.text() for label in self.flag_labels]

    def _show_identity(self, chart: PatientChart) -> None:
        patient = chart.patient
        today = self.clinic.today()
        self.name_label.setText(patient.display_name)
        parts = [
            f"MRN {patient.mrn}",
            f"born {presentation.date_text(patient.date_of_birth)} "
            f"({_age(patient.date_of_birth, today)} years)",
            INDICATION_TEXT.get(patient.indication, patient.indication),
        ]
        if patient.emergency_contact:
            parts.append(f"emergency contact {patient.emergency_contact}")
        self.identity_label.setText("  ·  ".join(parts))
        flags: list[tuple[str, str]] = []
        if patient.status != "active":
            flags.append((patient.status.capitalize(), "The patient is not active"))
        if patient.renal_impairment:
            flags.append(
                (
                    "Renal impairment",
                    "Renal impairment: the dose checks take it into account (morphine metabolites)",
                )
            )
        if chart.prescription is not None and any(
            self.clinic.library().drug(i.drug).opioid for i in chart.prescription.ingredients
        ):
            flags.append(_OPIOID_FLAGS[patient.opioid_status])
        if chart.pump is None:
            flags.append(("No active pump", "The patient has no active pump"))
        elif chart.pump.pump_type == "constant_flow":
            flags.append(
                (
                    "Constant-flow pump",
                    "No low-reservoir alarm: refills are planned from the nominal flow",
                )
            )
        last = (
            None
            if chart.pump is None
            else next(iter(_live_refills(chart.refills, chart.pump.id)[-1:]), None)
        )
        if last is not None and last.discrepancy_verdict == "investigate":
            said = investigate_text(
                last.performed_at.astimezone(self.clinic.tz).date(),
                last.discrepancy_difference,
                last.discrepancy_note,
            )
            flags.append(("Last residual: investigate", said[0].upper() + said[1:]))
        self._set_flags(flags)

    def _show_pump(self, chart: PatientChart, expected: Quantity | None) -> None:
        pump = chart.pump
        if pump is None:
            self.pump_fields.set_fields([("none", "Pump", "no active pump", "muted")])
            self.reservoir.clear("no active pump")
            return
        self.reservoir.set_values(
            pump.capacity,
            pump.alarm_volume,
            expected,
            alarm_name="Planning volume" if pump.pump_type == "constant_flow" else "Alarm volume",
        )
        fields: list[Field] = [
            ("model", "Model", pump.model_name, ""),
            ("type", "Type", PUMP_TYPE_TEXT.get(pump.pump_type, pump.pump_type), ""),
            ("serial", "Serial number", pump.serial_number, ""),
            (
                "implanted",
                "Implanted",
                f"{presentation.date_text(pump.implanted_on)}, {pump.site}",
                "",
            ),
        ]
        if pump.nominal_flow is not None:
            fields.append(
                ("nominal flow", "Nominal flow", format_quantity(pump.nominal_flow, Kind.FLOW), "")
            )
        fields.append(
            (
                "accuracy",
                "Labelled accuracy",
                "not known"
                if pump.accuracy_percent is None
                else "±" + format_percent(pump.accuracy_percent / 100, signed=False),
                "",
            )
        )
        fields.append(
            (
                "path volume",
                "Pump fluid path",
                "not entered"
                if pump.pump_path_volume is None
                else format_quantity(pump.pump_path_volume, Kind.VOLUME),
                "",
            )
        )
        catheter = chart.catheter
        if catheter is not None:
            text = f"{self._catheter_name(catheter.model_key)}, tip at {catheter.tip_level}"
            if catheter.volume is not None:
                text += f", volume {format_quantity(catheter.volume, Kind.VOLUME)}"
            fields.append(("catheter", "Catheter", text, ""))
        if pump.replace_by is not None:
            replace = presentation.date_text(pump.replace_by)
        elif pump.pump_type == "constant_flow":
            replace = "no battery (constant flow)"
        else:
            replace = "not recorded"
        emphasis = ""
        if pump.replace_by is not None and pump.replace_by <= self.clinic.today() + timedelta(
            days=REPLACE_SOON_DAYS
        ):
            replace += " (within 6 months)"
            emphasis = "error"
        fields.append(("replace by", "Replace by", replace, emphasis))
        self.pump_fields.set_fields(fields)

    def _show_forecast(self, chart: PatientChart) -> None:
        forecast, pump, tz = chart.forecast, chart.pump, self.clinic.tz
        if forecast is None or pump is None:
            self.forecast_fields.set_fields([("none", "Forecast", "no fill recorded yet", "muted")])
            return
        constant = pump.pump_type == "constant_flow"
        refills = _live_refills(chart.refills, pump.id)
        fields: list[Field] = []
        if refills and refills[-1].performed_at != forecast.filled_at:
            # a prescription change re-baselines the forecast on the expected volume then:
            # that is not a fill, and the fill before it is named as such
            last = refills[-1]
            fields.append(
                (
                    "filled",
                    "Last fill",
                    f"{presentation.datetime_text(last.performed_at, tz)}, "
                    f"{format_quantity(last.final_volume, Kind.VOLUME)}",
                    "",
                )
            )
            fields.append(
                (
                    "rebaselined",
                    "Re-baselined",
                    f"{presentation.datetime_text(forecast.filled_at, tz)}, "
                    f"{format_quantity(forecast.fill_volume, Kind.VOLUME)} expected "
                    "(prescription changed; not a fill)",
                    "",
                )
            )
        else:
            fields.append(
                (
                    "filled",
                    "Last fill",
                    f"{presentation.datetime_text(forecast.filled_at, tz)}, "
                    f"{format_quantity(forecast.fill_volume, Kind.VOLUME)}",
                    "",
                )
            )
        fields += [
            ("daily volume", "Daily volume", format_quantity(forecast.daily_volume, Kind.FLOW), ""),
            (
                "alarm",
                "Planning volume reached" if constant else "Low-reservoir alarm",
                presentation.datetime_text(forecast.alarm_at, tz),
                "",
            ),
        ]
        if forecast.alarm_at_with_boluses != forecast.alarm_at:
            fields.append(
                (
                    "alarm with boluses",
                    "Alarm, every bolus taken",
                    presentation.datetime_text(forecast.alarm_at_with_boluses, tz),
                    "",
                )
            )
        due_emphasis = "error" if forecast.refill_due < self.clinic.today() else ""
        fields += [
            ("refill due", "Refill due", presentation.date_text(forecast.refill_due), due_emphasis),
            (
                "due because",
                "Due because",
                due_reason_words(forecast.refill_due_reason, constant_flow=constant),
                "",
            ),
            ("empty", "Empty", presentation.datetime_text(forecast.empty_at, tz), ""),
        ]
        visit = self.clinic.bookings.open_booking(pump.id)
        fields.append(
            (
                "visit booked",
                "Visit booked",
                "not booked"
                if visit is None
                else visit_text(visit) + (", booked too late" if visit.too_late else ""),
                "error" if visit is not None and visit.too_late else "",
            )
        )
        self.forecast_fields.set_fields(fields)

    def _show_prescription(self, chart: PatientChart) -> None:
        rx = chart.prescription
        if rx is None:
            self.prescription_fields.set_fields(
                [("none", "Prescription", "none recorded", "muted")]
            )
            return
        unit = rx.primary.display_unit
        fields: list[Field] = []
        for ingredient, dose in presentation.drug_doses(rx):
            name, mass = ingredient.drug.capitalize(), ingredient.display_unit
            fields.append(
                (
                    f"concentration {ingredient.drug}",
                    name,
                    format_quantity(ingredient.concentration, Kind.CONCENTRATION, mass),
                    "",
                )
            )
            fields.append(
                (
                    f"dose {ingredient.drug}",
                    f"{name} daily dose",
                    format_quantity(dose, Kind.DOSE_RATE, mass),
                    "",
                )
            )
        fields.append(
            (
                "daily volume",
                "Daily volume",
                format_quantity(rx.program.daily_volume(), Kind.FLOW),
                "",
            )
        )
        fields.append(("schedule", "Schedule", "\n".join(schedule_lines(rx.schedule, unit)), ""))
        fields.append(("patient bolus", "Patient bolus", bolus_text(rx.patient_bolus, unit), ""))
        if rx.patient_bolus is not None:
            fields.append(
                (
                    "max daily dose",
                    "Every bolus taken",
                    f"{presentation.dose_text(rx.program.max_daily_dose(), unit)}, "
                    f"{format_quantity(rx.program.max_daily_volume(), Kind.FLOW)}",
                    "",
                )
            )
        since = presentation.datetime_text(rx.effective_at, self.clinic.tz)
        fields.append(("since", "Since", f"{since}, {rx.prescriber}", ""))
        findings = presentation.findings_text(rx)
        if findings:
            fields.append(("findings", "Dose checks", findings, ""))
        self.prescription_fields.set_fields(fields)

    def _catheter_name(self, key: str) -> str:
        try:
            return self.clinic.catalogs.catheter_model(key).name
        except PumpMgrError:
            return key

    def booking_actions(self) -> list[tuple[str, Callable[[], object]]]:
        """The pump's booking actions (:func:`ui.dialogs.booking.booking_actions`)."""
        pump, chart = self.pump(), self.chart
        if pump is None or chart is None:
            return []
        due = None if chart.forecast is None else chart.forecast.refill_due
        return booking.booking_actions(
            self,
            self.clinic,
            pump.id,
            f"{chart.patient.display_name} ({chart.patient.mrn})",
            due,
            lambda: self.show_patient(chart.patient.id),
        )

    def _fill_booking_menu(self) -> None:
        menu = self.booking_button.menu()
        menu.clear()
        try:
            actions = self.booking_actions()
        except PumpMgrError as exc:
            messages.show_error(self, exc, "reading the pump's booking")
            return
        for text, run in actions:
            menu.addAction(text, run)

    def _update_buttons(self) -> None:
        pump = self.pump()
        self.refill_button.setEnabled(
            pump is not None and self.chart is not None and self.chart.prescription is not None
        )
        self.prescription_button.setEnabled(pump is not None)
        self.booking_button.setEnabled(
            pump is not None and self.chart is not None and self.chart.forecast is not None
        )
        self.print_button.setEnabled(self.chart is not None)
        clinician = self.actor is not None and self.actor.role in ("nurse", "prescriber")
        self.stop_done_button.setVisible(
            clinician and self.chart is not None and bool(self.chart.stop_orders)
        )
        prescriber = self.actor is not None and self.actor.role == "prescriber"
        self.prescriber_button.setVisible(prescriber and self.chart is not None)
        if prescriber and self.chart is not None and self.actor is not None:
            patient_id = self.chart.patient.id
            add_prescriber_actions(
                self.prescriber_button.menu(),
                self,
                self.clinic,
                self.actor,
                self.chart,
                lambda: self.show_patient(patient_id),
            )
        self._update_note_button()

    def record_stop_carried_out(self) -> None:
        """Stop carried out…: the open Stop order (the one picked, when there are several)."""
        chart, actor = self.chart, self.actor
        if chart is None or actor is None or not chart.stop_orders:
            return
        stops = chart.stop_orders
        index = (
            0
            if len(stops) == 1
            else messages.choose(
                self,
                "Stop carried out",
                "Which Stop order was carried out:",
                [f"{s.drug} (by {s.prescriber})" for s in stops],
            )
        )
        if index is None:
            return
        patient_id = chart.patient.id
        stop_carried_out(
            self, self.clinic, actor, stops[index], lambda: self.show_patient(patient_id)
        )

    # ----------------------------------------------------------------- visit notes

    def selected_record(self) -> RecordRef | None:
        """The history's selected refill, prescription or event (a catheter has no note);
        None while the history is not filled (what its view holds is an earlier chart's)."""
        if self._history_to_fill is not None:
            return None
        rows = self.history_view.selectionModel().selectedRows()
        entries = self._history_model.entries()
        if not rows or rows[0].row() >= len(entries):
            return None
        kind, record_id = entries[rows[0].row()].key
        if kind not in ("refill", "prescription", "event"):
            return None
        return RecordRef(kind, record_id)  # type: ignore[arg-type]

    def _update_note_button(self) -> None:
        ref = self.selected_record()
        self.copy_note_button.setEnabled(ref is not None)
        role = "" if self.actor is None else self.actor.role
        correctable = ref is not None and refill_correction.correctable(
            (ref.kind, ref.id), self.chart, role
        )
        self.correct_button.setEnabled(correctable)
        self.correct_action.setEnabled(correctable)

    def correct_selected_refill(self) -> None:
        """Correct this refill…: asks the window to open the correction of the history's
        selected refill (when it may be corrected)."""
        ref = self.selected_record()
        if ref is not None and self.correct_button.isEnabled():
            self.refill_correction_requested.emit(ref.id)

    def copy_selected_note(self) -> visit_note.NoteDialog | None:
        ref = self.selected_record()
        return None if ref is None else visit_note.copy_note(self, self.clinic, ref)

    def offer_note(self, ref: RecordRef | None, saved: str = "") -> None:
        """Offer the note of the record just saved (``ref``), or nothing (None)."""
        self.saved_record = ref
        self.saved_label.setText(saved)
        self.saved_label.setVisible(ref is not None)
        self.saved_note_button.setVisible(ref is not None)

    def copy_saved_note(self) -> visit_note.NoteDialog | None:
        ref = self.saved_record
        return None if ref is None else visit_note.copy_note(self, self.clinic, ref)

    def print_sheet(self, kind: print_preview.PatientSheet) -> bytes | None:
        """Build one of the patient's sheets and show its preview (Print, Save as PDF)."""
        if self.chart is None:
            return None
        from ui.dialogs import print_preview  # on the first print: it brings in reportlab

        return print_preview.print_patient_sheet(self, self.clinic, kind, self.chart.patient.mrn)

    def pump(self) -> PumpRecord | None:
        return None if self.chart is None else self.chart.pump
