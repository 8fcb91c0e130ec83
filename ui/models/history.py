"""A patient's history as one timeline (refills, prescription changes, pump and catheter
events, MRI), newest first, each correction placed right under the entry it corrects.

UI layer: imports PySide6, :mod:`pumpmgr.records`, :mod:`pumpmgr.wording` (the solution),
:mod:`pumpmgr.formatting` (catheter lengths) and :mod:`ui.presentation`. The timeline is built
by :func:`timeline` (pure, tested without a window) and shown by :class:`HistoryModel`.
Nothing is hidden: a corrected entry stays, marked "corrected", with its correction beneath it
saying what changed, because a history that hides a correction cannot be audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from pumpmgr.formatting import format_quantity
from pumpmgr.orders import STATE_TEXT, OrderState
from pumpmgr.records import (
    CatheterRecord,
    EventRecord,
    Ingredient,
    PatientChart,
    PrescriptionRecord,
    RefillRecord,
)
from pumpmgr.units import Kind, Quantity
from pumpmgr.wording import (
    DrugNames,
    continues_text,
    drug_name,
    refill_changes,
    solution_text,
)
from ui import presentation

SortRole = Qt.ItemDataRole.UserRole
ObjectRole = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex

EVENT_WORDS = {
    "implant": "Pump implanted",
    "replacement": "Pump replaced",
    "explant": "Pump explanted",
    "catheter_revision": "Catheter revised",
    "mri": "MRI",
    "alarm": "Pump alarm",
    "eri": "ERI reached",
    "note": "Note",
}


@dataclass(frozen=True)
class TimelineEntry:
    key: tuple[str, int]  #: ("refill" | "prescription" | "event" | "catheter", record id)
    when: datetime
    what: str
    details: str
    by: str
    corrects: tuple[str, int] | None = None
    corrected: bool = False  #: a later entry corrects this one
    attention: str = ""  #: a word that needs a look ("investigate"), '' when none

    @property
    def status(self) -> str:
        if self.corrects is not None:
            return "correction of the entry above"
        if self.corrected:
            return "corrected (see below)"
        return self.attention


#: Texts already written, by what they were written from: a history of twenty years repeats
#: the same solutions and fill volumes hundreds of times (each one a pint conversion).
_WRITTEN: dict[tuple[Any, ...], str] = {}


def _remembered(key: tuple[Any, ...], write: Callable[[], str]) -> str:
    text = _WRITTEN.get(key)
    if text is None:
        if len(_WRITTEN) > 20_000:
            _WRITTEN.clear()
        text = _WRITTEN[key] = write()
    return text


def _volume(quantity: Quantity) -> str:
    """:func:`ui.presentation.volume_text`, remembered."""
    return _remembered(
        ("volume", quantity.magnitude, quantity.units), lambda: presentation.volume_text(quantity)
    )


def _solution(ingredients: tuple[Ingredient, ...], names: DrugNames) -> str:
    """:func:`pumpmgr.wording.solution_text`, remembered (by the names it shows)."""
    key = (
        "solution",
        *(
            (
                drug_name(i.drug, names),
                i.concentration.magnitude,
                i.concentration.units,
                i.display_unit,
            )
            for i in ingredients
        ),
    )
    return _remembered(key, lambda: solution_text(ingredients, names))


def _because(reason: str) -> str:
    """A correction's reason as every kind of entry ends with it; '' when none is given."""
    return f". Corrected because: {reason}" if reason else ""


