"""The clinic's edits of the drug library (application layer, used by
:class:`pumpmgr.services.clinic.ClinicService`).

The clinic's library is the shipped catalog with the clinic's edits applied in order; the
edits are append-only rows of ``drug_library_edits`` (``changes``: field name to value, in
the canonical unit the field names), each audited by the service that writes it. A value the
clinic sets is the clinic's own from then on: it is no longer "clinic policy" nor
"unconfirmed" (the administrator confirmed or changed it), and its source is the edit.

Stored values: dose limits in mcg/day, ``max_concentration`` in mcg/mL, the restart window in
hours, ``withdrawal_on_cut`` as true or false; ``None`` removes a removable value. Edits made
before the dose-check fields existed hold only the first five fields and apply unchanged, so a
clinic keeps every value it edited, with one exception: a ``hard_max`` of ``None``. The hard
maximum can no longer be removed, only raised (domain-rules §6: a policy limit the clinic can
raise is safer than none), and an old row's ``None``, written when the shipped library had no
hard maximum to fall back to, now means the shipped value, as "clears an override" in the
schema says. No migration rewrites the (append-only) rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pumpmgr.catalogs import Drug, DrugLibrary, Limit, StartRule
from pumpmgr.errors import Code, ImpossibleInput, InputError, PumpMgrError
from pumpmgr.units import (
    HOUR,
    MCG_PER_DAY,
    MCG_PER_ML,
    Q_,
    Kind,
    Quantity,
    as_unit,
    exceeds,
    require_positive,
    to_canonical,
)

#: Daily-dose fields of the drug itself (mcg/day when stored).
DOSE_FIELDS = ("soft_max", "hard_max", "typical_min", "typical_max", "caution_above")
#: The start range's maxima (mcg/day when stored), as ``start_<field of StartRule>``.
START_FIELDS = {
    "start_max": "max_all",
    "start_naive_max": "max_naive",
    "start_tolerant_max": "max_tolerant",
}
#: Every field an administrator may edit, with the kind of value it takes.
EDITABLE: dict[str, Kind | type] = {
    **dict.fromkeys(DOSE_FIELDS, Kind.DOSE_RATE),
    "max_concentration": Kind.CONCENTRATION,
    **dict.fromkeys(START_FIELDS, Kind.DOSE_RATE),
    "restart_window_hours": Kind.DURATION,
    "withdrawal_on_cut": bool,
}
_REQUIRED = ("typical_min", "typical_max", "hard_max", "restart_window_hours")


def stored_changes(changes: Mapping[str, Quantity | bool | None]) -> dict[str, Any]:
    """The changes as an edit row stores them (canonical magnitudes), refusing an unknown
    field, a value of the wrong kind, or removing a value every drug needs."""
    stored: dict[str, Any] = {}
    for field, value in changes.items():
        kind = EDITABLE.get(field)
        name = field.replace("_", " ")
        if kind is None:
            raise InputError(
                f"{field}: not an editable value; one of {', '.join(EDITABLE)}",
                code=Code.OUT_OF_RANGE,
                field=field,
            )
        if value is None:
            if field in _REQUIRED or kind is bool:
                raise InputError(
                    f"{name}: cannot be removed; give a value (a hard maximum "
                    "can be raised, never removed)"
                    if field == "hard_max"
                    else f"{name}: cannot be removed; give a value",
                    code=Code.NO_VALUE,
                    field=name,
                )
            stored[field] = None
        elif kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"{name}: must be yes or no", code=Code.OUT_OF_RANGE, field=name)
            stored[field] = value
        elif isinstance(value, bool):
            raise InputError(
                f"{name}: must be a quantity with its unit", code=Code.WRONG_KIND, field=name
            )
        elif kind is Kind.DURATION:
            stored[field] = float(require_positive(value, Kind.DURATION, name).to(HOUR).m)
        else:
            assert isinstance(kind, Kind)
            stored[field] = to_canonical(require_positive(value, kind, name), kind)
    return stored


def _limit(value: float, field: str, unit: str, edit_id: int) -> Limit:
    kind_unit = MCG_PER_ML if field == "max_concentration" else MCG_PER_DAY
    return Limit(Q_(value, kind_unit).to(as_unit(unit)), (f"clinic edit #{edit_id}",))


def apply_edit(drug: Drug, changes: Mapping[str, Any], edit_id: int) -> Drug:
    """``drug`` with one edit row's changes applied; the edited fields become the clinic's."""
    dose_unit, concentration_unit = f"{drug.display_unit}/day", f"{drug.display_unit}/mL"
    updates: dict[str, Any] = {}
    start = drug.start or StartRule(None, None, None, False, None, ())
    start_changed = False
    for field, value in changes.items():
        if field in START_FIELDS:
            limit = None if value is None else _limit(float(value), field, dose_unit, edit_id)
            maxima: dict[str, Limit | None] = {
                "max_all": start.max_all,
                "max_naive": start.max_naive,
                "max_tolerant": start.max_tolerant,
            }
            maxima[START_FIELDS[field]] = limit
            start = replace(
                start,
                max_all=maxima["max_all"],
                max_naive=maxima["max_naive"],
                max_tolerant=maxima["max_tolerant"],
            )
            start_changed = True
        elif field == "restart_window_hours":
            updates[field] = float(value)
        elif field == "withdrawal_on_cut":
            updates[field] = bool(value)
        elif field == "hard_max" and value is None:
            continue  # an old row's "back to the shipped value" (see the module's docstring)
        else:
            unit = concentration_unit if field == "max_concentration" else dose_unit
            updates[field] = None if value is None else _limit(float(value), field, unit, edit_id)
    if start_changed:
        updates["start"] = None if start.empty else start
    edited = {
        "start" if f in START_FIELDS else f
        for f, v in changes.items()
        if not (f == "hard_max" and v is None)
    }
    return replace(
        drug, **updates, unverified=drug.unverified - edited, policy=drug.policy - edited
    )


def checked_edit(library: DrugLibrary, key: object, changes: object, edit_id: int) -> DrugLibrary:
    """``library`` with a stored edit row applied after the checks an edit typed in passes
    (a known drug, editable fields, values of their kind, finite and positive, limits in
    order): for an edit that comes from outside, an imported document. InputError naming the
    edit and the field otherwise."""
    where = f"drug library edit #{edit_id}"
    if not isinstance(key, str) or key not in library.drugs:
        raise InputError(
            f"{where}: {key!r} is not a drug of the library", code=Code.OUT_OF_RANGE, field="drug"
        )
    if not isinstance(changes, Mapping) or not changes:
        raise InputError(
            f"{where}: its changes are not field names with values",
            code=Code.OUT_OF_RANGE,
            field="changes",
        )
    for field, value in changes.items():
        kind = EDITABLE.get(field)
        if kind is None:
            raise InputError(
                f"{where}: {field!r} is not an editable value",
                code=Code.OUT_OF_RANGE,
                field=str(field),
            )
        if value is None:
            if (field in _REQUIRED and field != "hard_max") or kind is bool:
                raise InputError(
                    f"{where}: {field} cannot be removed", code=Code.NO_VALUE, field=field
                )
        elif kind is bool:
            if not isinstance(value, bool):
                raise InputError(
                    f"{where}: {field} must be true or false", code=Code.OUT_OF_RANGE, field=field
                )
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise InputError(
                f"{where}: {field} must be a positive number, not {value!r}",
                code=Code.OUT_OF_RANGE,
                field=field,
            )
    drug = library.drugs[key]
    try:
        check_limits(drug, changes)
    except PumpMgrError as error:
        raise InputError(f"{where}: {error.message}", code=error.code, field=error.field) from None
    drugs = dict(library.drugs)
    drugs[key] = apply_edit(drug, changes, edit_id)
    return DrugLibrary(drugs)


def apply_edits(
    library: DrugLibrary, edits: Iterable[tuple[int, str, Mapping[str, Any]]]
) -> DrugLibrary:
    """The library with ``(edit id, drug key, changes)`` applied in order."""
    drugs = dict(library.drugs)
    for edit_id, key, changes in edits:
        drugs[key] = apply_edit(drugs[key], changes, edit_id)
    return DrugLibrary(drugs)


def check_limits(drug: Drug, stored: Mapping[str, Any]) -> None:
    """Refuse an edit that leaves the drug's limits in the wrong order (typical minimum above
    the maximum, soft maximum above the hard one)."""

    def value(field: str) -> float | None:
        if field in stored:
            found: float | None = stored[field]
            return found
        limit = getattr(drug, field)
        return None if limit is None else to_canonical(limit.value, Kind.DOSE_RATE)

    low, high = value("typical_min"), value("typical_max")
    if low is not None and high is not None and exceeds(low, high):
        raise ImpossibleInput(
            "typical min: is above the typical maximum", code=Code.OUT_OF_RANGE, field="typical min"
        )
    soft, hard = value("soft_max"), value("hard_max")
    if soft is not None and hard is not None and exceeds(soft, hard):
        raise ImpossibleInput(
            "soft max: is above the hard maximum; the hard maximum blocks, "
            "the soft one warns before it",
            code=Code.OUT_OF_RANGE,
            field="soft max",
        )


#: The library values the first run asks the administrator to confirm, in the order shown.
CONFIRMABLE = ("typical_min", "typical_max", "soft_max", "max_concentration")


def unconfirmed(library: DrugLibrary) -> list[tuple[Drug, str]]:
    """Each drug's values marked unconfirmed (domain-rules §6) that an edit can confirm:
    ``(drug, field)`` in the library's order, then :data:`CONFIRMABLE`'s."""
    return [
        (drug, field)
        for drug in library
        for field in CONFIRMABLE
        if field in drug.unverified and getattr(drug, field) is not None
    ]
