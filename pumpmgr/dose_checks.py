"""Checks of a new dose or prescription against the drug library (domain-rules §6).

Pure layer: imports the standard library, :mod:`pumpmgr.units` (pint), :mod:`pumpmgr.errors`,
:mod:`pumpmgr.formatting` and :mod:`pumpmgr.catalogs` (the :class:`Drug` data only; nothing is
read from disk here).

A check never raises on a bad dose: a value of the wrong kind, without a unit, zero or negative
comes back as a *blocked* finding, like every other refusal, so that a form can show it beside
the field. Verdicts, the most severe finding winning:

- **blocked** (cannot be saved): wrong kind of quantity; zero or negative values; a dose above
  the hard maximum; a dose 10 times or more above the top of the typical range (a mg/mcg
  slip); a concentration above the maximum when that maximum is verified.
- **warning** (saved only with a recorded reason): above the soft maximum; outside the typical
  range (10 times or more below it gets its own code, a slip the other way); a concentration
  above an *unverified* maximum (unverified values are never hard limits, see
  :mod:`pumpmgr.catalogs`); an increase beyond the titration rule, measured as
  ``(new - previous) / previous`` where exactly the limit is allowed (compared with
  :func:`pumpmgr.units.exceeds`, so float noise cannot turn +30 % into a warning); for a
  step rule (ziconotide) an increase above the step or more steps a week than allowed; any
  increase less than 24 hours after the previous change.
- **ok** otherwise.

When the rule depends on the patient (baclofen: spinal or cerebral origin, children; opioids:
cancer or non-cancer pain) and the caller does not say, the strictest row applies and the
message says so.

:func:`check_admixture` checks every drug of one solution and merges the findings. It takes
each drug's daily dose already computed (``Vd x C``, done by ``pumpmgr.dosing``), so the
arithmetic lives in one place.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from pumpmgr.catalogs import Drug, DrugLibrary, Limit, Origin, Pain, TitrationKind
from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import Code, InputError
from pumpmgr.formatting import format_number, format_quantity
from pumpmgr.records import PrescriptionRecord
from pumpmgr.units import Kind, Quantity, exceeds, require, to_canonical

#: An increase sooner than this after the previous change is a warning [domain-rules §6].
MIN_HOURS_BETWEEN_INCREASES = 24.0
#: A dose this many times the top of the typical range is blocked, this many times below its
#: bottom warned: the mark of a mg/mcg slip [domain-rules §6; domain.md §5].
SLIP_FACTOR = 10.0

_ORIGINS = ("spinal", "cerebral")
_PAINS = ("cancer", "non-cancer")


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BLOCKED = "blocked"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.OK: 0, Verdict.WARNING: 1, Verdict.BLOCKED: 2}


class FindingCode(StrEnum):
    """Machine-readable reasons for a finding (stable: records and tests refer to them)."""

    NO_UNIT = "dose.no_unit"
    WRONG_KIND = "dose.wrong_kind"
    NOT_FINITE = "dose.not_finite"
    NOT_POSITIVE = "dose.not_positive"
    NEGATIVE_TIME = "time.negative"
    ABOVE_HARD_MAX = "dose.above_hard_max"
    TEN_TIMES_TYPICAL = "dose.ten_times_typical"
    ABOVE_SOFT_MAX = "dose.above_soft_max"
    ABOVE_TYPICAL = "dose.above_typical"
    BELOW_TYPICAL = "dose.below_typical"
    TENTH_OF_TYPICAL = "dose.tenth_of_typical"
    CONCENTRATION_ABOVE_MAX = "concentration.above_max"
    CONCENTRATION_ABOVE_UNVERIFIED_MAX = "concentration.above_unverified_max"
    TITRATION_ABOVE_PERCENT = "titration.above_percent"
    TITRATION_ABOVE_STEP = "titration.above_step"
    TITRATION_TOO_MANY_STEPS = "titration.too_many_steps"
    INCREASE_WITHIN_24H = "titration.within_24h"
    DUPLICATE_DRUG = "admixture.duplicate_drug"


_INPUT_CODES = {
    Code.NO_UNIT: FindingCode.NO_UNIT,
    Code.WRONG_KIND: FindingCode.WRONG_KIND,
    Code.NOT_FINITE: FindingCode.NOT_FINITE,
}


@dataclass(frozen=True)
class Finding:
    level: Verdict  #: WARNING or BLOCKED
    code: FindingCode
    message: str  #: clinic language, naming the limit and its source
    field: str  #: dose, previous_dose, concentration, hours_since_change (drug-prefixed in a mix)


@dataclass(frozen=True)
class DoseCheck:
    verdict: Verdict
    findings: tuple[Finding, ...]

    @property
    def codes(self) -> tuple[FindingCode, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def blocked(self) -> bool:
        return self.verdict is Verdict.BLOCKED


def _merge(findings: Sequence[Finding]) -> DoseCheck:
    verdict = max((f.level for f in findings), key=lambda v: v.severity, default=Verdict.OK)
    return DoseCheck(verdict, tuple(findings))


class _Check:
    """The findings of one drug; ``prefix`` names the drug's fields inside an admixture."""

    def __init__(self, drug: Drug, prefix: str) -> None:
        self.drug = drug
        self.prefix = prefix
        self.findings: list[Finding] = []

    def add(self, level: Verdict, code: FindingCode, field: str, message: str) -> None:
        self.findings.append(Finding(level, code, message, self.prefix + field))

    def show(self, quantity: Quantity, kind: Kind = Kind.DOSE_RATE) -> str:
        return format_quantity(quantity, kind, self.drug.display_unit)

    def cited(self, limit: Limit, kind: Kind = Kind.DOSE_RATE) -> str:
        return f"{self.show(limit.value, kind)} {limit.cite()}"

    def read(self, value: object, kind: Kind, field: str) -> float | None:
        """The canonical magnitude of ``value``, or None after a blocked finding."""
        name = self.prefix + field
        try:
            require(value, kind, name)
        except InputError as exc:
            code = _INPUT_CODES.get(exc.code, FindingCode.WRONG_KIND)
            self.add(Verdict.BLOCKED, code, field, f"{self.drug.name}: {exc.message}")
            return None
        magnitude = to_canonical(value, kind)
        if magnitude <= 0:
            self.add(
                Verdict.BLOCKED,
                FindingCode.NOT_POSITIVE,
                field,
                f"{self.drug.name}: {name} must be more than zero, not {self.show(value, kind)}",
            )
            return None
        return magnitude

    # -- the dose against the library's limits

    def dose_limits(self, dose: Quantity, value: float) -> None:
        drug, shown = self.drug, f"{self.drug.name} {self.show(dose)}"
        hard = drug.hard_max
        if hard is not None and exceeds(value, _canonical(hard)):
            self.add(
                Verdict.BLOCKED,
                FindingCode.ABOVE_HARD_MAX,
                "dose",
                f"{shown} is above the hard maximum of {self.cited(hard)}; it cannot be saved.",
            )
        top, bottom = drug.typical_max, drug.typical_min
        if bottom.cite() == top.cite():
            typical = f"the typical range, {self.show(bottom.value)} to {self.cited(top)}"
        else:
            typical = f"the typical range, {self.cited(bottom)} to {self.cited(top)}"
        if not exceeds(SLIP_FACTOR * _canonical(top), value):
            self.add(
                Verdict.BLOCKED,
                FindingCode.TEN_TIMES_TYPICAL,
                "dose",
                f"{shown} is 10 times or more the top of {typical}: check for a mg/mcg "
                "mix-up. It cannot be saved.",
            )
        elif exceeds(value, _canonical(top)):
            self.add(
                Verdict.WARNING,
                FindingCode.ABOVE_TYPICAL,
                "dose",
                f"{shown} is above {typical}; save it only with a reason.",
            )
        soft = drug.soft_max
        if soft is not None and exceeds(value, _canonical(soft)):
            self.add(
                Verdict.WARNING,
                FindingCode.ABOVE_SOFT_MAX,
                "dose",
                f"{shown} is above the soft maximum of {self.cited(soft)}; save it only with "
                "a reason.",
            )
        if not exceeds(value, _canonical(bottom) / SLIP_FACTOR):
            self.add(
                Verdict.WARNING,
                FindingCode.TENTH_OF_TYPICAL,
                "dose",
                f"{shown} is 10 times or more below the bottom of {typical}: check for a "
                "mg/mcg mix-up. Save it only with a reason.",
            )
        elif exceeds(_canonical(bottom), value):
            self.add(
                Verdict.WARNING,
                FindingCode.BELOW_TYPICAL,
                "dose",
                f"{shown} is below {typical}; save it only with a reason.",
            )

    # -- the concentration against the maximum

    def concentration_limit(self, concentration: Quantity, value: float) -> None:
        maximum = self.drug.max_concentration
        if maximum is None or not exceeds(value, _canonical(maximum, Kind.CONCENTRATION)):
            return
        shown = f"{self.drug.name} {self.show(concentration, Kind.CONCENTRATION)}"
        cited = self.cited(maximum, Kind.CONCENTRATION)
        if self.drug.max_concentration_blocks:
            self.add(
                Verdict.BLOCKED,
                FindingCode.CONCENTRATION_ABOVE_MAX,
                "concentration",
                f"{shown} is above the maximum concentration of {cited}; it cannot be saved.",
            )
        else:
            # An unverified maximum is a soft limit only (see pumpmgr.catalogs).
            self.add(
                Verdict.WARNING,
                FindingCode.CONCENTRATION_ABOVE_UNVERIFIED_MAX,
                "concentration",
                f"{shown} is above the maximum concentration of {cited}, an unverified "
                "value and so a warning only; save it only with a reason.",
            )

    # -- the change from the previous dose

    def titration(
        self,
        dose: Quantity,
        new: float,
        previous_dose: Quantity,
        previous: float,
        *,
        hours_since_change: float | None,
        origin: Origin | None,
        pain: Pain | None,
        child: bool,
        increases_past_7_days: int | None,
    ) -> None:
        if not exceeds(new, previous):
            return  # not an increase: no titration rule applies
        drug, rule = self.drug, self.drug.titration
        change = f"{drug.name} from {self.show(previous_dose)} to {self.show(dose)}"
        cite = "".join(f"[{tag}]" for tag in rule.sources)
        if rule.kind is TitrationKind.PERCENT:
            limit = rule.percent_limit(origin=origin, pain=pain, child=child)
            increase = (new - previous) / previous
            if exceeds(increase, limit.percent / 100):
                which = "all patients" if limit.variant == "all" else limit.variant
                if limit.assumed:
                    which += ", the strictest row, as the patient's details were not given"
                self.add(
                    Verdict.WARNING,
                    FindingCode.TITRATION_ABOVE_PERCENT,
                    "dose",
                    f"{change} is an increase of +{format_number(increase * 100, 2)} %; the "
                    f"titration limit is +{format_number(limit.percent, 2)} % per 24 h "
                    f"({which}) {cite}. Save it only with a reason.",
                )
        elif rule.step is not None and exceeds(new - previous, _to(rule.step)):
            self.add(
                Verdict.WARNING,
                FindingCode.TITRATION_ABOVE_STEP,
                "dose",
                f"{change} is an increase of {self.show(dose - previous_dose)}; the titration "
                f"limit is {self.show(rule.step)} a step {cite}. Save it only with a reason.",
            )
        if (
            rule.steps_per_week is not None
            and increases_past_7_days is not None
            and increases_past_7_days >= rule.steps_per_week
        ):
            self.add(
                Verdict.WARNING,
                FindingCode.TITRATION_TOO_MANY_STEPS,
                "dose",
                f"{change} would be increase number {increases_past_7_days + 1} within 7 days; "
                f"the limit is {rule.steps_per_week} a week {cite}. Save it only with a reason.",
            )
        if hours_since_change is not None and exceeds(
            MIN_HOURS_BETWEEN_INCREASES, hours_since_change
        ):
            self.add(
                Verdict.WARNING,
                FindingCode.INCREASE_WITHIN_24H,
                "dose",
                f"{change} comes {format_number(hours_since_change, 1)} h after the previous "
                "change; increases should be at least 24 h apart [domain-rules §6]. Save it "
                "only with a reason.",
            )

    def hours(self, hours_since_change: float) -> float | None:
        """The hours since the previous change, or None after a blocked finding."""
        if isinstance(hours_since_change, bool) or not isinstance(
            hours_since_change, int | float
        ):
            self.add(
                Verdict.BLOCKED,
                FindingCode.NOT_FINITE,
                "hours_since_change",
                f"{self.drug.name}: hours_since_change must be a number of hours, "
                f"not {hours_since_change!r}",
            )
            return None
        if not math.isfinite(hours_since_change):
            self.add(
                Verdict.BLOCKED,
                FindingCode.NOT_FINITE,
                "hours_since_change",
                f"{self.drug.name}: hours_since_change is not a finite number of hours",
            )
            return None
        if hours_since_change < 0:
            self.add(
                Verdict.BLOCKED,
                FindingCode.NEGATIVE_TIME,
                "hours_since_change",
                f"{self.drug.name}: the previous change cannot be in the future "
                f"({format_number(hours_since_change, 1)} h)",
            )
            return None
        return float(hours_since_change)