def _refill_details(refill: RefillRecord, names: DrugNames) -> str:
    solution = (
        _solution(refill.ingredients, names) if refill.ingredients else "solution not recorded"
    )
    if refill.expected_residual is None:
        text = f"First fill: {_volume(refill.final_volume)} of {solution}"
    else:
        text = (
            f"Aspirated {_volume(refill.aspirated)} against "
            f"{_volume(refill.expected_residual)} expected"
        )
        if refill.discrepancy_difference is not None:
            text += (
                f" (difference "
                f"{presentation.signed_volume_text(refill.discrepancy_difference)}: "
                f"{refill.discrepancy_verdict})"
            )
        text += (
            f"; added {_volume(refill.volume_added)} of {solution}, "
            f"now {_volume(refill.final_volume)}"
        )
    text += (
        f"; lot {refill.lot_number}, expiry {presentation.date_text(refill.expiry)}, "
        f"from {refill.source}"
    )
    if refill.bridge_bolus is not None:
        text += f"; bolus from the reservoir {presentation.volume_text(refill.bridge_bolus)}"
    if refill.discrepancy_note:
        text += f". Note: {refill.discrepancy_note}"
    return text + _because(refill.correction_reason)


def _refill_changes(old: RefillRecord, new: RefillRecord) -> str:
    """What a correction changed, field by field, as shown."""
    changed = refill_changes(old, new)
    return "Changed: " + ("; ".join(changed) if changed else "nothing visible") + ". "


def _prescription_entry(rx: PrescriptionRecord, names: DrugNames) -> TimelineEntry:
    details = presentation.prescription_summary(rx, names)
    units = {i.drug: i.display_unit for i in rx.ingredients}
    for key, dose in rx.continued:
        details += f". {continues_text(drug_name(key, names), dose, units[key])}"
    findings = presentation.findings_text(rx)
    if findings:
        details += f". Dose checks: {findings}"
    details += _because(rx.correction_reason)
    attention = "warning accepted" if any(f.level == "warning" for f in rx.findings) else ""
    corrects = None if rx.corrects_id is None else ("prescription", rx.corrects_id)
    return TimelineEntry(
        ("prescription", rx.id),
        rx.effective_at,
        "Prescription",
        details,
        f"prescribed by {rx.prescriber_text}"
        + (
            ""
            if rx.order_state in (None, OrderState.SIGNED)
            else f" ({STATE_TEXT[OrderState(rx.order_state)]})"
        ),
        corrects=corrects,
        attention=attention,
    )


def _event_entry(event: EventRecord) -> TimelineEntry:
    details = event.summary
    if event.details:
        details += " (" + "; ".join(f"{k}: {v}" for k, v in event.details.items()) + ")"
    details += _because(event.correction_reason)
    attention = "check not done" if "NOT" in event.details.values() else ""
    return TimelineEntry(
        ("event", event.id),
        event.occurred_at,
        EVENT_WORDS.get(event.kind, event.kind),
        details,
        event.user,
        corrects=None if event.corrects_id is None else ("event", event.corrects_id),
        attention=attention,
    )


def _segments_text(catheter: CatheterRecord) -> str:
    return " + ".join(
        format_quantity(s.length, Kind.LENGTH)
        + (f" (trimmed {format_quantity(s.trimmed, Kind.LENGTH)})" if float(s.trimmed.m) else "")
        for s in catheter.segments
    )


def _catheter_details(catheter: CatheterRecord) -> str:
    text = (
        f"{catheter.model_key}, tip {catheter.tip_level}, implanted length "
        f"{_segments_text(catheter)}, volume {presentation.volume_text(catheter.volume)}; "
        f"implanted {presentation.date_text(catheter.implanted_on)}"
    )
    if catheter.revised_on is not None:
        text += f", revised {presentation.date_text(catheter.revised_on)}"
    return text + _because(catheter.correction_reason)


def _catheter_changes(old: CatheterRecord, new: CatheterRecord) -> str:
    """What a catheter correction changed, field by field, as shown."""

    def shown(catheter: CatheterRecord) -> list[tuple[str, str]]:
        return [
            ("model", catheter.model_key),
            ("tip", catheter.tip_level),
            ("implanted length", _segments_text(catheter)),
            ("volume", presentation.volume_text(catheter.volume)),
            ("implanted", presentation.date_text(catheter.implanted_on)),
            ("revised", presentation.date_text(catheter.revised_on)),
        ]

    changed = [
        f"{name} {before} → {after}"
        for (name, before), (_, after) in zip(shown(old), shown(new), strict=True)
        if before != after
    ]
    return "Changed: " + ("; ".join(changed) if changed else "nothing visible") + ". "


