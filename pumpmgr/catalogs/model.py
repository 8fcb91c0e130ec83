"""The catalogs' data: pump and catheter models, the drug library and its rules (pure layer,
as :mod:`pumpmgr.catalogs`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, NamedTuple

from pumpmgr.errors import CatalogError, Code
from pumpmgr.formatting import MassUnit
from pumpmgr.units import DAY, Quantity

SCHEMA_VERSION = 1
PUMPS_FILE = "pumps.toml"
CATHETERS_FILE = "catheters.toml"
DRUGS_FILE = "drugs.toml"

Sources = Mapping[str, tuple[str, ...]]
Origin = Literal["spinal", "cerebral"]
Pain = Literal["cancer", "non-cancer"]

#: S<n> from domain.md section 7, or a section of the project's rules or facts.
_SOURCE_RE = re.compile(r"^(S\d{1,3}|domain-rules §\d+|domain\.md §\d+(\.\d+)*)$")
#: Reserved and withdrawn entries of domain.md's source list: citing them is an error.
_NOT_SOURCES = frozenset({"S32", "S55"})
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# --------------------------------------------------------------------------------------------
# Data


class PumpType(StrEnum):
    PROGRAMMABLE_PERISTALTIC = "programmable_peristaltic"
    VALVE_GATED = "valve_gated"
    CONSTANT_FLOW = "constant_flow"


@dataclass(frozen=True)
class PumpModel:
    """One pump model's catalog defaults; ``None`` is a value the clinic must enter."""

    key: str
    name: str
    manufacturer: str | None
    models: tuple[str, ...]
    type: PumpType | None  #: ``None`` only for the clinic-defined entry
    capacity: Quantity | None
    alarm_volume: Quantity | None  #: default low-reservoir (or planning) volume
    accuracy_percent: float | None  #: labelled flow accuracy, plus or minus
    min_flow: Quantity | None
    max_flex_steps: int | None
    nominal_flow: Quantity | None  #: constant-flow pumps; differs per unit, so usually None
    battery_life_max_years: float | None
    fluid_path_volume: Quantity | None
    unaspirable_volume: Quantity | None
    mri: str | None
    notes: str | None
    legacy: bool
    custom: bool
    inferred: frozenset[str]
    sources: Sources
    #: The highest programmable flow (programmable pumps); not sourced for any model yet.
    max_flow: Quantity | None = None
    #: The drugs (by key) the model is labelled for, each with its labelled concentrations
    #: (empty: any); an empty mapping means the catalog holds no labelling for the model, so
    #: nothing is checked (domain-rules §6).
    labelled_drugs: Mapping[str, tuple[Quantity, ...]] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def has_alarm(self) -> bool:
        """Whether the pump itself has a low-reservoir alarm (constant-flow pumps have none)."""
        return self.type is not None and self.type is not PumpType.CONSTANT_FLOW

    @property
    def programmable(self) -> bool:
        return self.type in {PumpType.PROGRAMMABLE_PERISTALTIC, PumpType.VALVE_GATED}

    @property
    def accuracy(self) -> float | None:
        """The labelled accuracy as a fraction (0.145 for 14.5 %)."""
        return None if self.accuracy_percent is None else self.accuracy_percent / 100

    @property
    def to_confirm(self) -> tuple[str, ...]:
        """Fields the clinic must enter (empty) or confirm (inferred) on the pump record."""
        return tuple(
            name
            for name in _PUMP_VALUE_FIELDS
            if name in self.inferred or (_applies(self, name) and getattr(self, name) is None)
        )


@dataclass(frozen=True)
class CatheterSegment:
    """One part of a catheter; catheter volume sums implanted length x volume per cm."""

    name: str
    volume_per_length: Quantity | None
    supplied_length: Quantity | None
    sources: Sources


@dataclass(frozen=True)
class CatheterModel:
    key: str
    name: str
    manufacturer: str | None
    models: tuple[str, ...]
    segments: tuple[CatheterSegment, ...]  #: empty: the clinic defines the parts at implant
    notes: str | None
    custom: bool
    sources: Sources


@dataclass(frozen=True)
class Limit:
    """A library value with its sources, and whether ``domain.md`` marks it unverified."""

    value: Quantity
    sources: tuple[str, ...]
    unverified: bool = False
    policy: bool = False  #: a clinic-policy default (domain-rules §6), not a sourced value

    def cite(self) -> str:
        """``[S56][S57]``, followed by ``(unverified)`` when it is."""
        tags = "".join(f"[{tag}]" for tag in self.sources)
        return f"{tags} (unverified)" if self.unverified else tags

    @property
    def status(self) -> ValueStatus:
        """Sourced, clinic policy or unconfirmed (domain-rules §6)."""
        if self.unverified:
            return ValueStatus.UNCONFIRMED
        return ValueStatus.POLICY if self.policy else ValueStatus.SOURCED


