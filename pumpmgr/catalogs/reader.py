"""Reading a catalog's TOML text into :mod:`pumpmgr.catalogs.model`, with errors that name the
file, the entry and the field (pure layer, as :mod:`pumpmgr.catalogs`); one table is read by
:mod:`pumpmgr.catalogs.entry`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import cast

from pumpmgr.catalogs.entry import _describe, _document, _Entry, _tags
from pumpmgr.catalogs.model import (
    _KEY_RE,
    _PUMP_VALUE_FIELDS,
    CATHETERS_FILE,
    DRUGS_FILE,
    PUMPS_FILE,
    TITRATION_VARIANTS,
    CatheterModel,
    CatheterSegment,
    Drug,
    DrugLibrary,
    Limit,
    PumpModel,
    PumpType,
    Stability,
    StartRule,
    TitrationKind,
    TitrationRule,
    _applies,
    _not_applicable,
)
from pumpmgr.errors import CatalogError, Code
from pumpmgr.formatting import MassUnit
from pumpmgr.units import Kind, Quantity

# --------------------------------------------------------------------------------------------
# Pumps


def _pump(key: str, e: _Entry) -> PumpModel:
    custom = e.boolean("custom")
    type_text = e.text("type", allow_empty=custom)
    pump_type: PumpType | None = None
    if type_text is not None:
        try:
            pump_type = PumpType(type_text)
        except ValueError:
            e.fail("type", f"'{type_text}' is not one of {', '.join(t.value for t in PumpType)}")
    # Fields of the other kind of pump are refused, so a constant-flow pump cannot carry a
    # programmable minimum flow by mistake.
    not_applicable = _not_applicable(pump_type)
    for field in not_applicable:
        if e.has(field):
            e.fail(field, f"does not apply to a {pump_type} pump")

    def specific(field: str) -> bool:
        """Whether a type-specific field must be written (as "" when not known)."""
        return pump_type is not None and field not in not_applicable

    max_steps = e.number("max_flex_steps", required=specific("max_flex_steps"), integer=True)
    pump = PumpModel(
        key=key,
        name=cast(str, e.text("name", allow_empty=False)),
        manufacturer=e.text("manufacturer", allow_empty=custom),
        models=e.text_list("models"),
        type=pump_type,
        capacity=e.quantity("capacity", Kind.VOLUME),
        alarm_volume=e.quantity("alarm_volume", Kind.VOLUME),
        accuracy_percent=e.number("accuracy_percent", maximum=100),
        min_flow=e.quantity("min_flow", Kind.FLOW, required=specific("min_flow")),
        max_flow=e.quantity("max_flow", Kind.FLOW, required=specific("max_flow")),
        labelled_drugs=_labelled_drugs(e),
        max_flex_steps=None if max_steps is None else int(max_steps),
        nominal_flow=e.quantity("nominal_flow", Kind.FLOW, required=specific("nominal_flow")),
        battery_life_max_years=e.number(
            "battery_life_max_years", required=specific("battery_life_max_years")
        ),
        fluid_path_volume=e.quantity("fluid_path_volume", Kind.VOLUME),
        unaspirable_volume=e.quantity("unaspirable_volume", Kind.VOLUME),
        mri=e.text("mri"),
        notes=e.text("notes"),
        legacy=e.boolean("legacy"),
        custom=custom,
        inferred=frozenset(),
        sources=MappingProxyType({}),
    )
    present = {
        name: getattr(pump, name) is not None
        for name in (*_PUMP_VALUE_FIELDS, "models", "mri", "notes")
        if _applies(pump, name)
    }
    present["models"] = bool(pump.models)
    present["labelled_drugs"] = bool(pump.labelled_drugs)
    if _applies(pump, "max_flow"):  # a check value, not one the pump record must confirm
        present["max_flow"] = pump.max_flow is not None
    inferred = e.field_list("inferred", present)
    sources = e.sources(present)
    if (
        pump.capacity is not None
        and pump.alarm_volume is not None
        and pump.alarm_volume >= pump.capacity
    ):
        e.fail("alarm_volume", "must be less than the capacity")
    if pump.min_flow is not None and pump.max_flow is not None and pump.min_flow > pump.max_flow:
        e.fail("min_flow", "is above max_flow")
    e.finish()
    return replace(pump, inferred=inferred, sources=sources)


def _labelled_drugs(e: _Entry) -> Mapping[str, tuple[Quantity, ...]]:
    """``labelled_drugs = { morphine = ["10 mg/mL", "25 mg/mL"], baclofen = [] }``: the drugs
    the model is labelled for, each with its labelled concentrations (``[]``: any)."""
    raw = e.raw("labelled_drugs", required=False)
    table = e.child("labelled_drugs", {} if raw is None else raw)
    result: dict[str, tuple[Quantity, ...]] = {}
    for drug_key, strengths in table.table.items():
        table.seen.add(drug_key)
        if not _KEY_RE.match(drug_key):
            table.fail(drug_key, "must be a drug key (lower-case letters, digits and dashes)")
        if not isinstance(strengths, list):
            table.fail(drug_key, f"must be a list of concentrations, not {_describe(strengths)}")
        parsed: list[Quantity] = []
        for text in strengths:
            quantity = table.check_quantity(drug_key, text, Kind.CONCENTRATION)
            if quantity is None:
                table.fail(drug_key, "has an empty concentration")
            parsed.append(quantity)
        result[drug_key] = tuple(parsed)
    return MappingProxyType(result)


def load_pumps(text: str, *, file: str = PUMPS_FILE) -> Mapping[str, PumpModel]:
    """Pump models from the text of a ``pumps.toml``; ``file`` names it in error messages."""
    return MappingProxyType(
        {key: _pump(key, e) for key, e in _document(text, file, "pumps").items()}
    )


# --------------------------------------------------------------------------------------------
# Catheters


def _segment(e: _Entry) -> CatheterSegment:
    volume = e.quantity("volume_per_length", Kind.VOLUME_PER_LENGTH)
    length = e.quantity("supplied_length", Kind.LENGTH)
    segment = CatheterSegment(
        name=cast(str, e.text("name", allow_empty=False)),
        volume_per_length=volume,
        supplied_length=length,
        sources=e.sources(
            {"volume_per_length": volume is not None, "supplied_length": length is not None}
        ),
    )
    e.finish()
    return segment


def _catheter(key: str, e: _Entry) -> CatheterModel:
    custom = e.boolean("custom")
    raw_segments = e.raw("segments")
    if not isinstance(raw_segments, list):
        e.fail("segments", f"must be a list of tables, not {_describe(raw_segments)}")
    segments = tuple(
        _segment(e.child(f"segments[{i}]", table)) for i, table in enumerate(raw_segments, 1)
    )
    catheter = CatheterModel(
        key=key,
        name=cast(str, e.text("name", allow_empty=False)),
        manufacturer=e.text("manufacturer", allow_empty=custom),
        models=e.text_list("models"),
        segments=segments,
        notes=e.text("notes"),
        custom=custom,
        sources=MappingProxyType({}),
    )
    sources = e.sources(
        {
            "models": bool(catheter.models),
            "segments": bool(segments),
            "notes": catheter.notes is not None,
        }
    )
    e.finish()
    return replace(catheter, sources=sources)


def load_catheters(text: str, *, file: str = CATHETERS_FILE) -> Mapping[str, CatheterModel]:
    """Catheter models from the text of a ``catheters.toml``."""
    return MappingProxyType(
        {key: _catheter(key, e) for key, e in _document(text, file, "catheters").items()}
    )


# --------------------------------------------------------------------------------------------
# Drugs

_DRUG_VALUE_FIELDS = (
    "approved_for_it",
    "stock_concentrations",
    "typical_min",
    "typical_max",
    "soft_max",
    "hard_max",
    "max_concentration",
    "titration",
    "stability",
    "withdrawal_signs",
    "overdose_signs",
    "opioid",
    "withdrawal_on_cut",
    "caution_above",
    "start",
    "restart_window_hours",
    "naive_pump_concentration",
    "max_refill_interval",
)


def _titration(e: _Entry, unit: str, sources: tuple[str, ...]) -> TitrationRule:
    has_percent, has_step = e.has("percent"), e.has("step")
    if has_percent == has_step:
        e.fail("percent", "give exactly one of 'percent' (a table of rows) or 'step'")
    if has_percent:
        rows = e.child("percent", e.raw("percent"))
        percent: dict[str, float] = {}
        for variant, value in rows.table.items():
            rows.seen.add(variant)
            if variant not in TITRATION_VARIANTS:
                rows.fail(variant, f"is not a titration row ({', '.join(TITRATION_VARIANTS)})")
            percent[variant] = rows.check_number(variant, value, maximum=100)
        if not percent:
            e.fail("percent", "has no rows")
        e.finish()
        return TitrationRule(TitrationKind.PERCENT, MappingProxyType(percent), None, None, sources)
    step = e.quantity("step", Kind.DOSE_RATE, unit=unit)
    if step is None:
        e.fail("step", "must not be empty")
    per_week = e.number("steps_per_week", required=False, integer=True)
    e.finish()
    return TitrationRule(
        TitrationKind.STEP,
        MappingProxyType({}),
        step,
        None if per_week is None else int(per_week),
        sources,
    )


def _stability(e: _Entry, sources: tuple[str, ...]) -> Stability:
    def duration(field: str) -> Quantity | None:
        return e.quantity(field, Kind.DURATION, required=False)

    stability = Stability(
        default=duration("default"),
        diluted=duration("diluted"),
        undiluted=duration("undiluted"),
        new_pump_first_fill=duration("new_pump_first_fill"),
        sources=sources,
    )
    e.finish()
    return stability


def _start(
    e: _Entry, unit: str, sources: tuple[str, ...], status: Mapping[str, tuple[bool, bool]]
) -> StartRule:
    """The ``start`` table: ``max``, ``naive_max``, ``tolerant_max`` (daily doses, "" for
    none), ``from_screening_bolus`` and ``long_effect_hours`` ("" for none). ``status`` gives
    the start's (unverified, policy) flags."""
    unverified, policy = status["start"]
    if not e.table:  # no start range in the library (the clinic's setting)
        return StartRule(None, None, None, False, None, sources)

    def limit(field: str) -> Limit | None:
        value = e.quantity(field, Kind.DOSE_RATE, unit=unit)
        return None if value is None else Limit(value, sources, unverified, policy)

    rule = StartRule(
        max_all=limit("max"),
        max_naive=limit("naive_max"),
        max_tolerant=limit("tolerant_max"),
        from_screening_bolus=e.boolean("from_screening_bolus"),
        long_effect_hours=e.number("long_effect_hours"),
        sources=sources,
    )
    if rule.from_screening_bolus and rule.long_effect_hours is None:
        e.fail("long_effect_hours", "is needed when the start follows the screening bolus")
    e.finish()
    return rule