def _catheter_entries(chart: PatientChart) -> list[TimelineEntry]:
    """The catheter versions that take part in a correction (the corrected one and its
    corrections); an uncorrected catheter is already told by its implant or revision event.
    Each is placed at the time of that event (the services write it at the clinic's midnight
    of the catheter's date), else at noon UTC of the date."""
    involved = {c.corrects_id for c in chart.catheters if c.corrects_id is not None}
    involved |= {c.id for c in chart.catheters if c.corrects_id is not None}
    by_id = {c.id: c for c in chart.catheters}
    entries = []
    for catheter in chart.catheters:
        if catheter.id not in involved:
            continue
        day = catheter.revised_on or catheter.implanted_on
        noon = datetime.combine(day, time(12), UTC)
        kinds = ("catheter_revision",) if catheter.revised_on else ("implant", "replacement")
        near = [
            e.occurred_at
            for e in chart.events
            if e.pump_id == catheter.pump_id
            and e.kind in kinds
            and abs(e.occurred_at - noon) <= timedelta(hours=14)
        ]
        details = _catheter_details(catheter)
        old = by_id.get(catheter.corrects_id or -1)
        if old is not None:
            details = _catheter_changes(old, catheter) + details
        entries.append(
            TimelineEntry(
                ("catheter", catheter.id),
                min(near, key=lambda t: abs(t - noon), default=noon),
                "Catheter record",
                details,
                catheter.user,
                corrects=None
                if catheter.corrects_id is None
                else ("catheter", catheter.corrects_id),
            )
        )
    return entries


def timeline(chart: PatientChart, names: DrugNames) -> list[TimelineEntry]:
    """Every record of the chart, newest first; corrections right under what they correct
    (drugs by their names in ``names``)."""
    refills = {r.id: r for r in chart.refills}
    entries: list[TimelineEntry] = []
    for refill in chart.refills:
        details = _refill_details(refill, names)
        corrects = None
        if refill.corrects_id is not None:
            corrects = ("refill", refill.corrects_id)
            old = refills.get(refill.corrects_id)
            if old is not None:
                details = _refill_changes(old, refill) + details
        by = refill.nurse + (f", checked by {refill.verifier}" if refill.verifier else "")
        attention = "investigate" if refill.discrepancy_verdict == "investigate" else ""
        entries.append(
            TimelineEntry(
                ("refill", refill.id),
                refill.performed_at,
                "Refill" if refill.expected_residual is not None else "First fill",
                details,
                by,
                corrects=corrects,
                attention=attention,
            )
        )
    entries += [_prescription_entry(rx, names) for rx in chart.prescriptions]
    entries += [_event_entry(e) for e in chart.events]
    entries += _catheter_entries(chart)
    targets = {e.corrects for e in entries if e.corrects is not None}
    entries = [
        TimelineEntry(
            e.key, e.when, e.what, e.details, e.by, e.corrects, e.key in targets, e.attention
        )
        for e in entries
    ]
    ordered = sorted(
        (e for e in entries if e.corrects is None), key=lambda e: (e.when, e.key), reverse=True
    )
    corrections = sorted((e for e in entries if e.corrects is not None), key=lambda e: e.key)
    placed = {e.key for e in ordered}
    pending = list(corrections)
    while pending:
        progress = False
        for entry in list(pending):
            if entry.corrects in placed:
                at = next(i for i, e in enumerate(ordered) if e.key == entry.corrects)
                # under the corrected entry and any correction already placed beneath it
                while at + 1 < len(ordered) and ordered[at + 1].corrects == entry.corrects:
                    at += 1
                ordered.insert(at + 1, entry)
                placed.add(entry.key)
                pending.remove(entry)
                progress = True
        if not progress:  # a correction of something not in the chart: keep it, at its time
            ordered += pending
            break
    return ordered