class ValueStatus(StrEnum):
    """What a library value stands on (domain-rules §6)."""

    SOURCED = "sourced"  #: with its source tag
    POLICY = "clinic policy"  #: a safe default the clinic may change
    UNCONFIRMED = "unconfirmed"  #: domain.md marks it unverified: active, and said so


class OpioidStatus(StrEnum):
    """The patient's opioid status; unknown counts as naive (domain-rules §6)."""

    NAIVE = "naive"
    TOLERANT = "tolerant"


@dataclass(frozen=True)
class StartRule:
    """The start range of a drug (domain-rules §6): a first dose or a restart above it is a
    warning. Each maximum is a daily dose; ``None`` where the library holds none."""

    max_all: Limit | None  #: every patient (ziconotide 2.4 mcg/day)
    max_naive: Limit | None  #: opioid-naive patients (and unknown status)
    max_tolerant: Limit | None  #: opioid-tolerant patients
    #: The start follows the screening bolus (baclofen): twice the effective bolus a day, or
    #: once it when its effect lasted longer than ``long_effect_hours``.
    from_screening_bolus: bool
    long_effect_hours: float | None
    sources: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return (
            self.max_all is None
            and self.max_naive is None
            and self.max_tolerant is None
            and not self.from_screening_bolus
        )


class TitrationKind(StrEnum):
    PERCENT = "percent"  #: at most this % more than the previous dose per 24 h
    STEP = "step"  #: at most this much more per step (ziconotide)


class TitrationLimit(NamedTuple):
    percent: float
    variant: str  #: which row of the rule applies: spinal, cancer, all...
    assumed: bool  #: the patient's context was not given, so the strictest row was taken


#: The rows a percent rule may have.
TITRATION_VARIANTS = ("all", "spinal", "cerebral", "child", "non-cancer", "cancer")


@dataclass(frozen=True)
class TitrationRule:
    kind: TitrationKind
    percent_by_variant: Mapping[str, float]  #: empty for a step rule
    step: Quantity | None  #: dose rate, for a step rule
    steps_per_week: int | None
    sources: tuple[str, ...]

    def percent_limit(
        self, *, origin: Origin | None = None, pain: Pain | None = None, child: bool = False
    ) -> TitrationLimit:
        """The allowed increase per 24 h for this patient.

        Rows matching the patient (child, origin, pain type) apply, the strictest when several
        do; without a matching row the ``all`` row; without that, the strictest row, since
        guessing the looser one could let an overdose through.
        """
        if self.kind is not TitrationKind.PERCENT:
            raise ValueError(f"a {self.kind} titration rule has no percent limit")
        wanted = [v for v in ("child" if child else None, origin, pain) if v is not None]
        matching = {v: p for v, p in self.percent_by_variant.items() if v in wanted}
        if matching:
            variant = min(matching, key=lambda v: matching[v])
            return TitrationLimit(matching[variant], variant, assumed=False)
        if "all" in self.percent_by_variant:
            return TitrationLimit(self.percent_by_variant["all"], "all", assumed=False)
        variant = min(self.percent_by_variant, key=lambda v: self.percent_by_variant[v])
        return TitrationLimit(self.percent_by_variant[variant], variant, assumed=True)


@dataclass(frozen=True)
class Stability:
    """In-pump stability limits (durations); all ``None`` when none is set."""

    default: Quantity | None
    diluted: Quantity | None
    undiluted: Quantity | None
    new_pump_first_fill: Quantity | None
    sources: tuple[str, ...]

    def limit(
        self, *, diluted: bool | None = None, new_pump_first_fill: bool = False
    ) -> Quantity | None:
        """The limit for one fill: the first fill of a new pump has its own; when whether the
        solution is diluted is not known, the shorter of the two applies."""
        if new_pump_first_fill and self.new_pump_first_fill is not None:
            return self.new_pump_first_fill
        if diluted is True and self.diluted is not None:
            return self.diluted
        if diluted is False and self.undiluted is not None:
            return self.undiluted
        candidates = [q for q in (self.default, self.diluted, self.undiluted) if q is not None]
        return min(candidates, key=lambda q: q.to(DAY).magnitude) if candidates else None


