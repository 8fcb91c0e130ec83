"""The clinic's due list as a Qt table: one row per active pump, over ``list[DueRow]``.

UI layer: imports PySide6, :mod:`pumpmgr.records`, :mod:`pumpmgr.urgency` and
:mod:`ui.presentation`. Read-only: the dashboard replaces the rows with
:meth:`DueListModel.set_rows` after asking the service again. ``SortRole`` gives comparable
plain values (numbers, folded text), never the shown text, so dates and days sort as dates and
days, and the state column sorts by urgency (:func:`pumpmgr.urgency.urgency_key`, ranked once
per set of rows: the model keeps its rows in that order); ``ObjectRole`` gives the
:class:`DueRow` itself, which passes through the proxy unchanged. Sorting and filtering are the
proxy's (:class:`DueFilterProxyModel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
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

from pumpmgr.booking import booked_text
from pumpmgr.formatting import days_left_text, format_quantity
from pumpmgr.records import DueRow
from pumpmgr.units import ML, Q_, Kind
from pumpmgr.urgency import reason_text, replace_soon, state_text, urgency_key
from ui import presentation
from ui.presentation import STATES

SortRole = Qt.ItemDataRole.UserRole
ObjectRole = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    """In the order a nurse decides in: who, how urgent, by when; then what and which pump."""

    STATE = 0
    PATIENT = 1
    MRN = 2
    DAYS_LEFT = 3
    VOLUME_LEFT = 4
    ALARM = 5
    EMPTY_ON = 6
    REFILL_DUE = 7
    BOOKED = 8
    REASON = 9
    DRUG = 10
    PUMP = 11
    REPLACE_BY = 12


HEADERS = {
    Column.STATE: "State",
    Column.PATIENT: "Patient",
    Column.MRN: "MRN",
    Column.DAYS_LEFT: "Time left",
    Column.VOLUME_LEFT: "Left",
    Column.ALARM: "Alarm date",
    Column.EMPTY_ON: "Empty on",
    Column.REFILL_DUE: "Refill due",
    Column.BOOKED: "Booked",
    Column.REASON: "Due because",
    Column.DRUG: "Drug",
    Column.PUMP: "Pump",
    Column.REPLACE_BY: "Replace by",
}

#: The columns that decide who is called first: always in sight (the dashboard sees to it).
DECIDING = (
    Column.STATE,
    Column.PATIENT,
    Column.MRN,
    Column.DAYS_LEFT,
    Column.VOLUME_LEFT,
    Column.ALARM,
    Column.EMPTY_ON,
    Column.REFILL_DUE,
)

_TIPS = {
    Column.STATE: "Sorted by urgency: computed empty, alarm passed, then the soonest alarm or "
    "empty date (baclofen first on the same day)",
    Column.DAYS_LEFT: "Time left before the low-reservoir alarm, patient boluses counted",
    Column.VOLUME_LEFT: "Drug in the reservoir now by the pump's program (mL)",
    Column.EMPTY_ON: "When the reservoir is empty by the pump's program",
    Column.REFILL_DUE: "The last clinic day the refill should happen",
    Column.BOOKED: "The day of the pump's refill visit. Not booked: due within the clinic's "
    "horizon with no visit booked; booked too late: after the refill-due date; "
    "did not attend: call the patient",
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
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_BRUSHES: dict[str, tuple[QBrush | None, QBrush | None]] = {}
_FONTS: list[QFont] = []


def _brushes(state: str) -> tuple[QBrush | None, QBrush | None]:
    """The row tint and text colour of a state (made once)."""
    found = _BRUSHES.get(state)
    if found is None:
        look = STATES[state]  # type: ignore[index]
        found = (
            QBrush(QColor(look.background)) if look.background else None,
            QBrush(QColor(look.foreground)) if look.foreground else None,
        )
        _BRUSHES[state] = found
    return found


def _bold() -> QFont:
    if not _FONTS:
        font = QFont()
        font.setBold(True)
        _FONTS.append(font)
    return _FONTS[0]


def _far(day: date | datetime | None) -> float:
    """Sort key of an optional date or instant: none sorts after every one."""
    if day is None:
        return float("inf")
    return day.timestamp() if isinstance(day, datetime) else float(day.toordinal())


class DueListModel(QAbstractTableModel):
    """The due list's rows, formatted through :mod:`pumpmgr.formatting`."""

    def __init__(self, tz: tzinfo, buffer_days: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: The clinic's time zone: alarm instants are shown as its calendar dates.
        self.tz = tz
        #: The clinic's buffer before the alarm, named in the "due because" column.
        self.buffer_days = buffer_days
        self._rows: list[DueRow] = []
        # Each row's texts and sort values, made on first use: the view asks for a cell
        # several times (painting, sorting), and a due list has thousands of rows.
        self._texts: list[tuple[str, ...] | None] = []
        self._sort_values: list[tuple[float | str, ...] | None] = []

    def set_rows(self, rows: Sequence[DueRow], buffer_days: int | None = None) -> None:
        """Show ``rows`` most urgent first (:func:`pumpmgr.urgency.urgency_key`: the states
        the rows were read with)."""
        self.beginResetModel()
        tz = self.tz
        self._rows = sorted(rows, key=lambda row: urgency_key(row, tz))
        self._texts = [None] * len(self._rows)
        self._sort_values = [None] * len(self._rows)
        if buffer_days is not None:
            self.buffer_days = buffer_days
        self.endResetModel()

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

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
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
        # an invalid index has row -1; the proxy asks the sort value of two rows for every
        # comparison, so this is kept to a few calls
        number, position = index.row(), index.column()
        if not (0 <= number < len(self._rows) and 0 <= position < _COLUMN_COUNT):
            return None
        if role == SortRole:
            values = self._sort_values[number]
            if values is None:
                values = self._sort_values[number] = self._make_sort_values(number)
            return values[position]
        row = self._rows[number]
        if role == _DISPLAY:
            return self._row_texts(number)[position]
        if role == ObjectRole:
            return row
        if role in (_BACKGROUND, _FOREGROUND):
            brushes = _brushes("overdue" if row.refill_state is not None else row.state)
            return brushes[0] if role == _BACKGROUND else brushes[1]
        column = _COLUMNS[position]
        if role == _FONT:
            return (
                _bold()
                if (
                    column == Column.STATE and (row.state != "fine" or row.refill_state is not None)
                )
                or (column == Column.BOOKED and row.booking)
                else None
            )
        if role == _TOOLTIP:
            return self._tip(number, column)
        if role == _ALIGNMENT:
            return _RIGHT if column in (Column.DAYS_LEFT, Column.VOLUME_LEFT) else None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{HEADERS[column]}: {self._row_texts(number)[position]}"
        return None

    def _row_texts(self, number: int) -> tuple[str, ...]:
        texts = self._texts[number]
        if texts is None:
            texts = self._texts[number] = self._make_texts(self._rows[number])
        return texts

    def _make_texts(self, row: DueRow) -> tuple[str, ...]:
        """The row's texts in column order."""
        word = state_text(row).capitalize()
        left = (
            "not known"
            if row.volume_left_ml is None
            else format_quantity(Q_(row.volume_left_ml, ML), Kind.VOLUME)
        )
        # an open incident stays in sight here until a prescriber reviews it (domain-rules §4a),
        # a Stop order until a nurse records it carried out (§6)
        marks = [
            mark
            for mark, shown in (
                ("stop order", row.open_stop_order),
                ("incident", row.open_incident),
                ("review", row.open_discrepancy),
            )
            if shown
        ]
        texts = {
            Column.STATE: " · ".join([word, *marks]),
            Column.PATIENT: row.patient,
            Column.MRN: row.mrn,
            Column.DAYS_LEFT: days_left_text(row.days_left),
            Column.VOLUME_LEFT: left,
            Column.ALARM: presentation.alarm_text(row, self.tz),
            Column.EMPTY_ON: presentation.date_text(row.empty_at, self.tz, "not known"),
            Column.REFILL_DUE: presentation.date_text(row.refill_due),
            Column.BOOKED: booked_text(row),
            Column.REASON: reason_text(row, self.buffer_days),
            Column.DRUG: row.drug,
            Column.PUMP: row.pump_model,
            Column.REPLACE_BY: presentation.replace_by_text(row),
        }
        return tuple(texts[column] for column in _COLUMNS)

    def _make_sort_values(self, number: int) -> tuple[float | str, ...]:
        row = self._rows[number]
        values: dict[Column, float | str] = {
            Column.STATE: number,  # the rows are kept in urgency order
            Column.PATIENT: row.patient.casefold(),
            Column.MRN: row.mrn,
            Column.DAYS_LEFT: float(row.days_left),
            Column.VOLUME_LEFT: _far(None) if row.volume_left_ml is None else row.volume_left_ml,
            Column.ALARM: row.alarm_at.timestamp(),
            Column.EMPTY_ON: _far(row.empty_at),
            Column.REFILL_DUE: float(row.refill_due.toordinal()),
            Column.BOOKED: _far(row.booked_on),
            Column.REASON: reason_text(row, self.buffer_days),
            Column.DRUG: row.drug.casefold(),
            Column.PUMP: row.pump_model.casefold(),
            Column.REPLACE_BY: _far(row.replace_by),
        }
        return tuple(values[column] for column in _COLUMNS)

    def _tip(self, number: int, column: Column) -> str | None:
        """The cell's whole text (a narrow column elides it) and what the column means."""
        row = self._rows[number]
        text = self._row_texts(number)[column]
        if column == Column.STATE and (
            row.open_stop_order or row.open_incident or row.open_discrepancy
        ):
            why = [
                words
                for words, shown in (
                    ("a Stop order awaits being carried out", row.open_stop_order),
                    ("an incident awaits a prescriber's review", row.open_incident),
                    (
                        "the last refill's residual discrepancy says investigate",
                        row.open_discrepancy,
                    ),
                )
                if shown
            ]
            return f"{text}: {'; '.join(why)}"
        if column == Column.DRUG and row.flex_schedule:
            return f"{text} (flex schedule: several rates a day)"
        if column == Column.ALARM and presentation.is_constant_flow(row):
            return (
                f"{text}: a constant-flow pump has no low-reservoir alarm; this is when "
                "it reaches the clinic's planning volume"
            )
        tip = _TIPS.get(column)
        return f"{text}\n{tip}" if tip and column != Column.STATE else text


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
        return replace_soon(row.replace_by, today)
    if kind == DueFilter.REVIEW:
        return row.open_discrepancy
    return True


def searchable(row: DueRow) -> str:
    return f"{row.patient} {row.mrn}".casefold()


class DueFilterProxyModel(QSortFilterProxyModel):
    """Filters the due list by state or pump kind and by a search in name or MRN, and sorts
    it by the source's ``SortRole`` (the state column: by urgency)."""

    def __init__(self, today: date, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self._today = today
        self._kind = DueFilter.ALL
        self._words: list[str] = []

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """By ``column``'s sort value; the state column ascending (urgency, the default) is
        the source's own order, which needs no sorting: the proxy's sort asks Python for two
        values at each of some 60,000 comparisons for 5,000 rows (seconds)."""
        if column == int(Column.STATE) and order == Qt.SortOrder.AscendingOrder:
            column = -1
        super().sort(column, order)

    @property
    def kind(self) -> DueFilter:
        return self._kind

    @property
    def searching(self) -> bool:
        return bool(self._words)

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

    def found(self, row: DueRow) -> bool:
        """Whether the search (whatever the filter) finds ``row``."""
        text = searchable(row)
        return all(word in text for word in self._words)

    def hidden_by_filter(self) -> int:
        """How many rows the search finds that the filter hides."""
        model = self.sourceModel()
        if not isinstance(model, DueListModel) or self._kind == DueFilter.ALL:
            return 0
        return sum(
            1
            for row in model.rows()
            if self.found(row) and not matches(row, self._kind, self._today)
        )

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, DueListModel):
            return True
        row = model.row_at(source_row)
        if not matches(row, self._kind, self._today):
            return False
        return not self._words or self.found(row)  # (no search text made for nothing)

    def row_at(self, proxy_row: int) -> DueRow:
        value = self.index(proxy_row, 0).data(ObjectRole)
        assert isinstance(value, DueRow)
        return value

    def visible_rows(self) -> list[DueRow]:
        return [self.row_at(r) for r in range(self.rowCount())]
