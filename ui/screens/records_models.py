"""The records screens' Qt table models: one page of the audit log, the accounts, the drug
library. Read-only, over frozen records; screens replace the rows with ``set_rows``.

UI layer: imports PySide6, :mod:`pumpmgr.services` (the record types), :mod:`pumpmgr.catalogs`,
:mod:`pumpmgr.formatting` and :mod:`ui.presentation`. The audit payload is the canonical JSON
that was hashed; its summary names each change and writes a magnitude stored in a canonical
unit (a key ending ``_ml``, a drug-library limit in mcg/day) with its unit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import tzinfo
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from pumpmgr.catalogs import Drug, Limit
from pumpmgr.formatting import MassUnit, format_duration, format_quantity
from pumpmgr.services.clinic import AuditRecord, UserRecord
from pumpmgr.units import DAY, Q_, Kind, from_canonical
from ui import presentation

ObjectRole = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex

#: Key endings of stored magnitudes and their kind (stored in its canonical unit: mcg/mL...).
_UNIT_SUFFIXES: tuple[tuple[str, Kind], ...] = (
    ("_mcg_per_ml", Kind.CONCENTRATION),
    ("_mcg_per_day", Kind.DOSE_RATE),
    ("_ml_per_day", Kind.FLOW),
    ("_ml_per_cm", Kind.VOLUME_PER_LENGTH),
    ("_ml", Kind.VOLUME),
    ("_cm", Kind.LENGTH),
)
#: Drug-library limits are stored in mcg/day, the maximum concentration in mcg/mL.
_LIBRARY_FIELDS: dict[str, Kind] = {
    "soft_max": Kind.DOSE_RATE,
    "hard_max": Kind.DOSE_RATE,
    "typical_min": Kind.DOSE_RATE,
    "typical_max": Kind.DOSE_RATE,
    "max_concentration": Kind.CONCENTRATION,
}
SUMMARY_LENGTH = 180
_DAY_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _unit_of(key: str, action: str) -> tuple[str, Kind] | None:
    """The label and kind of a payload key holding a (canonical) magnitude."""
    if action.startswith("drug_library") and key in _LIBRARY_FIELDS:
        return key.replace("_", " "), _LIBRARY_FIELDS[key]
    for suffix, kind in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)].replace("_", " "), kind
    return None


def _label(key: str, action: str) -> str:
    found = _unit_of(key, action)
    if found is not None:
        return found[0]
    for suffix in ("_id", "_days", "_minutes"):
        if key.endswith(suffix):
            return key[: -len(suffix)].replace("_", " ")
    return key.replace("_", " ")


def value_text(key: str, value: Any, action: str) -> str:
    """One payload value as a nurse reads it."""
    if value is None:
        return "none"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) == {"before", "after"}:
            return (
                f"{value_text(key, value['before'], action)} → "
                f"{value_text(key, value['after'], action)}"
            )
        return (
            ", ".join(f"{_label(k, action)} {value_text(k, v, action)}" for k, v in value.items())
            or "none"
        )
    if isinstance(value, list):
        if key == "open_days" and all(isinstance(v, int) and 0 <= v < 7 for v in value):
            return " ".join(_DAY_WORDS[v] for v in value) or "none"
        return ", ".join(value_text(key, v, action) for v in value) or "none"
    if isinstance(value, int | float):
        found = _unit_of(key, action)
        if found is not None:
            return format_quantity(from_canonical(float(value), found[1]), found[1])
        if key.endswith("_id") or key in {"corrects", "old_pump_id", "new_pump_id"}:
            return f"#{value}"
        if key.endswith("_days"):
            return format_duration(Q_(float(value), DAY))
        if key.endswith("_minutes"):
            return f"{value} min"
    return str(value)


def payload_summary(action: str, payload: str, limit: int = SUMMARY_LENGTH) -> str:
    """What changed, in one line: ``aspirated: 1.2 mL; verdict: investigate``."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload[:limit]
    if not isinstance(data, dict):
        return str(data)[:limit]
    before, after = data.get("before"), data.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        # the fields that changed, then what else the entry carries (a set-up's account)
        rest = {k: v for k, v in data.items() if k not in ("before", "after")}
        data = {
            k: {"before": before.get(k), "after": after.get(k)}
            for k in after
            if before.get(k) != after.get(k)
        }
        if not data and not rest:
            return "no change"
        data.update(rest)
    parts = [
        f"{_label(key, action)}: {value_text(key, value, action)}" for key, value in data.items()
    ]
    text = "; ".join(parts) or "—"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payload_pretty(payload: str) -> str:
    """The payload as indented JSON (or as stored, when it is not JSON)."""
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return payload


class _ReadOnlyTable(QAbstractTableModel):
    """Shared plumbing: rows, columns from an IntEnum, headers."""

    headers: Sequence[str] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None

    def _valid(self, index: _Index) -> bool:
        return (
            index.isValid()
            and 0 <= index.row() < len(self._rows)
            and 0 <= index.column() < len(self.headers)
        )


# ------------------------------------------------------------------ audit log