class Column(IntEnum):
    WHEN = 0
    WHAT = 1
    DETAILS = 2
    BY = 3
    STATUS = 4


HEADERS = {
    Column.WHEN: "When",
    Column.WHAT: "What",
    Column.DETAILS: "Details",
    Column.BY: "By",
    Column.STATUS: "Status",
}

_CORRECTED = QColor("#6b7b82")
_CORRECTION_TINT = QColor("#e8f1f6")
_ATTENTION_TINT = QColor("#fbe3bf")
_COLUMNS = tuple(Column)
_COLUMN_COUNT = len(_COLUMNS)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_BRUSHES: dict[str, QBrush] = {}
_FONTS: dict[bool, QFont] = {}


def _brush(colour: QColor) -> QBrush:
    found = _BRUSHES.get(colour.name())
    if found is None:
        found = _BRUSHES[colour.name()] = QBrush(colour)
    return found


def _corrected_font(struck: bool) -> QFont:
    """Italic, and struck out in the details column: a corrected entry."""
    found = _FONTS.get(struck)
    if found is None:
        found = QFont()
        found.setStrikeOut(struck)
        found.setItalic(True)
        _FONTS[struck] = found
    return found


class HistoryModel(QAbstractTableModel):
    """The timeline as a table; shown in the order :func:`timeline` gives."""

    def __init__(self, tz: tzinfo, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tz = tz
        self._entries: list[TimelineEntry] = []
        #: Each entry's texts, made on first use (the view sizes every cell of a long
        #: history, asking several roles of each).
        self._texts: list[tuple[str, ...] | None] = []

    def set_entries(self, entries: Sequence[TimelineEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self._texts = [None] * len(self._entries)
        self.endResetModel()

    def entries(self) -> list[TimelineEntry]:
        return list(self._entries)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMN_COUNT

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(Column)
        ):
            return HEADERS[Column(section)]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # an invalid index has row -1; kept to a few calls, as the view asks every cell
        number, position = index.row(), index.column()
        if not (0 <= number < len(self._entries) and 0 <= position < _COLUMN_COUNT):
            return None
        entry = self._entries[number]
        column = _COLUMNS[position]
        if role in (_DISPLAY, _TOOLTIP):
            if role == _TOOLTIP and column != Column.DETAILS:
                return None
            return self._texts_of(number)[column]
        if role == SortRole:
            return (
                entry.when.timestamp() if column == Column.WHEN else self._texts_of(number)[column]
            )
        if role == ObjectRole:
            return entry
        if role == _FOREGROUND and entry.corrected:
            return _brush(_CORRECTED)
        if role == _BACKGROUND:
            if entry.corrects is not None:
                return _brush(_CORRECTION_TINT)
            if entry.attention and not entry.corrected and column == Column.STATUS:
                return _brush(_ATTENTION_TINT)
        if role == _FONT and entry.corrected:
            return _corrected_font(column == Column.DETAILS)
        return None

    def _texts_of(self, number: int) -> tuple[str, ...]:
        texts = self._texts[number]
        if texts is None:
            entry = self._entries[number]
            texts = self._texts[number] = tuple(self._text(entry, c) for c in _COLUMNS)
        return texts

    def _text(self, entry: TimelineEntry, column: Column) -> str:
        if column == Column.WHEN:
            return presentation.datetime_text(entry.when, self.tz)
        if column == Column.WHAT:
            return ("↳ " if entry.corrects is not None else "") + entry.what
        if column == Column.DETAILS:
            return entry.details
        if column == Column.BY:
            return entry.by
        return entry.status