def _canonical(limit: Limit, kind: Kind = Kind.DOSE_RATE) -> float:
    return to_canonical(limit.value, kind)


def _to(quantity: Quantity) -> float:
    return to_canonical(quantity, Kind.DOSE_RATE)


def _check_context(origin: object, pain: object, increases: object) -> None:
    # Typed callers cannot get these wrong; a CLI or form passing text can.
    if origin is not None and origin not in _ORIGINS:
        raise InputError(
            f"origin: '{origin}' must be one of {', '.join(_ORIGINS)}",
            code=Code.OUT_OF_RANGE,
            field="origin",
        )
    if pain is not None and pain not in _PAINS:
        raise InputError(
            f"pain: '{pain}' must be one of {', '.join(_PAINS)}",
            code=Code.OUT_OF_RANGE,
            field="pain",
        )
    if increases is not None and (
        isinstance(increases, bool) or not isinstance(increases, int) or increases < 0
    ):
        raise InputError(
            f"increases_past_7_days: {increases!r} must be a count of zero or more",
            code=Code.NEGATIVE,
            field="increases_past_7_days",
        )


def _check_one(
    drug: Drug,
    dose: Quantity,
    *,
    prefix: str,
    previous_dose: Quantity | None,
    hours_since_change: float | None,
    concentration: Quantity | None,
    origin: Origin | None,
    pain: Pain | None,
    child: bool,
    increases_past_7_days: int | None,
) -> list[Finding]:
    check = _Check(drug, prefix)
    new = check.read(dose, Kind.DOSE_RATE, "dose")
    if new is not None:
        check.dose_limits(dose, new)
    previous = None
    if previous_dose is not None:
        previous = check.read(previous_dose, Kind.DOSE_RATE, "previous_dose")
    hours = None if hours_since_change is None else check.hours(hours_since_change)
    if new is not None and previous is not None:
        check.titration(
            dose,
            new,
            previous_dose,
            previous,
            hours_since_change=hours,
            origin=origin,
            pain=pain,
            child=child,
            increases_past_7_days=increases_past_7_days,
        )
    if concentration is not None:
        value = check.read(concentration, Kind.CONCENTRATION, "concentration")
        if value is not None:
            check.concentration_limit(concentration, value)
    return check.findings


