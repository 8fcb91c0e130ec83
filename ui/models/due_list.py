"""The clinic's due list as a Qt table: one row per active pump, over ``list[DueRow]``.

UI layer: imports PySide6, :mod:`pumpmgr.records` and :mod:`ui.presentation`. Read-only: the
dashboard replaces the rows with :meth:`DueListModel.set_rows` after asking the service again.
``SortRole`` gives comparable plain values (numbers, ISO dates, folded text), never the shown
text, so dates and days sort as dates and days; ``ObjectRole`` gives the :class:`DueRow`
itself, which passes through the proxy unchanged.
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

    def set_rows(self, rows: Sequence[DueRow], buffer_days: int | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if buffer_days is not None:
            self.buffer_days = buffer_days
        self.endResetModel()

    def rows(self) -> list[DueRow]:
        return list(self._rows)

    def row_at(self, row: int) -> DueRow:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

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
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == SortRole:
            return self._sort_value(row, column)
        if role == ObjectRole:
            return row
        look = STATES[row.state]
        if role == Qt.ItemDataRole.BackgroundRole and look.background:
            return QBrush(QColor(look.background))
        if role == Qt.ItemDataRole.ForegroundRole and look.foreground:
            return QBrush(QColor(look.foreground))
        if role == Qt.ItemDataRole.FontRole and column == Column.STATE and row.state != "fine":
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Column.DAYS_LEFT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{HEADERS[column]}: {self._text(row, column)}"
        return None

    def _text(self, row: DueRow, column: Column) -> str:
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
            return presentation.days_left_text(row.days_left)
        if column == Column.ALARM:
            return presentation.alarm_text(row, self.tz)
        if column == Column.REFILL_DUE:
            return presentation.date_text(row.refill_due)
        if column == Column.REASON:
            return presentation.reason_text(row, self.buffer_days)
        return presentation.replace_by_text(row)

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
    """Filters the due list by state or pump kind and by a search in name or MRN; sorts by
    ``SortRole``."""

    def __init__(self, today: date, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self._today = today
        self._kind = DueFilter.ALL
        self._words: list[str] = []

    @property
    def kind(self) -> DueFilter:
        return self._kind

    def _refilter(self) -> None:
        if hasattr(self, "endFilterChange"):  # Qt 6.10 and later
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def set_today(self, today: date) -> None:
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
        text = searchable(row)
        return all(word in text for word in self._words)

    def row_at(self, proxy_row: int) -> DueRow:
        value = self.index(proxy_row, 0).data(ObjectRole)
        assert isinstance(value, DueRow)
        return value

    def visible_rows(self) -> list[DueRow]:
        return [self.row_at(r) for r in range(self.rowCount())]