def _drug(key: str, e: _Entry) -> Drug:
    name = cast(str, e.text("name", allow_empty=False))
    unit_text = e.text("display_unit", allow_empty=False)
    if unit_text not in ("mcg", "mg"):
        e.fail("display_unit", f"'{unit_text}' must be mcg or mg (never µg, ug or mcg/mL)")
    mass = cast(MassUnit, unit_text)
    dose_unit, concentration_unit = f"{mass}/day", f"{mass}/mL"

    def dose(field: str) -> Quantity | None:
        return e.quantity(field, Kind.DOSE_RATE, unit=dose_unit)

    approved = e.boolean("approved_for_it")
    raw_stocks = e.raw("stock_concentrations")
    if not isinstance(raw_stocks, list):
        e.fail("stock_concentrations", f"must be a list, not {_describe(raw_stocks)}")
    stocks = tuple(
        e.check_quantity("stock_concentrations", s, Kind.CONCENTRATION, unit=concentration_unit)
        for s in raw_stocks
    )
    if any(s is None for s in stocks):
        e.fail("stock_concentrations", "has an empty entry")
    values: dict[str, Quantity | None] = {
        "typical_min": dose("typical_min"),
        "typical_max": dose("typical_max"),
        "soft_max": dose("soft_max"),
        "hard_max": dose("hard_max"),
        "max_concentration": e.quantity(
            "max_concentration", Kind.CONCENTRATION, unit=concentration_unit
        ),
    }
    raw_titration = e.raw("titration")
    raw_stability = e.raw("stability", required=False)
    stability_table = e.child("stability", {} if raw_stability is None else raw_stability)
    withdrawal = e.text_list("withdrawal_signs")
    overdose = e.text_list("overdose_signs")
    opioid = e.boolean("opioid")
    withdrawal_on_cut = e.boolean("withdrawal_on_cut")
    values["caution_above"] = dose("caution_above")
    values["naive_pump_concentration"] = e.quantity(
        "naive_pump_concentration", Kind.CONCENTRATION, unit=concentration_unit
    )
    raw_start = e.raw("start")
    start_table = e.child("start", raw_start)
    restart_hours = e.number("restart_window_hours")
    interval = e.quantity("max_refill_interval", Kind.DURATION, required=False)
    present = {
        "approved_for_it": True,
        "stock_concentrations": bool(stocks),
        **{name: value is not None for name, value in values.items()},
        "titration": True,
        "stability": bool(stability_table.table),
        "withdrawal_signs": bool(withdrawal),
        "overdose_signs": bool(overdose),
        "opioid": True,
        "withdrawal_on_cut": True,
        "start": bool(start_table.table),
        "restart_window_hours": restart_hours is not None,
        "max_refill_interval": interval is not None,
    }
    sources = e.sources(present)
    unverified = e.field_list("unverified", present)
    policy = e.field_list("policy", present)
    if policy & unverified:
        e.fail(
            "policy",
            f"{', '.join(sorted(policy & unverified))} cannot be both clinic policy and unverified",
        )
    # The rule of domain.md: an unverified value is never a hard limit.
    if "hard_max" in unverified:
        e.fail(
            "hard_max",
            "is flagged unverified, and an unverified value cannot be a hard limit; "
            "ship it as soft_max (a warning) instead",
        )
    for required in ("typical_min", "typical_max"):
        if values[required] is None:
            e.fail(required, "must not be empty: every drug has a typical daily range")

    def limit(field: str) -> Limit | None:
        value = values[field]
        if value is None:
            return None
        return Limit(
            value, _tags(sources, field), unverified=field in unverified, policy=field in policy
        )

    typical_min, typical_max = cast(Limit, limit("typical_min")), cast(Limit, limit("typical_max"))
    soft_max, hard_max = limit("soft_max"), limit("hard_max")
    if typical_min.value > typical_max.value:
        e.fail("typical_min", "is above typical_max")
    if soft_max is not None and hard_max is not None and soft_max.value > hard_max.value:
        e.fail("soft_max", "is above hard_max")
    titration = _titration(
        e.child("titration", raw_titration), dose_unit, _tags(sources, "titration")
    )
    stability = _stability(stability_table, _tags(sources, "stability"))
    start = _start(
        start_table,
        dose_unit,
        _tags(sources, "start"),
        {"start": ("start" in unverified, "start" in policy)},
    )
    e.finish()
    return Drug(
        key=key,
        name=name,
        display_unit=mass,
        approved_for_it=approved,
        stock_concentrations=cast(tuple[Quantity, ...], stocks),
        typical_min=typical_min,
        typical_max=typical_max,
        soft_max=soft_max,
        hard_max=hard_max,
        max_concentration=limit("max_concentration"),
        titration=titration,
        stability=stability,
        withdrawal_signs=withdrawal,
        overdose_signs=overdose,
        unverified=unverified,
        sources=sources,
        opioid=opioid,
        withdrawal_on_cut=withdrawal_on_cut,
        caution_above=limit("caution_above"),
        start=None if start.empty else start,
        restart_window_hours=restart_hours,
        naive_pump_concentration=limit("naive_pump_concentration"),
        policy=policy,
        max_refill_interval=None
        if interval is None
        else Limit(
            interval,
            _tags(sources, "max_refill_interval"),
            unverified="max_refill_interval" in unverified,
        ),
    )


def load_drugs(text: str, *, file: str = DRUGS_FILE) -> DrugLibrary:
    """The drug library from the text of a ``drugs.toml``."""
    drugs = {key: _drug(key, e) for key, e in _document(text, file, "drugs").items()}
    names: dict[str, str] = {}
    for drug in drugs.values():
        for label in {drug.key.casefold(), drug.name.casefold()}:
            if names.setdefault(label, drug.key) != drug.key:
                raise CatalogError(
                    f"{file}: drug '{drug.key}', field 'name': '{drug.name}' is already the "
                    f"name of drug '{names[label]}'",
                    code=Code.CATALOG,
                    field=f"{drug.key}.name",
                )
    return DrugLibrary(MappingProxyType(drugs))