def check_dose(
    drug: Drug,
    dose: Quantity,
    *,
    previous_dose: Quantity | None = None,
    hours_since_change: float | None = None,
    concentration: Quantity | None = None,
    origin: Origin | None = None,
    pain: Pain | None = None,
    child: bool = False,
    increases_past_7_days: int | None = None,
) -> DoseCheck:
    """Check a new daily dose of ``drug`` (and its concentration) against the library.

    ``previous_dose`` is the daily dose before this change and ``hours_since_change`` the
    hours since the previous change; together they drive the titration checks.
    ``increases_past_7_days`` counts the increases already made in the 7 days before this one
    (for a rule with a weekly limit of steps). ``origin``, ``pain`` and ``child`` pick the
    titration row; missing, the strictest row applies.
    """
    _check_context(origin, pain, increases_past_7_days)
    return _merge(
        _check_one(
            drug,
            dose,
            prefix="",
            previous_dose=previous_dose,
            hours_since_change=hours_since_change,
            concentration=concentration,
            origin=origin,
            pain=pain,
            child=child,
            increases_past_7_days=increases_past_7_days,
        )
    )


def check_admixture(
    ingredients: Sequence[tuple[Drug, Quantity, Quantity]],
    *,
    previous_doses: Mapping[str, Quantity] | None = None,
    hours_since_change: float | None = None,
    origin: Origin | None = None,
    pain: Pain | None = None,
    child: bool = False,
    increases_past_7_days: Mapping[str, int] | None = None,
) -> DoseCheck:
    """Check every drug of one solution: ``(drug, daily dose, concentration)`` each, the dose
    being ``Vd x C`` for the solution's one daily volume (``pumpmgr.dosing`` computes it).

    ``previous_doses`` and ``increases_past_7_days`` are keyed by drug key; a drug missing
    from them has no titration check, and entries for drugs not in the solution are ignored
    (a drug may just have been taken out of it). Fields are named ``<drug key>.dose`` and so
    on. The same drug twice is blocked.
    """
    if not ingredients:
        raise InputError(
            "ingredients: an admixture needs at least one drug",
            code=Code.NO_VALUE,
            field="ingredients",
        )
    previous_doses = previous_doses or {}
    increases = increases_past_7_days or {}
    _check_context(origin, pain, None)
    for count in increases.values():
        _check_context(None, None, count)
    findings: list[Finding] = []
    seen: set[str] = set()
    for drug, dose, concentration in ingredients:
        if drug.key in seen:
            findings.append(
                Finding(
                    Verdict.BLOCKED,
                    FindingCode.DUPLICATE_DRUG,
                    f"{drug.name} appears twice in one solution; give it once with its "
                    "total concentration.",
                    f"{drug.key}.concentration",
                )
            )
            continue
        seen.add(drug.key)
        findings += _check_one(
            drug,
            dose,
            prefix=f"{drug.key}.",
            previous_dose=previous_doses.get(drug.key),
            hours_since_change=hours_since_change,
            concentration=concentration,
            origin=origin,
            pain=pain,
            child=child,
            increases_past_7_days=increases.get(drug.key),
        )
    return _merge(findings)