@dataclass(frozen=True)
class Drug:
    """One drug of the library; dose limits are daily doses in the drug's display unit."""

    key: str
    name: str
    display_unit: MassUnit
    approved_for_it: bool
    stock_concentrations: tuple[Quantity, ...]  #: empty: compounded only
    typical_min: Limit
    typical_max: Limit
    soft_max: Limit | None
    hard_max: Limit | None  #: never unverified (refused on load)
    max_concentration: Limit | None
    titration: TitrationRule
    stability: Stability
    withdrawal_signs: tuple[str, ...]
    overdose_signs: tuple[str, ...]
    unverified: frozenset[str]
    sources: Sources
    # -- the checks of domain-rules §6 (revised): start, restart, withdrawal, label caution
    opioid: bool = False
    #: A cut to less than half (or beyond the titration rule within 24 h) risks withdrawal.
    withdrawal_on_cut: bool = False
    #: Above it the label advises caution (morphine 20 mg/day): a warning of its own.
    caution_above: Limit | None = None
    start: StartRule | None = None
    #: Hours without the drug after which a new dose is a restart (clinic policy).
    restart_window_hours: float | None = None
    #: The only solution for a pump's first fill with this drug (ziconotide: 25 mcg/mL).
    naive_pump_concentration: Limit | None = None
    #: Fields that hold clinic-policy defaults rather than sourced values.
    policy: frozenset[str] = frozenset()

    def status(self, field: str) -> ValueStatus:
        """Whether the value of ``field`` is sourced, clinic policy or unconfirmed."""
        if field in self.unverified:
            return ValueStatus.UNCONFIRMED
        return ValueStatus.POLICY if field in self.policy else ValueStatus.SOURCED

    #: The longest refill interval (a duration) where the library sets one, e.g. baclofen
    #: 180 days [S72]; otherwise the clinic's setting applies (domain-rules §3).
    max_refill_interval: Limit | None = None

    @property
    def compounded_only(self) -> bool:
        return not self.stock_concentrations

    @property
    def max_concentration_blocks(self) -> bool:
        """A concentration above the maximum is blocked only when the maximum is verified."""
        return self.max_concentration is not None and not self.max_concentration.unverified


@dataclass(frozen=True)
class DrugLibrary:
    drugs: Mapping[str, Drug]  #: by key

    def drug(self, name: str) -> Drug:
        """The drug whose key or name is ``name``, ignoring case and surrounding spaces."""
        wanted = name.strip().casefold()
        for drug in self.drugs.values():
            if wanted in {drug.key.casefold(), drug.name.casefold()}:
                return drug
        raise CatalogError(
            f"unknown drug '{name}'; the library has: {', '.join(self.drugs)}",
            code=Code.UNKNOWN_DRUG,
            field="drug",
        )

    def __iter__(self) -> Iterator[Drug]:
        return iter(self.drugs.values())

    def __len__(self) -> int:
        return len(self.drugs)


@dataclass(frozen=True)
class Catalogs:
    pumps: Mapping[str, PumpModel]
    catheters: Mapping[str, CatheterModel]
    drugs: DrugLibrary

    def pump_model(self, key: str) -> PumpModel:
        try:
            return self.pumps[key.strip().lower()]
        except KeyError:
            raise CatalogError(
                f"unknown pump model '{key}'; the catalog has: {', '.join(self.pumps)}",
                code=Code.UNKNOWN_PUMP,
                field="pump_model",
            ) from None

    def catheter_model(self, key: str) -> CatheterModel:
        try:
            return self.catheters[key.strip().lower()]
        except KeyError:
            raise CatalogError(
                f"unknown catheter model '{key}'; the catalog has: {', '.join(self.catheters)}",
                code=Code.UNKNOWN_CATHETER,
                field="catheter_model",
            ) from None

    def drug(self, name: str) -> Drug:
        return self.drugs.drug(name)


_PUMP_VALUE_FIELDS = (
    "capacity",
    "alarm_volume",
    "accuracy_percent",
    "min_flow",
    "max_flex_steps",
    "nominal_flow",
    "battery_life_max_years",
    "fluid_path_volume",
    "unaspirable_volume",
)
# Constant-flow pumps are gas-driven and have no battery [domain.md §1.1].
_PROGRAMMABLE_ONLY = ("min_flow", "max_flow", "max_flex_steps", "battery_life_max_years")
_CONSTANT_FLOW_ONLY = ("nominal_flow",)


def _not_applicable(pump_type: PumpType | None) -> tuple[str, ...]:
    if pump_type is PumpType.CONSTANT_FLOW:
        return _PROGRAMMABLE_ONLY
    if pump_type is not None:
        return _CONSTANT_FLOW_ONLY
    return ()  # the clinic-defined pump: anything may apply


def _applies(pump: PumpModel, field: str) -> bool:
    return field not in _not_applicable(pump.type)
