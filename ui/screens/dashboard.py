"""The clinic's home screen: the due list with its counters, notices, filters and search.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``due_list``, ``settings``, ``today``,
``search_patients``) and the ui models. Double-click or Enter on a row opens the patient; the
due list can be written as an iCalendar file of refill appointments.

Over 600 lines: the due list's view, row delegate and screen (filters, counters, notices, search),
which share its model and column state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPen,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.calendar_file import clinic_calendar
from pumpmgr.files import write_private_bytes
from pumpmgr.records import DueRow
from pumpmgr.services import ClinicService
from pumpmgr.services.audit_trail import CALENDAR_ACTION
from pumpmgr.services.bookings import calendar_of
from ui import icons, messages, notices, presentation
from ui.dialogs import booking
from ui.models.due_list import (
    FILTER_LABELS,
    HEADERS,
    Column,
    DueFilter,
    DueFilterProxyModel,
    DueListModel,
)

_MNEMONICS = {
    DueFilter.ALL: "&All",
    DueFilter.OVERDUE: "O&verdue",
    DueFilter.THIS_WEEK: "Due this &week",
    DueFilter.CONSTANT_FLOW: "&Constant-flow",
    DueFilter.ERI_SOON: "&ERI soon",
    DueFilter.REVIEW: "Discrepancy to re&view",
}


class DueTableView(QTableView):
    """A table whose Enter or Return opens the current row, as a double-click does.

    Rows are one line high, all the same, as Anki's browser lists whole collections: no word
    wrap, long text elided (the whole text is the cell's tooltip), so nothing is measured per
    row and a list of thousands is laid out at once.
    """

    open_requested = Signal(QModelIndex)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The drug column's least width (the dashboard sets it from a typical text).
        self.drug_width = 150
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setItemDelegate(StateRowDelegate(self))
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(1)
        self._fit_row_height()

    def _fit_row_height(self) -> None:
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_row_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.give_spare_width()

    def give_spare_width(self) -> None:
        """The drug column takes the width the other columns leave (a wide screen shows whole
        admixtures), and never less than :attr:`drug_width` (then elided)."""
        header, drug = self.horizontalHeader(), int(Column.DRUG)
        others = header.length() - header.sectionSize(drug)
        header.resizeSection(drug, max(self.drug_width, self.viewport().width() - others))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class StateRowDelegate(QStyledItemDelegate):
    """Paints a selected row in its state's tint with a dark frame, so that selecting an
    overdue row does not hide that it is overdue; rows without a tint are selected as usual."""

    FRAME = QColor("#1f5f7a")

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if not selected or index.data(Qt.ItemDataRole.BackgroundRole) is None:
            super().paint(painter, option, index)
            return
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, plain, index)
        painter.save()
        painter.setPen(QPen(self.FRAME, 2))
        rect = option.rect.adjusted(0, 1, 0, -1)
        painter.drawLine(rect.topLeft(), rect.topRight())
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        if index.column() == 0:
            painter.drawLine(rect.topLeft(), rect.bottomLeft())
        if index.column() == index.model().columnCount() - 1:
            painter.drawLine(rect.topRight(), rect.bottomRight())
        painter.restore()


class DashboardScreen(QWidget):
    """The due list of every active pump, most urgent first."""

    #: The patient to open (their id).
    open_patient = Signal(int)

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.today: date = clinic.today()
        settings = clinic.settings()
        self.model = DueListModel(clinic.tz, settings.buffer_days, self)
        self.proxy = DueFilterProxyModel(self.today, self)
        self.proxy.setSourceModel(self.model)

        self.title = QLabel("Refill due list", self)
        self.title.setProperty("role", "title")
        self.date_label = QLabel(self)
        self.date_label.setProperty("role", "subtitle")
        self.date_label.setWordWrap(True)  # a narrow window: beside the counters, not under

        self.overdue_button = self._counter(DueFilter.OVERDUE)
        self.week_button = self._counter(DueFilter.THIS_WEEK)
        self.review_button = self._counter(DueFilter.REVIEW)

        self.notice_box = QVBoxLayout()
        self.notice_box.setSpacing(4)
        self.notice_labels: list[QLabel] = []

        self.filter_group = QButtonGroup(self)
        self.filter_group.setExclusive(True)
        self.filter_buttons: dict[DueFilter, QPushButton] = {}
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show:", self))
        for kind in DueFilter:
            button = QPushButton(_MNEMONICS[kind], self)
            button.setCheckable(True)
            button.setAutoDefault(False)
            button.setToolTip(f"Show {FILTER_LABELS[kind].lower()} pumps")
            self.filter_group.addButton(button, int(kind))
            self.filter_buttons[kind] = button
            filters.addWidget(button)
        self.filter_buttons[DueFilter.ALL].setChecked(True)
        self.filter_group.idClicked.connect(lambda kind: self.set_filter(DueFilter(kind)))
        filters.addSpacing(12)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search name or MRN (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search name or MRN")
        self.search.setMinimumWidth(220)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self._search_entered)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self.search.clear)
        filters.addWidget(self.search, 1)
        self.count_label = QLabel(self)
        self.count_label.setProperty("role", "muted")
        filters.addWidget(self.count_label)
        # a search that finds rows the filter hides says so (else "0 of 23 shown" for a
        # patient who is on the list)
        self.hidden_label = QLabel(self)
        self.hidden_label.setProperty("role", "notice")
        self.show_all_button = QPushButton("Clear the filter", self)
        self.show_all_button.setAutoDefault(False)
        self.show_all_button.clicked.connect(lambda: self.set_filter(DueFilter.ALL))
        hidden_row = QHBoxLayout()
        hidden_row.addWidget(self.hidden_label, 1)
        hidden_row.addWidget(self.show_all_button)
        self.hidden_label.hide()
        self.show_all_button.hide()

        self.table = DueTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(int(Column.STATE), Qt.SortOrder.AscendingOrder)  # by urgency
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # by whole rows (Qt's default here): the scroll bar's value is the top row shown
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.setAccessibleName("Refill due list")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        # the columns shown are the user's choice (remembered with their widths)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(
            lambda pos: self.columns_menu().exec(header.mapToGlobal(pos))
        )
        self.default_widths()
        self.table.doubleClicked.connect(self._open_index)
        self.table.open_requested.connect(self._open_index)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(
            lambda pos: self._booking_menu().exec(self.table.viewport().mapToGlobal(pos))
        )

        self.booking_button = QToolButton(self)
        self.booking_button.setText("Boo&king")
        self.booking_button.setToolTip(
            "Book, move or cancel the selected pump's refill "
            "visit, or mark it not attended (also on the row's "
            "context menu)"
        )
        self.booking_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.booking_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.booking_button.setMenu(QMenu(self.booking_button))
        self.booking_button.menu().aboutToShow.connect(
            lambda: self._fill_booking_menu(self.booking_button.menu())
        )

        self.export_button = QPushButton(
            icons.icon(icons.CALENDAR), "E&xport calendar (.ics)…", self
        )
        self.export_button.setAutoDefault(False)
        self.export_button.setToolTip(
            "Write the booked visits of the rows shown, and the "
            "pumps not booked, in an iCalendar file with reminders"
        )
        self.export_button.clicked.connect(self.export_calendar)
        self.print_due_button = QPushButton("Print &due list…", self)
        self.print_due_button.setAutoDefault(False)
        self.print_due_button.setToolTip("The due list of a period you choose, with a preview")
        self.print_due_button.clicked.connect(self._print_due_list)
        self.print_day_button = QPushButton("Print the day'&s worksheets…", self)
        self.print_day_button.setAutoDefault(False)
        self.print_day_button.setToolTip(
            "The worksheets of a clinic day's booked visits, "
            "then the patients due and not booked, in one file"
        )
        self.print_day_button.clicked.connect(self._print_day)
        self.legend = QLabel(
            "Rows are coloured by state and always name it in the first "
            "column. “review”: the last refill's residual says investigate.",
            self,
        )
        self.legend.setProperty("role", "muted")
        self.legend.setWordWrap(True)

        top = QHBoxLayout()
        heading = QVBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.date_label)
        top.addLayout(heading, 1)
        for button in (self.overdue_button, self.week_button, self.review_button):
            top.addWidget(button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.legend, 1)
        bottom.addWidget(self.booking_button)
        bottom.addWidget(self.print_due_button)
        bottom.addWidget(self.print_day_button)
        bottom.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addLayout(top)
        layout.addLayout(self.notice_box)
        layout.addLayout(filters)
        layout.addLayout(hidden_row)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

        self.setTabOrder(self.search, self.table)

    def _counter(self, kind: DueFilter) -> QPushButton:
        button = QPushButton(self)
        button.setObjectName("counter")
        button.setAutoDefault(False)
        button.setMinimumHeight(44)
        button.setStyleSheet("QPushButton#counter { font-size: 12pt; padding: 6px 14px; }")
        button.clicked.connect(lambda: self.set_filter(kind))
        return button

    # ----------------------------------------------------------------- data

    def refresh(self, rows: Sequence[DueRow] | None = None) -> None:
        """Ask the service again for the due list (unless its ``rows`` are given: read behind
        the sign-in), the settings and today's date."""
        rows = self.clinic.due_list() if rows is None else list(rows)
        settings = self.clinic.settings()
        self.today = self.clinic.today()
        current = self.current_row()
        # where the nurse had scrolled to stays on screen (another workstation's change
        # reads the list again under her: ui.live)
        scrolled = [
            (bar, bar.value())
            for bar in (self.table.verticalScrollBar(), self.table.horizontalScrollBar())
        ]
        self.model.set_rows(rows, settings.buffer_days)
        self.proxy.set_today(self.today)
        parts = [
            settings.clinic_name.strip(),
            f"today {presentation.date_text(self.today)}",
            f"{len(rows)} active pump{'s' if len(rows) != 1 else ''}",
        ]
        self.date_label.setText(" · ".join(p for p in parts if p))
        self._update_counters(rows)
        self._update_notices(rows)
        self._select(current.pump_id if current else None)
        for bar, value in scrolled:
            bar.setValue(value)
        self._update_count()

    def clear(self) -> None:
        """Forget every row (the window is locked: no patient data stays in the models)."""
        self.model.set_rows([])
        self.search.clear()
        for label in self.notice_labels:
            self.notice_box.removeWidget(label)
            label.hide()
            label.deleteLater()
        self.notice_labels = []
        self.date_label.clear()
        self._update_counters([])

    def _update_counters(self, rows: list[DueRow]) -> None:
        overdue = sum(r.state == "overdue" for r in rows)
        week = sum(r.state == "due_this_week" for r in rows)
        review = sum(r.open_discrepancy for r in rows)
        self.overdue_button.setText(f"{overdue}  overdue")
        self.week_button.setText(f"{week}  due this week")
        self.review_button.setText(f"{review}  discrepanc{'y' if review == 1 else 'ies'} to review")
        for button, count in (
            (self.overdue_button, overdue),
            (self.week_button, week),
            (self.review_button, review),
        ):
            look = {
                self.overdue_button: presentation.STATES["overdue"],
                self.week_button: presentation.STATES["due_this_week"],
                self.review_button: presentation.STATES["due_this_week"],
            }[button]
            colours = (
                f"background: {look.background}; color: {look.foreground}; font-weight: bold;"
                if count
                else ""
            )
            button.setStyleSheet(
                f"QPushButton#counter {{ font-size: 12pt; padding: 6px 14px; {colours} }}"
            )
            button.setToolTip("Show only these rows")
        self.counts = (overdue, week, review)

    def _update_notices(self, rows: list[DueRow]) -> None:
        for label in self.notice_labels:
            self.notice_box.removeWidget(label)
            label.hide()
            label.deleteLater()
        self.notice_labels = []
        for notice in notices.notices(rows, self.clinic.tz, self.today):
            prefix = "Daylight saving: " if notice.kind == "dst" else "Replace-by: "
            label = QLabel(prefix + notice.text, self)
            label.setProperty("role", "notice")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.notice_box.addWidget(label)
            self.notice_labels.append(label)

    def notice_texts(self) -> list[str]:
        return [label.text() for label in self.notice_labels]

    def default_widths(self) -> None:
        """Each column as wide as its header and a typical text (not measured over the rows:
        the list may hold thousands), the drug taking what is left, elided."""
        header, metrics = self.table.horizontalHeader(), self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)
        strong = QFontMetrics(bold)
        day = "Wed 28 Oct 2026"
        typical = {
            Column.STATE: "Overdue · review",
            Column.PATIENT: "HOFFMANN, Yara M",
            Column.MRN: "D0000000",
            Column.DAYS_LEFT: "alarm passed",
            Column.VOLUME_LEFT: "20.00 mL",
            Column.ALARM: day + " …",
            Column.EMPTY_ON: day,
            Column.REFILL_DUE: day,
            # the booking's state words, in bold, read whole (the day may elide)
            Column.BOOKED: "DID NOT ATTEND…",
            # elided, whole on hover: the first words say which limit
            Column.REASON: "alarm date with…",
            Column.PUMP: "Prometra II 40 mL",
            Column.REPLACE_BY: day,
            Column.DRUG: "baclofen 2000 mcg/mL",
        }
        titles = self._title_widths()
        for column, text in typical.items():
            cell = (
                strong if column in (Column.STATE, Column.BOOKED) else metrics
            ).horizontalAdvance(text)
            header.resizeSection(int(column), max(titles[column], cell + 12))
        # the pump model is on the patient's page; hidden here so that at 1366 px every
        # column shown is in sight (the header's context menu shows it again)
        header.setSectionHidden(int(Column.PUMP), True)
        # the drug column takes the width left, down to a few letters (elided, whole on
        # hover): at 1366 px every column is in sight
        self.table.drug_width = metrics.horizontalAdvance("baclofen 2…") + 12
        self.table.give_spare_width()

    def _title_widths(self) -> dict[Column, int]:
        """Each column's least width: its title in the header's bold font, and the sort
        arrow."""
        self.table.ensurePolished()  # the style sheet sets the header's font
        heading = QFont(self.table.horizontalHeader().font())
        heading.setBold(True)
        titles = QFontMetrics(heading)
        return {column: titles.horizontalAdvance(HEADERS[column]) + 24 for column in Column}

    def columns_menu(self) -> QMenu:
        """A check box for each column but the state and the patient, to show or hide it."""
        header = self.table.horizontalHeader()
        menu = QMenu(self)
        menu.aboutToHide.connect(menu.deleteLater)  # after its action ran (deleted later)
        for column in Column:
            if column in (Column.STATE, Column.PATIENT):
                continue
            action = menu.addAction(HEADERS[column])
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(int(column)))
            action.toggled.connect(lambda shown, c=column: self._show_column(c, shown))
        return menu

    def _show_column(self, column: Column, shown: bool) -> None:
        self.table.horizontalHeader().setSectionHidden(int(column), not shown)
        self.table.give_spare_width()

    def header_state(self) -> bytes:
        """The columns' widths and order, to remember for the user."""
        return bytes(self.table.horizontalHeader().saveState().data())

    def restore_header(self, state: bytes) -> bool:
        """The columns as :meth:`header_state` gave them, each still wide enough for its
        title (the font may have grown since); sorted by urgency again."""
        header = self.table.horizontalHeader()
        restored = header.restoreState(QByteArray(state))
        for column, least in self._title_widths().items():
            if header.sectionSize(int(column)) < least:
                header.resizeSection(int(column), least)
        self.table.sortByColumn(int(Column.STATE), Qt.SortOrder.AscendingOrder)
        self.table.give_spare_width()
        return restored

    # ----------------------------------------------------------------- filtering

    def set_filter(self, kind: DueFilter) -> None:
        self.filter_buttons[kind].setChecked(True)
        self.proxy.set_kind(kind)
        self._update_count()

    def _search_changed(self, text: str) -> None:
        self.proxy.set_search(text)
        self._update_count()
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total} shown")
        hidden = self.proxy.hidden_by_filter() if self.proxy.searching else 0
        if hidden:
            kind = FILTER_LABELS[self.proxy.kind].lower()
            self.hidden_label.setText(
                f"The filter “{kind}” hides {'the' if hidden == 1 else hidden} "
                f"{'row' if hidden == 1 else 'rows'} the search finds."
            )
        self.hidden_label.setVisible(bool(hidden))
        self.show_all_button.setVisible(bool(hidden))

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _search_entered(self) -> None:
        """Enter in the search: go to the rows found, else look through every patient."""
        if self.proxy.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)
            if self.proxy.rowCount() == 1:
                self.open_patient.emit(self.proxy.row_at(0).patient_id)
            return
        text = self.search.text().strip()
        if not text:
            return
        try:
            found = self.clinic.search_patients(text, limit=30)
        except Exception as exc:  # shown to the user; nothing is lost
            messages.show_error(self, exc, "searching for the patient")
            return
        if not found:
            messages.info(self, "Search", f"No patient's name or MRN contains '{text}'.")
            return
        if len(found) == 1:
            self.open_patient.emit(found[0].id)
            return
        chosen = messages.choose(
            self,
            "Search",
            "Patients found (choose one to open):",
            [f"{p.display_name}  MRN {p.mrn}  ({p.status})" for p in found],
        )
        if chosen is not None:
            self.open_patient.emit(found[chosen].id)

    # ----------------------------------------------------------------- rows

    def current_row(self) -> DueRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.row_at(index.row())

    def _select(self, pump_id: int | None) -> None:
        if pump_id is not None:
            for row in range(self.proxy.rowCount()):
                if self.proxy.row_at(row).pump_id == pump_id:
                    self.table.selectRow(row)
                    return
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _open_index(self, index: QModelIndex | QPersistentModelIndex) -> None:
        if index.isValid():
            self.open_patient.emit(self.proxy.row_at(index.row()).patient_id)

    def open_current(self) -> None:
        self._open_index(self.table.currentIndex())

    # ----------------------------------------------------------------- bookings

    def booking_actions(self) -> list[tuple[str, Callable[[], object]]]:
        """The selected pump's booking actions (:func:`ui.dialogs.booking.booking_actions`);
        the list is read again after each change."""
        row = self.current_row()
        if row is None:
            return []
        return booking.booking_actions(
            self,
            self.clinic,
            row.pump_id,
            f"{row.patient} ({row.mrn})",
            row.refill_due,
            self.refresh,
        )

    def _fill_booking_menu(self, menu: QMenu) -> None:
        menu.clear()
        try:
            actions = self.booking_actions()
        except Exception as exc:  # shown to the user; nothing is lost
            messages.show_error(self, exc, "reading the pump's booking")
            return
        for text, run in actions:
            menu.addAction(text, run)

    def _booking_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.aboutToHide.connect(menu.deleteLater)  # after its action ran (deleted later)
        self._fill_booking_menu(menu)
        return menu

    # ----------------------------------------------------------------- printing

    # The print preview (and reportlab behind it) is imported on the first print: the due list
    # is shown without them.
    def _print_due_list(self) -> None:
        from ui.dialogs import print_preview

        print_preview.print_due_list(self, self.clinic)

    def _print_day(self) -> None:
        from ui.dialogs import print_preview

        print_preview.print_day(self, self.clinic)

    # ----------------------------------------------------------------- calendar

    def calendar_text(self, rows: list[DueRow] | None = None) -> str:
        """The calendar file of the rows shown: their booked visits, and the pumps not booked
        on an open day (:func:`pumpmgr.calendar_file.clinic_calendar`)."""
        settings = self.clinic.settings()
        return clinic_calendar(
            self.proxy.visible_rows() if rows is None else rows,
            self.clinic.bookings.open_bookings(),
            today=self.today,
            calendar=calendar_of(settings),
            tz=self.clinic.tz,
            buffer_days=settings.buffer_days,
            clinic_name=settings.clinic_name,
            generated_at=self.clinic.clock.now(),
        )

    def export_calendar(self) -> Path | None:
        rows = self.proxy.visible_rows()
        if not rows:
            messages.info(self, "Export calendar", "No rows are shown: nothing to export.")
            return None
        if not messages.confirm(
            self,
            "Export calendar",
            f"Write {len(rows)} refill appointment{'s' if len(rows) != 1 else ''} (the "
            "rows shown) to an iCalendar file?\n\nThe file holds patient names and record "
            "numbers: keep it on the clinic's own systems.",
            yes="Choose file…",
        ):
            return None
        suggested = Path.home() / f"pumpmgr-refills-{self.today:%Y-%m-%d}.ics"
        path = messages.save_path(self, "Export calendar", suggested, "iCalendar files (*.ics)")
        if path is None:
            return None
        if path.suffix.lower() != ".ics":
            path = path.with_suffix(".ics")
        try:
            write_private_bytes(path, self.calendar_text(rows).encode("utf-8"))
        except OSError as exc:
            messages.error(
                self,
                "Export calendar",
                f"Could not write {path}: {exc.strerror or exc}. Choose another "
                "folder (one you may write to) and try again.",
            )
            return None
        actor = getattr(self.window(), "actor", None)
        if actor is not None:  # who exported which patients, when (issue 13)
            try:
                self.clinic.records.record_access(
                    actor,
                    CALENDAR_ACTION,
                    None,
                    {"file": path.name, "patients": sorted({r.mrn for r in rows})},
                )
            except Exception as exc:  # every failure reaches the user as a dialog
                messages.show_error(self, exc, "recording the calendar export")
        messages.info(
            self,
            "Export calendar",
            f"{len(rows)} appointment{'s' if len(rows) != 1 else ''} written to {path}.",
        )
        return path