# --------------------------------------------------------------------------------------------
# What a check needs to know of the patient and of the pump's earlier prescriptions

#: Titration rules for children are stricter; anyone under 18 counts as a child here.
CHILD_AGE_YEARS = 18
_ORIGIN_OF: dict[str, Origin] = {"spasticity_spinal": "spinal",
                                 "spasticity_cerebral": "cerebral"}
_PAIN_OF: dict[str, Pain] = {"cancer_pain": "cancer", "non_cancer_pain": "non-cancer"}


@dataclass(frozen=True)
class PatientContext:
    """The patient facts a limit may depend on (keyword arguments of :func:`check_admixture`)."""

    origin: Origin | None
    pain: Pain | None
    child: bool


def patient_context(indication: str, date_of_birth: date, today: date) -> PatientContext:
    """The origin of spasticity or kind of pain of an indication, and whether a child."""
    age_days = (today - date_of_birth).days
    return PatientContext(_ORIGIN_OF.get(indication), _PAIN_OF.get(indication),
                          age_days < CHILD_AGE_YEARS * 365.25)


@dataclass(frozen=True)
class ChangeContext:
    """What the titration rules compare a new prescription with (keyword arguments of
    :func:`check_admixture`)."""

    previous_doses: dict[str, Quantity] = field(default_factory=dict)
    hours_since_change: float | None = None
    increases_past_7_days: dict[str, int] = field(default_factory=dict)


