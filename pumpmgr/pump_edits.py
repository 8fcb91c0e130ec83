"""The clinic's edits of the pump catalog's device limits and labelling (domain-rules §6).

Pure layer: :mod:`pumpmgr.catalogs` and :mod:`pumpmgr.units`. The dose checks use each model's
lowest and highest programmable flow and the drugs (and concentrations) it is labelled for; the
shipped catalog holds what the manufacturers publish, and a clinic may set a value the catalog
lacks or add its own approvals. Edits are append-only rows (``pump_catalog_edits``), applied in
order over the shipped models; each is audited by the service that writes it.

Stored values: ``min_flow`` and ``max_flow`` in mL/day (``None`` takes the catalog's value
back), ``labelled_drugs`` as ``{drug key: [concentrations in mcg/mL]}`` (an empty list: any
concentration; the whole mapping replaces the model's).

The labelling is typed one drug a line, the drug and then its labelled concentrations
("morphine 10 mg/mL, 25 mg/mL"), or the drug alone for any concentration
(:func:`read_labelling`, :func:`labelling_text` writes it back).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pumpmgr.catalogs import DrugLibrary, PumpModel
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.units import (
    MCG_PER_ML,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    exceeds,
    parse,
    require_positive,
    to_canonical,
)

#: Every field an administrator may edit.
EDITABLE = ("min_flow", "max_flow", "labelled_drugs")

#: What a change may hold: a flow, None (back to the catalog's), or the labelling.
Change = Quantity | Mapping[str, Sequence[Quantity]] | None

#: The form's name of the labelling, in every message about it.
LABELLING = "labelled for"
#: What a line may say after the drug for any concentration (as the form's example shows).
ANY_CONCENTRATION = "(any concentration)"
#: A labelling line: the drug's name, then (from the first number or bracket) its values.
_LINE = re.compile(r"^(?P<drug>.*?)\s*(?P<values>(?:\d|\.\d|\().*)?$")


def read_labelling(text: str, library: DrugLibrary) -> dict[str, list[Quantity]]:
    """The labelling typed one drug a line (module docstring), by drug key; blank lines are
    skipped. A line without a drug, a drug the library lacks or given twice, or a value that
    is not a concentration is refused, its line named."""
    labelled: dict[str, list[Quantity]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{LABELLING}, line {number}"
        match = _LINE.match(line.strip())
        assert match is not None  # every text matches: the values part is optional
        name, values = match["drug"], match["values"] or ""
        if not name:
            raise InputError(
                f"{where}: '{line.strip()}' names no drug; start the line with "
                "it, for example 'morphine 10 mg/mL'",
                code=Code.NO_VALUE,
                field=LABELLING,
            )
        try:
            key = library.drug(name).key
        except PumpMgrError as error:
            raise InputError(
                f"{where}: {error.message}", code=error.code, field=LABELLING
            ) from error
        if key in labelled:
            raise InputError(
                f"{where}: {key} is on an earlier line already; give each drug "
                "once, its concentrations separated by commas",
                code=Code.OUT_OF_RANGE,
                field=LABELLING,
            )
        labelled[key] = (
            []
            if values.strip().casefold() == ANY_CONCENTRATION
            else [_concentration(part.strip(), where) for part in values.split(",") if part.strip()]
        )
    return labelled


def _concentration(text: str, where: str) -> Quantity:
    try:
        return parse(text, Kind.CONCENTRATION, where)
    except PumpMgrError as error:
        raise InputError(error.message, code=error.code, field=LABELLING) from error


def labelling_text(model: PumpModel, library: DrugLibrary) -> str:
    """The model's labelling as :func:`read_labelling` reads it, concentrations in each
    drug's display unit; "" when the catalog holds none."""
    return "\n".join(
        (
            f"{drug} "
            + ", ".join(
                format_quantity(c, Kind.CONCENTRATION, library.drug(drug).display_unit)
                for c in values
            )
        ).strip()
        for drug, values in model.labelled_drugs.items()
    )


def stored_changes(changes: Mapping[str, Change], library: DrugLibrary) -> dict[str, Any]:
    """The changes as an edit row stores them, refusing an unknown field, a flow that is not
    a positive volume rate, or labelling that names a drug the library lacks or a value that
    is not a concentration; the field is named in every message."""
    stored: dict[str, Any] = {}
    for field, value in changes.items():
        name = field.replace("_", " ")
        if field not in EDITABLE:
            raise InputError(
                f"{field}: not an editable pump value; one of {', '.join(EDITABLE)}",
                code=Code.OUT_OF_RANGE,
                field=field,
            )
        if field == "labelled_drugs":
            if not isinstance(value, Mapping):
                raise InputError(
                    f"{name}: give each drug with its labelled concentrations",
                    code=Code.WRONG_KIND,
                    field=name,
                )
            stored[field] = {
                library.drug(drug).key: [
                    to_canonical(
                        require_positive(c, Kind.CONCENTRATION, f"{name} ({drug})"),
                        Kind.CONCENTRATION,
                    )
                    for c in concentrations
                ]
                for drug, concentrations in value.items()
            }
        elif value is None:
            stored[field] = None
        elif isinstance(value, Mapping):
            raise InputError(
                f"{name}: must be a volume rate, for example 0.048 mL/day",
                code=Code.WRONG_KIND,
                field=name,
            )
        else:
            stored[field] = to_canonical(require_positive(value, Kind.FLOW, name), Kind.FLOW)
    return stored


def check_flows(model: PumpModel, stored: Mapping[str, Any]) -> None:
    """Refuse an edit that leaves the lowest flow above the highest."""
    low = stored.get("min_flow", _ml(model.min_flow))
    high = stored.get("max_flow", _ml(model.max_flow))
    if low is not None and high is not None and exceeds(low, high):
        raise InputError(
            f"min flow: {low:g} mL/day is above the highest flow, {high:g} mL/day",
            code=Code.OUT_OF_RANGE,
            field="min flow",
        )


def _ml(flow: Quantity | None) -> float | None:
    return None if flow is None else to_canonical(flow, Kind.FLOW)


def apply_edits(
    models: Mapping[str, PumpModel],
    shipped: Mapping[str, PumpModel],
    edits: Iterable[tuple[str, Mapping[str, Any]]],
) -> dict[str, PumpModel]:
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
                updates[field] = MappingProxyType(
                    {
                        drug: tuple(Q_(c, MCG_PER_ML) for c in values)
                        for drug, values in value.items()
                    }
                )
            elif field in ("min_flow", "max_flow"):
                updates[field] = (
                    getattr(shipped[key], field) if value is None else Q_(value, ML_PER_DAY)
                )
        result[key] = dataclasses.replace(model, **updates)
    return result
