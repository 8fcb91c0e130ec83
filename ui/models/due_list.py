"""The clinic's due list as a Qt table: one row per active pump, over ``list[DueRow]``.

UI layer: imports PySide6, :mod:`pumpmgr.records` and :mod:`ui.presentation`. Read-only: the
dashboard replaces the rows with :meth:`DueListModel.set_rows` after asking the service again.
``SortRole`` gives comparable plain values (numbers, ISO dates, folded text), never the shown
text, so dates and days sort as dates and days; ``ObjectRole`` gives the :class:`DueRow`
itself, which passes through the proxy unchanged.

The rows are sorted by the model itself (:meth:`DueListModel.sort`, which the proxy's ``sort``
hands on): one Python sort over the sort values, in the order
:class:`~PySide6.QtCore.QSortFilterProxyModel` would give, instead of a call into Python for
every comparison (tens of thousands for a large clinic). The proxy only filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta, tzinfo
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from pumpmgr.formatting import days_left_text
from pumpmgr.records import DueRow
from ui import presentation
from ui.presentation import STATES

SortRole = Qt.ItemDataRole.UserRole
ObjectRole = Qt.ItemDataRole.UserRole + 1

#: A pump whose replace-by date falls within this many days is "ERI soon" (about 6 months).
ERI_SOON_DAYS = 183

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    STATE = 0
    PATIENT = 1
    MRN = 2
    PUMP = 3
    DRUG = 4
    DAYS_LEFT = 5
    ALARM = 6
    REFILL_DUE = 7
    REASON = 8
    REPLACE_BY = 9


HEADERS = {
    Column.STATE: "State",
    Column.PATIENT: "Patient",
    Column.MRN: "MRN",
    Column.PUMP: "Pump",
    Column.DRUG: "Drug",
    Column.DAYS_LEFT: "Drug left",
    Column.ALARM: "Alarm date",
    Column.REFILL_DUE: "Refill due",
    Column.REASON: "Due because",
    Column.REPLACE_BY: "Replace by",
}

_TIPS = {
    Column.DAYS_LEFT: "Days of drug left before the low-reservoir alarm, patient boluses counted",
    Column.REFILL_DUE: "The last clinic day the refill should happen",
    Column.REASON: "What sets the refill-due date: the alarm (or, for a constant-flow pump, "
                   "the planning volume) minus the clinic's buffer, or the drug's stability "
                   "limit in the pump",
    Column.REPLACE_BY: "The pump's replace-by date (battery end of service)",
}


_COLUMNS = tuple(Column)
_COLUMN_COUNT = len(_COLUMNS)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_BRUSHES: dict[str, tuple[QBrush | None, QBrush | None]] = {}
_FONTS: list[QFont] = []


def _brushes(state: str) -> tuple[QBrush | None, QBrush | None]:
    """The row tint and text colour of a state (made once)."""
    found = _BRUSHES.get(state)
    if found is None:
        look = STATES[state]  # type: ignore[index]
        found = (QBrush(QColor(look.background)) if look.background else None,
                 QBrush(QColor(look.foreground)) if look.foreground else None)
        _BRUSHES[state] = found
    return found


def _bold() -> QFont:
    if not _FONTS:
        font = QFont()
        font.setBold(True)
        _FONTS.append(font)
    return _FONTS[0]


def _far(day: date | None) -> int:
    """Sort key of an optional date: no date sorts after every date."""
    return day.toordinal() if day is not None else date.max.toordinal()


class DueListModel(QAbstractTableModel):
    """The due list's rows, formatted through :mod:`pumpmgr.formatting`."""

    def __init__(self, tz: tzinfo, buffer_days: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: The clinic's time zone: alarm instants are shown as its calendar dates.
        self.tz = tz
        #: The clinic's buffer before the alarm, named in the "due because" column.
        self.buffer_days = buffer_days
        self._rows: list[DueRow] = []
        # Each row's texts and sort values, made on first use: the view asks for every cell
        # many times (sizing, sorting, painting), and a due list has thousands of rows.
        self._texts: list[tuple[str, ...] | None] = []
        self._sort_values: list[tuple[int | float | str, ...] | None] = []
        self._date_texts: dict[tuple[Any, ...], str] = {}
        #: Each row's place in the list :meth:`set_rows` was given (the order without sorting).
        self._given: list[int] = []
        #: The column and order the rows are sorted by (None: as given).
        self._order: tuple[int, Qt.SortOrder] | None = None

    def set_rows(self, rows: Sequence[DueRow], buffer_days: int | None = None) -> None:
        """Show ``rows``, sorted as the rows before them were."""
        self.beginResetModel()
        self._rows = list(rows)
        self._texts = [None] * len(self._rows)
        self._sort_values = [None] * len(self._rows)
        self._given = list(range(len(self._rows)))
        if buffer_days is not None:
            self.buffer_days = buffer_days
        if self._order is not None:
            self._reorder(self._sorted_positions(*self._order))
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by ``column``'s ``SortRole`` value as QSortFilterProxyModel does: a
        stable sort of the current order (rows with equal values keep their order), strings
        compared by UTF-16 code units as QString compares them; column -1 restores the order
        the rows were given in (reversed when descending)."""
        self._order = (column, order)
        if not self._rows:
            return
        positions = self._sorted_positions(column, order)
        if positions == list(range(len(self._rows))):
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        self._reorder(positions)
        moved_to = [0] * len(positions)
        for new, previous in enumerate(positions):
            moved_to[previous] = new
        self.changePersistentIndexList(
            old, [self.index(moved_to[i.row()], i.column()) if i.isValid() else i for i in old])
        self.layoutChanged.emit()

    def _sorted_positions(self, column: int, order: Qt.SortOrder) -> list[int]:
        """The current rows' positions in sorted order."""
        descending = order == Qt.SortOrder.DescendingOrder
        if not 0 <= column < _COLUMN_COUNT:
            given = self._given
            return sorted(range(len(self._rows)), key=given.__getitem__, reverse=descending)
        cached, wanted = self._sort_values, _COLUMNS[column]
        keys: list[Any] = [self._sort_value(row, wanted) if values is None else values[column]
                           for row, values in zip(self._rows, cached, strict=True)]
        if keys and isinstance(keys[0], str):
            keys = [key.encode("utf-16-be") for key in keys]
        return sorted(range(len(keys)), key=keys.__getitem__, reverse=descending)

    def _reorder(self, positions: list[int]) -> None:
        self._rows = [self._rows[i] for i in positions]
        self._texts = [self._texts[i] for i in positions]
        self._sort_values = [self._sort_values[i] for i in positions]
        self._given = [self._given[i] for i in positions]

    def rows(self) -> list[DueRow]:
        return list(self._rows)

    def row_at(self, row: int) -> DueRow:
        return self._rows[row]

    def texts(self, row: int) -> tuple[str, ...]:
        """The row's shown text in each column (what DisplayRole gives)."""
        return self._row_texts(row)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMN_COUNT

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS.get(column)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # an invalid index has row -1; the view asks several roles of every cell it sizes,
        # sorts or paints, so this is kept to a few calls
        number, position = index.row(), index.column()
        if not (0 <= number < len(self._rows) and 0 <= position < _COLUMN_COUNT):
            return None
        row = self._rows[number]
        column = _COLUMNS[position]
        if role == _DISPLAY:
            return self._row_texts(number)[column]
        if role == SortRole:
            return self._sort_values_of(number)[column]
        if role == ObjectRole:
            return row
        if role in (_BACKGROUND, _FOREGROUND):
            brushes = _brushes(row.state)
            return brushes[0] if role == _BACKGROUND else brushes[1]
        if role == _FONT:
            return _bold() if column == Column.STATE and row.state != "fine" else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(row, column)
        if role == _ALIGNMENT:
            return _RIGHT if column == Column.DAYS_LEFT else None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{HEADERS[column]}: {self._row_texts(number)[column]}"
        return None

    def _sort_values_of(self, number: int) -> tuple[int | float | str, ...]:
        values = self._sort_values[number]
        if values is None:
            row = self._rows[number]
            values = self._sort_values[number] = tuple(self._sort_value(row, c)
                                                       for c in _COLUMNS)
        return values

    def _row_texts(self, number: int) -> tuple[str, ...]:
        texts = self._texts[number]
        if texts is None:
            texts = self._texts[number] = self._make_texts(self._rows[number])
        return texts

    def _make_texts(self, row: DueRow) -> tuple[str, ...]:
        """The row's texts in column order: :meth:`_text` of each column, in one pass (the
        dashboard reads every row's texts to size the rows)."""
        constant_flow = row.pump_type == presentation.CONSTANT_FLOW
        dates = self._date_texts
        key: tuple[Any, ...] = ("alarm", row.alarm_at.astimezone(self.tz).date(), constant_flow)
        alarm = dates.get(key)
        if alarm is None:
            alarm = dates[key] = presentation.alarm_text(row, self.tz)
        key = ("due", row.refill_due)
        due = dates.get(key)
        if due is None:
            due = dates[key] = presentation.date_text(row.refill_due)
        key = ("replace", row.replace_by, constant_flow)
        replace_by = dates.get(key)
        if replace_by is None:
            replace_by = dates[key] = presentation.replace_by_text(row)
        key = ("state", row.state, row.open_discrepancy)
        state = dates.get(key)
        if state is None:
            word = presentation.state_word(row.state)
            state = dates[key] = f"{word} · review" if row.open_discrepancy else word
        return (state, row.patient, row.mrn, row.pump_model, row.drug,
                days_left_text(row.days_left), alarm, due,
                presentation.reason_text(row, self.buffer_days), replace_by)

    def _dated(self, key: tuple[Any, ...], make: Any) -> str:
        """A date's text, written once: thousands of rows share a few hundred dates."""
        text = self._date_texts.get(key)
        if text is None:
            text = self._date_texts[key] = make()
        return str(text)

    def _text(self, row: DueRow, column: Column) -> str:
        """One cell's text (the reference :meth:`_make_texts` gives in one pass)."""
        if column == Column.STATE:
            word = presentation.state_word(row.state)
            return f"{word} · review" if row.open_discrepancy else word
        if column == Column.PATIENT:
            return row.patient
        if column == Column.MRN:
            return row.mrn
        if column == Column.PUMP:
            return row.pump_model
        if column == Column.DRUG:
            return row.drug
        if column == Column.DAYS_LEFT:
            return days_left_text(row.days_left)
        constant_flow = presentation.is_constant_flow(row)
        if column == Column.ALARM:
            return self._dated(("alarm", row.alarm_at.astimezone(self.tz).date(), constant_flow),
                               lambda: presentation.alarm_text(row, self.tz))
        if column == Column.REFILL_DUE:
            return self._dated(("due", row.refill_due),
                               lambda: presentation.date_text(row.refill_due))
        if column == Column.REASON:
            return presentation.reason_text(row, self.buffer_days)
        return self._dated(("replace", row.replace_by, constant_flow),
                           lambda: presentation.replace_by_text(row))

    def _sort_value(self, row: DueRow, column: Column) -> int | float | str:
        if column == Column.STATE:
            return STATES[row.state].severity
        if column == Column.PATIENT:
            return row.patient.casefold()
        if column == Column.MRN:
            return row.mrn
        if column == Column.PUMP:
            return row.pump_model.casefold()
        if column == Column.DRUG:
            return row.drug.casefold()
        if column == Column.DAYS_LEFT:
            return float(row.days_left)
        if column == Column.ALARM:
            return row.alarm_at.timestamp()
        if column == Column.REFILL_DUE:
            return row.refill_due.toordinal()
        if column == Column.REASON:
            return presentation.reason_text(row, self.buffer_days)
        return _far(row.replace_by)

    def _tip(self, row: DueRow, column: Column) -> str | None:
        if column == Column.STATE and row.open_discrepancy:
            return "The last refill's residual discrepancy says investigate: review it"
        if column == Column.DRUG:
            return row.drug + (" (flex schedule: several rates a day)" if row.flex_schedule
                               else "")
        if column == Column.ALARM and presentation.is_constant_flow(row):
            return ("A constant-flow pump has no low-reservoir alarm: this is when it reaches "
                    "the clinic's planning volume")
        return _TIPS.get(column)


class DueFilter(IntEnum):
    ALL = 0
    OVERDUE = 1
    THIS_WEEK = 2
    CONSTANT_FLOW = 3
    ERI_SOON = 4
    REVIEW = 5


FILTER_LABELS = {
    DueFilter.ALL: "All",
    DueFilter.OVERDUE: "Overdue",
    DueFilter.THIS_WEEK: "Due this week",
    DueFilter.CONSTANT_FLOW: "Constant-flow",
    DueFilter.ERI_SOON: "ERI soon",
    DueFilter.REVIEW: "Discrepancy to review",
}


def matches(row: DueRow, kind: DueFilter, today: date) -> bool:
    """Whether ``row`` passes filter ``kind``; the state filters match the state word shown."""
    if kind == DueFilter.OVERDUE:
        return row.state == "overdue"
    if kind == DueFilter.THIS_WEEK:
        return row.state == "due_this_week"
    if kind == DueFilter.CONSTANT_FLOW:
        return presentation.is_constant_flow(row)
    if kind == DueFilter.ERI_SOON:
        return row.replace_by is not None and row.replace_by <= today + timedelta(
            days=ERI_SOON_DAYS)
    if kind == DueFilter.REVIEW:
        return row.open_discrepancy
    return True


def searchable(row: DueRow) -> str:
    return f"{row.patient} {row.mrn}".casefold()


class DueFilterProxyModel(QSortFilterProxyModel):
    """Filters the due list by state or pump kind and by a search in name or MRN; sorting is
    handed to a :class:`DueListModel` source (``SortRole``), so the rows keep its order."""

    def __init__(self, today: date, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self._today = today
        self._kind = DueFilter.ALL
        self._words: list[str] = []
        #: The source row of each row, made on first use after any change of the rows.
        self._sources: list[int] | None = None
        for signal in (self.modelReset, self.layoutChanged, self.rowsInserted,
                       self.rowsRemoved):
            signal.connect(self._forget_sources)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if isinstance(model, DueListModel):
            model.sort(column, order)
        else:
            super().sort(column, order)

    def _forget_sources(self, *_args: object) -> None:
        self._sources = None

    def source_rows(self) -> list[int]:
        """The source row of every row, in order (``mapToSource`` of each, made once)."""
        if self._sources is None:
            model, count = self.sourceModel(), self.rowCount()
            if (isinstance(model, DueListModel) and count == model.rowCount()
                    and self.sortColumn() < 0):
                # nothing filtered out and the proxy does not sort (the model does): the same
                # rows, without thousands of calls into Qt
                self._sources = list(range(count))
            else:
                self._sources = [self.mapToSource(self.index(r, 0)).row() for r in range(count)]
        return self._sources

    @property
    def kind(self) -> DueFilter:
        return self._kind

    def _refilter(self) -> None:
        if hasattr(self, "endFilterChange"):  # Qt 6.10 and later
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def set_today(self, today: date) -> None:
        if today == self._today:
            return  # nothing to filter again
        self._begin()
        self._today = today
        self._refilter()

    def set_kind(self, kind: DueFilter) -> None:
        self._begin()
        self._kind = kind
        self._refilter()

    def set_search(self, text: str) -> None:
        """Every word of ``text`` must appear in the patient's name or MRN (any case)."""
        self._begin()
        self._words = text.casefold().replace(",", " ").split()
        self._refilter()

    def _begin(self) -> None:
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, DueListModel):
            return True
        row = model.row_at(source_row)
        if not matches(row, self._kind, self._today):
            return False
        if not self._words:
            return True  # (asked of every row: no search text made for nothing)
        text = searchable(row)
        return all(word in text for word in self._words)

    def row_at(self, proxy_row: int) -> DueRow:
        value = self.index(proxy_row, 0).data(ObjectRole)
        assert isinstance(value, DueRow)
        return value

    def visible_rows(self) -> list[DueRow]:
        return [self.row_at(r) for r in range(self.rowCount())]