class AuditColumn(IntEnum):
    SEQ = 0
    TIME = 1
    USER = 2
    ACTION = 3
    PATIENT = 4
    ENTITY = 5
    CHANGES = 6


class AuditLogModel(_ReadOnlyTable):
    """One page of the audit log, newest first; the entry a check found broken is marked."""

    headers = ("Entry", "Time", "User", "Action", "Patient", "Record", "What changed")

    def __init__(self, tz: tzinfo, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tz = tz
        #: The sequence number of the first bad entry, when a check found one.
        self.flagged: int | None = None

    def set_rows(self, rows: Sequence[AuditRecord], flagged: int | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.flagged = flagged
        self.endResetModel()

    def rows(self) -> list[AuditRecord]:
        return list(self._rows)

    def row_of(self, seq: int) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.seq == seq), None)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        entry: AuditRecord = self._rows[index.row()]
        column = AuditColumn(index.column())
        broken = entry.seq == self.flagged
        if role == Qt.ItemDataRole.DisplayRole:
            if column is AuditColumn.SEQ:
                return f"#{entry.seq}" + ("  BROKEN" if broken else "")
            if column is AuditColumn.TIME:
                return presentation.datetime_text(entry.recorded_at, self.tz)
            if column is AuditColumn.USER:
                return entry.username
            if column is AuditColumn.ACTION:
                return entry.action
            if column is AuditColumn.PATIENT:
                return "" if entry.patient is None else entry.patient.name_and_mrn
            if column is AuditColumn.ENTITY:
                return entry.entity_type + (
                    "" if entry.entity_id is None else f" #{entry.entity_id}"
                )
            return payload_summary(entry.action, entry.payload)
        if role == Qt.ItemDataRole.ToolTipRole:
            if broken:
                return "The chain check found this entry broken (see the message above)"
            if column is AuditColumn.CHANGES:
                return payload_pretty(entry.payload)
            return None
        if role == Qt.ItemDataRole.BackgroundRole and broken:
            return QBrush(QColor("#f6d5d1"))
        if role == Qt.ItemDataRole.ForegroundRole and broken:
            return QBrush(QColor("#6e1a10"))
        if role == ObjectRole:
            return entry
        return None


# ------------------------------------------------------------------ users


ROLE_WORDS = {"nurse": "Nurse", "prescriber": "Prescriber", "administrator": "Administrator"}


class UsersModel(_ReadOnlyTable):
    headers = ("User name", "Name", "Role", "Account", "Since")

    def __init__(self, tz: tzinfo, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tz = tz

    def set_rows(self, rows: Sequence[UserRecord]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[UserRecord]:
        return list(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        user: UserRecord = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                user.username,
                user.full_name,
                ROLE_WORDS.get(user.role, user.role),
                "active" if user.active else "deactivated",
                presentation.date_text(user.created_at, self.tz),
            )[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and not user.active:
            return QBrush(QColor("#6b777c"))
        if role == ObjectRole:
            return user
        return None


# ------------------------------------------------------------------ drug library


def limit_text(limit: Limit | None, kind: Kind, unit: MassUnit) -> str:
    """``1000 mcg/day [S56]``, ``… (unverified)``, or ``none``."""
    if limit is None:
        return "none"
    cited = limit.cite()
    if limit.sources and limit.sources[0].startswith("clinic edit"):
        cited = f"({limit.sources[0]})"
    return f"{format_quantity(limit.value, kind, unit)} {cited}".strip()


class LibraryColumn(IntEnum):
    DRUG = 0
    TYPICAL = 1
    SOFT = 2
    HARD = 3
    MAX_CONCENTRATION = 4


class DrugLibraryModel(_ReadOnlyTable):
    headers = (
        "Drug",
        "Typical daily dose",
        "Soft max (warns)",
        "Hard max (blocks)",
        "Max concentration",
    )

    def set_rows(self, drugs: Sequence[Drug]) -> None:
        self.beginResetModel()
        self._rows = list(drugs)
        self.endResetModel()

    def rows(self) -> list[Drug]:
        return list(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        drug: Drug = self._rows[index.row()]
        unit = drug.display_unit
        column = LibraryColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is LibraryColumn.DRUG:
                return drug.name
            if column is LibraryColumn.TYPICAL:
                return (
                    f"{format_quantity(drug.typical_min.value, Kind.DOSE_RATE, unit)} to "
                    f"{format_quantity(drug.typical_max.value, Kind.DOSE_RATE, unit)}"
                )
            if column is LibraryColumn.SOFT:
                return limit_text(drug.soft_max, Kind.DOSE_RATE, unit)
            if column is LibraryColumn.HARD:
                return limit_text(drug.hard_max, Kind.DOSE_RATE, unit)
            return limit_text(drug.max_concentration, Kind.CONCENTRATION, unit)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is LibraryColumn.DRUG:
                return None if drug.approved_for_it else "Not approved for intrathecal use"
            return self.data(index, Qt.ItemDataRole.DisplayRole)  # the whole text, if cut
        if role == ObjectRole:
            return drug
        return None
