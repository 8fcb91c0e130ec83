"""The clinic's home screen: the due list with its counters, notices, filters and search.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``due_list``, ``settings``, ``today``,
``search_patients``) and the ui models. Double-click or Enter on a row opens the patient; the
due list can be written as an iCalendar file of refill appointments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetricsF, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.files import write_private_bytes
from pumpmgr.records import DueRow
from pumpmgr.services import ClinicService
from ui import icons, messages, notices, presentation
from ui.ics import due_list_calendar
from ui.models.due_list import (
    FILTER_LABELS,
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

    It sizes a column to its contents as :meth:`QTableView.sizeHintForColumn` does (over the
    same rows: the visible ones and then others around them, up to the header's
    ``resizeContentsPrecision``), without asking the model for every cell: the texts are
    measured with the font metrics (each distinct text once), and only the cells whose text is
    within a pixel of the widest are measured by Qt's delegate, one of each width.
    """

    open_requested = Signal(QModelIndex)

    #: Below this many rows Qt measures every cell itself.
    FEW_ROWS = 64

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The width of each (bold, text) met, in the view's font.
        self._widths: dict[tuple[bool, str], float] = {}
        self._metrics: tuple[QFontMetricsF, QFontMetricsF] | None = None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._widths.clear()
            self._metrics = None
        super().changeEvent(event)

    def text_width(self, text: str, bold: bool) -> float:
        """The advance of ``text`` (its widest line) in the view's font, bold or regular."""
        width = self._widths.get((bold, text))
        if width is None:
            if self._metrics is None:
                self.ensurePolished()  # the style sheet may set the font
                strong = QFont(self.font())
                strong.setBold(True)
                self._metrics = (QFontMetricsF(self.font()), QFontMetricsF(strong))
            if len(self._widths) > 100_000:
                self._widths.clear()
            advance = self._metrics[bold].horizontalAdvance
            width = self._widths[(bold, text)] = (
                advance(text) if "\n" not in text
                else max(advance(line) for line in text.split("\n")))
        return width

    def cell_height(self, row: int, column: int) -> int | None:
        """The height the delegate asks for one cell when :meth:`QTableView.sizeHintForRow`
        measures it (qtableview.cpp, ``heightHintForIndex``): wrapped at the column's width,
        which recent Qt versions take one pixel narrower for the grid line. None when the two
        widths give different heights (the text is at the edge): Qt must measure the row."""
        index = self.model().index(row, column)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        delegate = self.itemDelegateForIndex(index)
        if not self.wordWrap():
            return int(delegate.sizeHint(option, index).height())
        heights = set()
        for grid in {0, 1 if self.showGrid() else 0}:
            option.rect = QRect(self.columnViewportPosition(column),
                                self.rowViewportPosition(row), self.columnWidth(column) - grid,
                                max(1, self.rowHeight(row)))
            heights.add(int(delegate.sizeHint(option, index).height()))
        return heights.pop() if len(heights) == 1 else None

    def text_widths(self) -> dict[tuple[bool, str], float]:
        """The widths :meth:`text_width` has measured, by (bold, text): read it for speed."""
        return self._widths

    def _sized_rows(self, count: int) -> range | None:
        """The rows :meth:`QTableView.sizeHintForColumn` measures (qtableview.cpp): the visible
        ones, then one above and one below in turn, until the header's precision is reached;
        None when rows are hidden or moved (Qt then measures them itself)."""
        vertical = self.verticalHeader()
        if vertical.sectionsHidden() or vertical.sectionsMoved():
            return None
        most = self.horizontalHeader().resizeContentsPrecision()
        top = max(0, vertical.visualIndexAt(0))
        bottom = vertical.visualIndexAt(self.viewport().height())
        if not self.isVisible() or bottom == -1:
            bottom = count - 1
        processed, row = 0, top
        while row <= bottom:
            processed += 1
            if processed == most:
                return range(top, row + 1)
            row += 1
        first, last, end = top, row - 1, count - 1
        if most == 0:
            processed = 0
        while processed != most and (first > 0 or last < end):
            if (processed % 2 and first > 0) or last == end:
                first -= 1
            else:
                last += 1
            processed += 1
        return range(first, last + 1)

    def sizeHintForColumn(self, column: int) -> int:
        proxy = self.model()
        model = proxy.sourceModel() if isinstance(proxy, DueFilterProxyModel) else None
        count = proxy.rowCount() if proxy is not None else 0
        rows = self._sized_rows(count) if isinstance(model, DueListModel) else None
        if rows is None or len(rows) < self.FEW_ROWS:
            return super().sizeHintForColumn(column)
        assert isinstance(proxy, DueFilterProxyModel) and isinstance(model, DueListModel)
        self.ensurePolished()
        sources = proxy.source_rows()
        state = column == int(Column.STATE)
        width_of, texts, row_at = self.text_width, model.texts, model.row_at
        rows_of: dict[float, int] = {}  # a row of each width met
        for row in rows:
            source = sources[row]
            width = width_of(texts(source)[column], state and row_at(source).state != "fine")
            rows_of.setdefault(width, row)
        # the delegate makes a cell as wide as its laid-out text (rounded up) and its margins:
        # the widest cell is one of the texts within a pixel of the widest advance (texts of
        # the same advance make cells of the same width)
        widest = max(rows_of, default=0.0)
        hint = max((self.sizeHintForIndex(proxy.index(row, column)).width()
                    for width, row in rows_of.items() if width >= widest - 1), default=0)
        return hint + 1 if self.showGrid() else hint


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
        #: Rows are left to fit after the table's next paint (see :meth:`_fit_seen_rows`).
        self.rows_pending = False

        self.title = QLabel("Refill due list", self)
        self.title.setProperty("role", "title")
        self.date_label = QLabel(self)
        self.date_label.setProperty("role", "subtitle")

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
        filters.addWidget(self.search, 1)
        self.count_label = QLabel(self)
        self.count_label.setProperty("role", "muted")
        filters.addWidget(self.count_label)

        self.table = DueTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(int(Column.REFILL_DUE), Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # by whole rows (Qt's default here): the scroll bar's value is the top row shown
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(False)
        self.table.setWordWrap(True)  # an admixture's drug text takes a second line
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.setAccessibleName("Refill due list")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.setSectionResizeMode(int(Column.DRUG), QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._open_index)
        self.table.open_requested.connect(self._open_index)

        self.export_button = QPushButton(icons.icon(icons.CALENDAR),
                                         "E&xport calendar (.ics)…", self)
        self.export_button.setAutoDefault(False)
        self.export_button.setToolTip("Write the rows shown as refill appointments in an "
                                      "iCalendar file")
        self.export_button.clicked.connect(self.export_calendar)
        self.print_due_button = QPushButton("Print &due list…", self)
        self.print_due_button.setAutoDefault(False)
        self.print_due_button.setToolTip("The due list of a period you choose, with a preview")
        self.print_due_button.clicked.connect(self._print_due_list)
        self.print_day_button = QPushButton("Print the day'&s worksheets…", self)
        self.print_day_button.setAutoDefault(False)
        self.print_day_button.setToolTip("One refill worksheet for every patient due on a "
                                         "clinic day, in one file")
        self.print_day_button.clicked.connect(self._print_day)
        self.legend = QLabel("Rows are coloured by state and always name it in the first "
                             "column. “review”: the last refill's residual says investigate.",
                             self)
        self.legend.setProperty("role", "muted")
        self.legend.setWordWrap(True)

        top = QHBoxLayout()
        heading = QVBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.date_label)
        top.addLayout(heading)
        top.addStretch(1)
        for button in (self.overdue_button, self.week_button, self.review_button):
            top.addWidget(button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.legend, 1)
        bottom.addWidget(self.print_due_button)
        bottom.addWidget(self.print_day_button)
        bottom.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addLayout(top)
        layout.addLayout(self.notice_box)
        layout.addLayout(filters)
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

    def refresh(self) -> None:
        """Ask the service again for the due list, the settings and today's date."""
        rows = self.clinic.due_list()
        settings = self.clinic.settings()
        self.today = self.clinic.today()
        current = self.current_row()
        self.model.set_rows(rows, settings.buffer_days)
        self.proxy.set_today(self.today)
        parts = [settings.clinic_name.strip(), f"today {presentation.date_text(self.today)}",
                 f"{len(rows)} active pump{'s' if len(rows) != 1 else ''}"]
        self.date_label.setText(" · ".join(p for p in parts if p))
        self._update_counters(rows)
        self._update_notices(rows)
        self.table.resizeColumnsToContents()
        self._fit_columns()
        self._select(current.pump_id if current else None)
        self._fit_seen_rows()
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
        self.review_button.setText(f"{review}  discrepanc{'y' if review == 1 else 'ies'} "
                                   "to review")
        for button, count in ((self.overdue_button, overdue), (self.week_button, week),
                              (self.review_button, review)):
            look = {self.overdue_button: presentation.STATES["overdue"],
                    self.week_button: presentation.STATES["due_this_week"],
                    self.review_button: presentation.STATES["due_this_week"]}[button]
            colours = (f"background: {look.background}; color: {look.foreground}; "
                       "font-weight: bold;" if count else "")
            button.setStyleSheet("QPushButton#counter { font-size: 12pt; padding: 6px 14px; "
                                 f"{colours} }}")
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

    def _fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        limits = {Column.PATIENT: 200, Column.PUMP: 180, Column.ALARM: 200, Column.REASON: 170}
        for column, limit in limits.items():
            if header.sectionSize(int(column)) > limit:
                header.resizeSection(int(column), limit)
        for column in Column:
            if column != Column.DRUG:
                header.resizeSection(int(column), header.sectionSize(int(column)) + 10)

    def _fit_seen_rows(self) -> None:
        """Fit the rows that can be seen before the table is painted, and the others right
        after that paint: the first paint of thousands of rows need not wait for all their
        texts and heights. Seen are the rows from the top one shown and around the current
        row (the view scrolls to it), as many as a screen's height holds (a row is at least
        a line of text tall)."""
        table = self.table
        count = self.proxy.rowCount()
        table.ensurePolished()  # the style sheet may set the font
        height = max(table.screen().availableGeometry().height(), table.viewport().height())
        screenful = math.ceil(height / max(1, table.fontMetrics().height()))
        top, current = table.verticalScrollBar().value(), table.currentIndex().row()
        seen = set(range(top, min(count, top + screenful)))
        if current >= 0:
            seen.update(range(max(0, current - screenful), min(count, current + screenful)))
        self._fit_rows(sorted(seen))
        self._keep_top_row()
        if current >= 0 and table.isVisible():  # (hidden, it scrolls to it when shown)
            table.scrollTo(table.currentIndex())  # the rows it passed may have grown
        self.rows_pending = len(seen) < count
        if self.rows_pending:
            table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and watched is self.table.viewport():
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self.fit_pending_rows)  # once the paint is done
        return super().eventFilter(watched, event)

    def fit_pending_rows(self) -> None:
        """Fit every row, if :meth:`_fit_seen_rows` left some to fit."""
        if self.rows_pending:
            self.rows_pending = False
            self._fit_rows()
            self._keep_top_row()

    def _keep_top_row(self) -> None:
        """The top row shown stays at the top when rows above it change height: the header's
        offset (in pixels) would be stale until the view's next layout, and a paint before
        it would show other rows."""
        self.table.verticalHeader().setOffsetToSectionPosition(
            self.table.verticalScrollBar().value())

    def _fit_rows(self, rows: Iterable[int] | None = None) -> None:
        """Each row (of ``rows``, or all) as tall as :meth:`QTableView.resizeRowToContents`
        makes it, without asking the model for every cell of thousands of rows: a row whose
        every text fits its column on one line gets the one-line height (measured once per
        font), and in a row with a text near or over its column's width only those cells are
        measured, as Qt measures them."""
        count = self.proxy.rowCount()
        if not count:
            return
        table, header = self.table, self.table.verticalHeader()
        # a cell's text has the column's width less the grid line and the delegate's margins
        # (focus frame and one pixel, each side); a text within a pixel of that (the metrics
        # round) is measured
        margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None,
                                           table) + 1
        limits = [table.columnWidth(int(column)) - 2 * margin - 2 for column in Column]
        state = int(Column.STATE)
        grid = 1 if table.showGrid() else 0
        width_of, known = table.text_width, table.text_widths()
        one_line: dict[bool, int] = {}
        model, sources = self.model, self.proxy.source_rows()
        for row in range(count) if rows is None else rows:
            source = sources[row]
            emphasis = model.row_at(source).state != "fine"  # a bold state word
            wide = []
            for column, text in enumerate(model.texts(source)):
                bold = emphasis and column == state
                width = known.get((bold, text))
                if width is None:
                    width = width_of(text, bold)
                if width > limits[column] or "\n" in text:
                    wide.append(column)
            height = one_line.get(emphasis)
            if height is None:
                if wide:
                    table.resizeRowToContents(row)
                    continue
                height = one_line[emphasis] = max(table.sizeHintForRow(row),
                                                  header.sectionSizeHint(row))
            if wide:
                # every other cell is one line high: only the wide ones can make it taller
                cells = [table.cell_height(row, c) for c in wide]
                if None in cells:
                    table.resizeRowToContents(row)
                    continue
                height = max(height, grid + max(h for h in cells if h is not None))
            header.resizeSection(row, height)

    # ----------------------------------------------------------------- filtering

    def set_filter(self, kind: DueFilter) -> None:
        self.filter_buttons[kind].setChecked(True)
        self.proxy.set_kind(kind)
        self._fit_seen_rows()  # the rows shown now are other rows, each at the default height
        self._update_count()

    def _search_changed(self, text: str) -> None:
        self.proxy.set_search(text)
        self._update_count()
        if self.proxy.rowCount():
            self.table.selectRow(0)
        self._fit_seen_rows()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total} shown")

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
            self, "Search", "Patients found (choose one to open):",
            [f"{p.display_name}  MRN {p.mrn}  ({p.status})" for p in found])
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
            for row, source in enumerate(self.proxy.source_rows()):
                if self.model.row_at(source).pump_id == pump_id:
                    self.table.selectRow(row)
                    return
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _open_index(self, index: QModelIndex | QPersistentModelIndex) -> None:
        if index.isValid():
            self.open_patient.emit(self.proxy.row_at(index.row()).patient_id)

    def open_current(self) -> None:
        self._open_index(self.table.currentIndex())

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
        settings = self.clinic.settings()
        return due_list_calendar(
            self.proxy.visible_rows() if rows is None else rows, today=self.today,
            tz=self.clinic.tz, buffer_days=settings.buffer_days,
            clinic_name=settings.clinic_name, generated_at=self.clinic.clock.now())

    def export_calendar(self) -> Path | None:
        rows = self.proxy.visible_rows()
        if not rows:
            messages.info(self, "Export calendar", "No rows are shown: nothing to export.")
            return None
        if not messages.confirm(
                self, "Export calendar",
                f"Write {len(rows)} refill appointment{'s' if len(rows) != 1 else ''} (the "
                "rows shown) to an iCalendar file?\n\nThe file holds patient names and record "
                "numbers: keep it on the clinic's own systems.", yes="Choose file…"):
            return None
        suggested = Path.home() / f"pumpmgr-refills-{self.today:%Y-%m-%d}.ics"
        path = messages.save_path(self, "Export calendar", suggested,
                                  "iCalendar files (*.ics)")
        if path is None:
            return None
        if path.suffix.lower() != ".ics":
            path = path.with_suffix(".ics")
        try:
            write_private_bytes(path, self.calendar_text(rows).encode("utf-8"))
        except OSError as exc:
            messages.error(self, "Export calendar",
                           f"Could not write {path}: {exc.strerror or exc}. Choose another "
                           "folder (one you may write to) and try again.")
            return None
        messages.info(self, "Export calendar",
                      f"{len(rows)} appointment{'s' if len(rows) != 1 else ''} written to "
                      f"{path}.")
        return path