def change_context(versions: Sequence[PrescriptionRecord], effective_at: datetime,
                   library: DrugLibrary) -> ChangeContext:
    """The doses of the version in force, the hours since it took effect, and each drug's
    increases in the 7 days before ``effective_at`` (for a rule with a weekly number of steps:
    ziconotide, 3 a week). ``versions``: the pump's prescriptions, oldest first."""
    if not versions:
        return ChangeContext()

    def doses_of(version: PrescriptionRecord) -> dict[str, Quantity]:
        return admixture_doses(version.program.max_daily_volume(), [
            (library.drug(i.drug).key, i.concentration) for i in version.ingredients])

    last = versions[-1]
    hours = max(0.0, (effective_at - last.effective_at).total_seconds() / 3600)
    week_ago = effective_at - timedelta(days=7)
    increases: dict[str, int] = {}
    for older, newer in itertools.pairwise(versions):
        if not week_ago < newer.effective_at <= effective_at:
            continue
        before, after = doses_of(older), doses_of(newer)
        for key, dose in after.items():
            if key in before and exceeds(to_canonical(dose, Kind.DOSE_RATE),
                                         to_canonical(before[key], Kind.DOSE_RATE)):
                increases[key] = increases.get(key, 0) + 1
    return ChangeContext(doses_of(last), hours, increases)
