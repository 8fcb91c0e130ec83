"""The clinic's edits of the pump catalog's device limits and labelling (domain-rules §6).

Pure layer: :mod:`pumpmgr.catalogs` and :mod:`pumpmgr.units`. The dose checks use each model's
lowest and highest programmable flow and the drugs (and concentrations) it is labelled for; the
shipped catalog holds what the manufacturers publish, and a clinic may set a value the catalog
lacks or add its own approvals. Edits are append-only rows (``pump_catalog_edits``), applied in
order over the shipped models; each is audited by the service that writes it.

Stored values: ``min_flow`` and ``max_flow`` in mL/day (``None`` takes the catalog's value
back), ``labelled_drugs`` as ``{drug key: [concentrations in mcg/mL]}`` (an empty list: any
concentration; the whole mapping replaces the model's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pumpmgr.catalogs import DrugLibrary, PumpModel
from pumpmgr.errors import Code, InputError
from pumpmgr.units import Q_, Kind, Quantity, exceeds, require_positive, to_canonical

#: Every field an administrator may edit.
EDITABLE = ("min_flow", "max_flow", "labelled_drugs")

#: What a change may hold: a flow, None (back to the catalog's), or the labelling.
Change = Quantity | Mapping[str, Sequence[Quantity]] | None


def stored_changes(changes: Mapping[str, Change], library: DrugLibrary) -> dict[str, Any]:
    """The changes as an edit row stores them, refusing an unknown field, a flow that is not
    a positive volume rate, or labelling that names a drug the library lacks or a value that
    is not a concentration; the field is named in every message."""
    stored: dict[str, Any] = {}
    for field, value in changes.items():
        name = field.replace("_", " ")
        if field not in EDITABLE:
            raise InputError(f"{field}: not an editable pump value; one of "
                             f"{', '.join(EDITABLE)}", code=Code.OUT_OF_RANGE, field=field)
        if field == "labelled_drugs":
            if not isinstance(value, Mapping):
                raise InputError(f"{name}: give each drug with its labelled concentrations",
                                 code=Code.WRONG_KIND, field=name)
            stored[field] = {
                library.drug(drug).key: [to_canonical(require_positive(
                    c, Kind.CONCENTRATION, f"{name} ({drug})"), Kind.CONCENTRATION)
                    for c in concentrations]
                for drug, concentrations in value.items()}
        elif value is None:
            stored[field] = None
        elif isinstance(value, Mapping):
            raise InputError(f"{name}: must be a volume rate, for example 0.048 mL/day",
                             code=Code.WRONG_KIND, field=name)
        else:
            stored[field] = to_canonical(require_positive(value, Kind.FLOW, name), Kind.FLOW)
    return stored


def check_flows(model: PumpModel, stored: Mapping[str, Any]) -> None:
    """Refuse an edit that leaves the lowest flow above the highest."""
    low = stored.get("min_flow", _ml(model.min_flow))
    high = stored.get("max_flow", _ml(model.max_flow))
    if low is not None and high is not None and exceeds(low, high):
        raise InputError(f"min flow: {low:g} mL/day is above the highest flow, {high:g} mL/day",
                         code=Code.OUT_OF_RANGE, field="min flow")


def _ml(flow: Quantity | None) -> float | None:
    return None if flow is None else to_canonical(flow, Kind.FLOW)


def apply_edits(models: Mapping[str, PumpModel], shipped: Mapping[str, PumpModel],
                edits: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, PumpModel]:
    """``models`` with each edit (model key, stored changes) applied in order; a ``None``
    flow takes the ``shipped`` model's value back."""
    result = dict(models)
    for key, changes in edits:
        model = result.get(key)
        if model is None:
            continue  # a model no longer shipped: nothing to apply it to
        updates: dict[str, Any] = {}
        for field, value in changes.items():
            if field == "labelled_drugs":
                updates[field] = MappingProxyType({
                    drug: tuple(Q_(c, "mcg/mL") for c in values)
                    for drug, values in value.items()})
            elif field in ("min_flow", "max_flow"):
                updates[field] = (getattr(shipped[key], field) if value is None
                                  else Q_(value, "mL/day"))
        result[key] = dataclasses.replace(model, **updates)
    return result
