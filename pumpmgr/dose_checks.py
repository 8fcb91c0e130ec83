"""Checks of a new dose or prescription against the drug library (domain-rules §6).

Pure layer: imports the standard library, :mod:`pumpmgr.units` (pint), :mod:`pumpmgr.errors`,
:mod:`pumpmgr.formatting`, :mod:`pumpmgr.schedule` and :mod:`pumpmgr.catalogs` (the library's
data only; nothing is read from disk here).

A check never raises on a bad dose: a value of the wrong kind, without a unit, zero or negative
comes back as a *blocked* finding, like every other refusal, so that a form can show it beside
the field. The dose compared is the daily dose ``D`` in mass per day (``D_max`` when the
caller counts the patient's boluses), never mL per day, so a concentration change alone never
makes a dose finding. One verdict, the most severe finding winning:

- **blocked** (nobody can save it): wrong kind of quantity; zero or negative values (stopping a
  drug is a Stop order); a dose above the hard maximum (the clinic-policy ones can be raised for
  one patient by an individual maximum, label maxima cannot); a dose 10 times or more above the
  top of the typical range (a mg/mcg slip); a concentration above a sourced maximum; a daily
  volume, or a flex step's volume rate, the pump cannot deliver (below its lowest or above its
  highest programmable flow; the message proposes a stock strength that fits); a schedule the
  pump cannot hold (too many flex steps; steps or boluses on a constant-flow pump).
- **stop** (a prescriber only, re-entering the dose blind and giving a reason): a change of
  ``D`` to 5 times or more, or a fifth or less, of the current dose, "possible tenfold error";
  not for a ziconotide increase within its label step.
- **warning** (saved only with a recorded reason): above the soft maximum or the label's
  caution (morphine above 20 mg/day); outside the typical range; a concentration above an
  unconfirmed maximum (domain.md marks it unverified, so it is never a hard limit); an increase
  beyond the titration rule, measured as ``(new - current) / current`` where exactly the limit
  is allowed (compared with :func:`pumpmgr.units.exceeds`, so float noise cannot turn +30 %
  into a warning); for a step rule (ziconotide) an increase above the step or more steps a
  week than allowed; any increase less than 24 hours after the previous change; for a drug
  whose cut risks withdrawal (baclofen, opioids, clonidine) a cut to less than half, or beyond
  the titration rule within 24 hours; a flex step or scheduled bolus whose rate for a time of
  day becomes 5 times or more, or a fifth or less, of the rate programmed for that time before;
  a start above the start range; a drug or concentration the pump model is not labelled for
  (where the catalog holds its labelling); a ziconotide-naive pump filled with anything but
  the label's undiluted solution.
- **ok** otherwise.

Every finding shows its numbers in the drug's display unit, says what to do, and says
"unconfirmed" when it rests on a value domain.md marks unverified; reference codes never appear
in a message: :attr:`Finding.sources` carries them for a "source" link.

Over 600 lines on purpose: the rules above share one :class:`_Check` (the drug, the display
unit, the values' status) and its finding builders, and each rule is a short function; split by
verdict, every module would need that whole context again.

When the rule depends on the patient (baclofen: spinal or cerebral origin, children; opioids:
cancer or non-cancer pain) and the caller does not say, the strictest row applies and the
message says so. An unknown opioid status counts as naive.

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

from pumpmgr.catalogs import (
    Drug,
    DrugLibrary,
    Limit,
    OpioidStatus,
    Origin,
    Pain,
    PumpModel,
    PumpType,
    TitrationKind,
)
from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import Code, InputError
from pumpmgr.formatting import format_number, format_quantity
from pumpmgr.records import PrescriptionRecord
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.stop_orders import STOP_ORDER_IN_WINDOW
from pumpmgr.units import (
    MCG,
    MCG_PER_DAY,
    MCG_PER_ML,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    exceeds,
    require,
    to_canonical,
)

#: An increase sooner than this after the previous change is a warning [domain-rules §6].
MIN_HOURS_BETWEEN_INCREASES = 24.0
#: A dose this many times the top of the typical range is blocked, this many times below its
#: bottom warned: the mark of a mg/mcg slip [domain-rules §6; domain.md §5].
SLIP_FACTOR = 10.0
#: A change of the daily dose to this many times the current one, or to this fraction of it,
#: is a possible tenfold error that only a prescriber may save [domain-rules §6].
TENFOLD_FACTOR = 5.0
#: The same factor for one flex step or scheduled bolus against the same time of day before.
STEP_SLIP_FACTOR = 5.0
#: A cut below this fraction of the current dose risks withdrawal [domain-rules §6].
WITHDRAWAL_FRACTION = 0.5

_ORIGINS = ("spinal", "cerebral")
_PAINS = ("cancer", "non-cancer")


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    STOP = "stop"  #: a prescriber only, with the dose re-entered blind and a listed reason
    BLOCKED = "blocked"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.OK: 0, Verdict.WARNING: 1, Verdict.STOP: 2, Verdict.BLOCKED: 3}


class FindingCode(StrEnum):
    """Machine-readable reasons for a finding (stable: records and tests refer to them)."""

    NO_UNIT = "dose.no_unit"
    WRONG_KIND = "dose.wrong_kind"
    NOT_FINITE = "dose.not_finite"
    NOT_POSITIVE = "dose.not_positive"
    NEGATIVE_TIME = "time.negative"
    ABOVE_HARD_MAX = "dose.above_hard_max"
    ABOVE_INDIVIDUAL_MAX = "dose.above_individual_max"
    TEN_TIMES_TYPICAL = "dose.ten_times_typical"
    ABOVE_SOFT_MAX = "dose.above_soft_max"
    ABOVE_LABEL_CAUTION = "dose.above_label_caution"
    ABOVE_TYPICAL = "dose.above_typical"
    BELOW_TYPICAL = "dose.below_typical"
    TENTH_OF_TYPICAL = "dose.tenth_of_typical"
    POSSIBLE_TENFOLD_ERROR = "dose.possible_tenfold_error"
    CONCENTRATION_ABOVE_MAX = "concentration.above_max"
    CONCENTRATION_ABOVE_UNVERIFIED_MAX = "concentration.above_unverified_max"
    TITRATION_ABOVE_PERCENT = "titration.above_percent"
    TITRATION_ABOVE_STEP = "titration.above_step"
    TITRATION_TOO_MANY_STEPS = "titration.too_many_steps"
    INCREASE_WITHIN_24H = "titration.within_24h"
    WITHDRAWAL_CUT_BELOW_HALF = "withdrawal.cut_below_half"
    WITHDRAWAL_FAST_CUT = "withdrawal.cut_beyond_titration_within_24h"
    START_ABOVE_RANGE = "start.above_range"
    START_WITHOUT_SCREENING = "start.screening_bolus_not_given"
    STEP_SLIP = "schedule.step_slip"
    BELOW_MIN_FLOW = "pump.below_min_flow"
    ABOVE_MAX_FLOW = "pump.above_max_flow"
    TOO_MANY_FLEX_STEPS = "pump.too_many_flex_steps"
    SCHEDULE_NOT_OFFERED = "pump.schedule_not_offered"
    NOT_LABELLED = "pump.not_labelled"
    NAIVE_PUMP_SOLUTION = "pump.naive_pump_solution"
    DUPLICATE_DRUG = "admixture.duplicate_drug"


_INPUT_CODES = {
    Code.NO_UNIT: FindingCode.NO_UNIT,
    Code.WRONG_KIND: FindingCode.WRONG_KIND,
    Code.NOT_FINITE: FindingCode.NOT_FINITE,
}

_DO_NOT_SAVE = "It cannot be saved: check the dose and the units with the prescriber."
_WITH_REASON = "Save it only with a reason."


@dataclass(frozen=True)
class Finding:
    level: Verdict  #: WARNING, STOP or BLOCKED
    code: FindingCode
    message: str  #: clinic language, numbers in the drug's display unit, no reference codes
    field: str  #: dose, previous_dose, concentration, hours_since_change (drug-prefixed in a mix)
    #: The source tags the finding rests on (``S41``, ``domain-rules §6``), for a "source" link.
    sources: tuple[str, ...] = ()
    #: It rests on a value domain.md marks unverified (the message says "unconfirmed").
    unconfirmed: bool = False


@dataclass(frozen=True)
class DoseCheck:
    verdict: Verdict
    findings: tuple[Finding, ...]
    #: The drugs (keys) checked as a start or restart: each needs the prescriber's signature
    #: before it is programmed, with or without a finding (domain-rules §7).
    starts: frozenset[str] = frozenset()

    @property
    def codes(self) -> tuple[FindingCode, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def blocked(self) -> bool:
        return self.verdict is Verdict.BLOCKED

    @property
    def needs_prescriber(self) -> bool:
        """A stop finding: only a prescriber, re-entering the dose blind, may save it."""
        return any(f.level is Verdict.STOP for f in self.findings)


@dataclass(frozen=True)
class StartContext:
    """What a start (a first dose of a drug, or a restart) is checked with."""

    #: ``None``: not recorded, which counts as naive (domain-rules §6).
    opioid_status: OpioidStatus | None = None
    screening_bolus: Quantity | None = None  #: the effective baclofen screening bolus (mass)
    screening_effect_hours: float | None = None  #: how long its effect lasted


def merge_findings(findings: Sequence[Finding], starts: frozenset[str] = frozenset()) -> DoseCheck:
    """One check of ``findings`` of a change that starts ``starts``: its verdict is the most
    severe of them (``ok`` for none)."""
    verdict = max((f.level for f in findings), key=lambda v: v.severity, default=Verdict.OK)
    return DoseCheck(verdict, tuple(findings), starts)


def limit_status_text(limit: Limit) -> str:
    """`` (unconfirmed)`` or `` (clinic policy)`` after a limit's value, or nothing."""
    if limit.unverified:
        return " (unconfirmed)"
    return " (clinic policy)" if limit.policy else ""


class _Check:
    """The findings of one drug; ``prefix`` names the drug's fields inside an admixture."""

    def __init__(self, drug: Drug, prefix: str) -> None:
        self.drug = drug
        self.prefix = prefix
        self.findings: list[Finding] = []

    def add(
        self,
        level: Verdict,
        code: FindingCode,
        field: str,
        message: str,
        *limits: Limit | None,
        sources: Sequence[str] = (),
    ) -> None:
        used = [limit for limit in limits if limit is not None]
        tags = tuple(dict.fromkeys([*sources, *(t for u in used for t in u.sources)]))
        self.findings.append(
            Finding(
                level, code, message, self.prefix + field, tags, any(u.unverified for u in used)
            )
        )

    def show(self, quantity: Quantity, kind: Kind = Kind.DOSE_RATE) -> str:
        return format_quantity(quantity, kind, self.drug.display_unit)

    def cited(self, limit: Limit, kind: Kind = Kind.DOSE_RATE) -> str:
        """A limit's value, followed by "(unconfirmed)" or "(clinic policy)" when it is."""
        return self.show(limit.value, kind) + limit_status_text(limit)

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
            stop = f" ({STOP_ORDER_IN_WINDOW})" if kind is Kind.DOSE_RATE else ""
            self.add(
                Verdict.BLOCKED,
                FindingCode.NOT_POSITIVE,
                field,
                f"{self.drug.name}: {name} must be more than zero, not "
                f"{self.show(value, kind)}{stop}",
            )
            return None
        return magnitude

    # -- the dose against the library's limits

    def dose_limits(self, dose: Quantity, value: float, individual_max: Quantity | None) -> None:
        drug, shown = self.drug, f"{self.drug.name} {self.show(dose)}"
        hard = drug.hard_max
        if individual_max is not None and (hard is None or hard.policy):
            # A clinic-policy maximum raised for this patient; label maxima cannot be raised.
            if exceeds(value, to_canonical(individual_max, Kind.DOSE_RATE)):
                self.add(
                    Verdict.BLOCKED,
                    FindingCode.ABOVE_INDIVIDUAL_MAX,
                    "dose",
                    f"{shown} is above this patient's individual maximum of "
                    f"{self.show(individual_max)}. {_DO_NOT_SAVE}",
                )
        elif hard is not None and exceeds(value, _canonical(hard)):
            self.add(
                Verdict.BLOCKED,
                FindingCode.ABOVE_HARD_MAX,
                "dose",
                f"{shown} is above the hard maximum of {self.cited(hard)}. {_DO_NOT_SAVE}",
                hard,
            )
        top, bottom = drug.typical_max, drug.typical_min
        typical = f"the typical range, {self.cited(bottom)} to {self.cited(top)}"
        if not exceeds(SLIP_FACTOR * _canonical(top), value):
            self.add(
                Verdict.BLOCKED,
                FindingCode.TEN_TIMES_TYPICAL,
                "dose",
                f"{shown} is 10 times or more the top of {typical}: check for a mg/mcg "
                f"mix-up. {_DO_NOT_SAVE}",
                top,
            )
        elif exceeds(value, _canonical(top)):
            self.add(
                Verdict.WARNING,
                FindingCode.ABOVE_TYPICAL,
                "dose",
                f"{shown} is above {typical}. {_WITH_REASON}",
                bottom,
                top,
            )
        soft = drug.soft_max
        if soft is not None and exceeds(value, _canonical(soft)):
            self.add(
                Verdict.WARNING,
                FindingCode.ABOVE_SOFT_MAX,
                "dose",
                f"{shown} is above the soft maximum of {self.cited(soft)}. {_WITH_REASON}",
                soft,
            )
        caution = drug.caution_above
        if caution is not None and exceeds(value, _canonical(caution)):
            self.add(
                Verdict.WARNING,
                FindingCode.ABOVE_LABEL_CAUTION,
                "dose",
                f"{shown} is above {self.cited(caution)}, where the label advises caution. "
                f"{_WITH_REASON}",
                caution,
            )
        if not exceeds(value, _canonical(bottom) / SLIP_FACTOR):
            self.add(
                Verdict.WARNING,
                FindingCode.TENTH_OF_TYPICAL,
                "dose",
                f"{shown} is 10 times or more below the bottom of {typical}: check for a "
                f"mg/mcg mix-up. {_WITH_REASON}",
                bottom,
            )
        elif exceeds(_canonical(bottom), value):
            self.add(
                Verdict.WARNING,
                FindingCode.BELOW_TYPICAL,
                "dose",
                f"{shown} is below {typical}. {_WITH_REASON}",
                bottom,
                top,
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
                f"{shown} is above the maximum concentration of {cited}. It cannot be saved: "
                "check the solution with the pharmacy.",
                maximum,
            )
        else:
            # An unconfirmed maximum is never a hard limit (domain.md marks it unverified).
            self.add(
                Verdict.WARNING,
                FindingCode.CONCENTRATION_ABOVE_UNVERIFIED_MAX,
                "concentration",
                f"{shown} is above the maximum concentration of {cited}; as the maximum is "
                f"unconfirmed this is a warning only. {_WITH_REASON}",
                maximum,
            )

    def naive_pump(self, concentration: Quantity, value: float) -> None:
        wanted = self.drug.naive_pump_concentration
        if wanted is None:
            return
        target = _canonical(wanted, Kind.CONCENTRATION)
        if exceeds(value, target) or exceeds(target, value):
            self.add(
                Verdict.WARNING,
                FindingCode.NAIVE_PUMP_SOLUTION,
                "concentration",
                f"This is the pump's first {self.drug.name.lower()} fill: the label asks for "
                f"the undiluted {self.cited(wanted, Kind.CONCENTRATION)} solution only, not "
                f"{self.show(concentration, Kind.CONCENTRATION)}. {_WITH_REASON}",
                wanted,
            )

    # -- the change from the current dose

    def tenfold(self, dose: Quantity, new: float, current_dose: Quantity, current: float) -> None:
        """A change to 5 times or more, or a fifth or less: a prescriber-only stop."""
        rule = self.drug.titration
        up = not exceeds(TENFOLD_FACTOR * current, new)
        down = not exceeds(new, current / TENFOLD_FACTOR)
        if (
            up
            and rule.kind is TitrationKind.STEP
            and rule.step is not None
            and not exceeds(new - current, _to(rule.step))
        ):
            return  # a ziconotide increase within the label's step [domain-rules §6]
        if not (up or down):
            return
        how = (
            f"{format_number(new / current, 1, grouped=True)} times"
            if up
            else f"1/{format_number(current / new, 1, grouped=True)} of"
        )
        self.add(
            Verdict.STOP,
            FindingCode.POSSIBLE_TENFOLD_ERROR,
            "dose",
            f"Possible tenfold error: {self.drug.name} {self.show(dose)} is {how} the current "
            f"dose of {self.show(current_dose)}. Only a prescriber may save it, typing the new "
            "dose again and choosing a reason.",
            sources=("domain-rules §6",),
        )

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
        if rule.kind is TitrationKind.PERCENT:
            limit = rule.percent_limit(origin=origin, pain=pain, child=child)
            increase = (new - previous) / previous
            if exceeds(increase, limit.percent / 100):
                self.add(
                    Verdict.WARNING,
                    FindingCode.TITRATION_ABOVE_PERCENT,
                    "dose",
                    f"{change} is an increase of +{format_number(increase * 100, 2)} %; the "
                    f"titration limit is +{format_number(limit.percent, 2)} % per 24 h "
                    f"({_which(limit.variant, limit.assumed)}). {_WITH_REASON}",
                    sources=rule.sources,
                )
        elif rule.step is not None and exceeds(new - previous, _to(rule.step)):
            self.add(
                Verdict.WARNING,
                FindingCode.TITRATION_ABOVE_STEP,
                "dose",
                f"{change} is an increase of {self.show(dose - previous_dose)}; the titration "
                f"limit is {self.show(rule.step)} a step. {_WITH_REASON}",
                sources=rule.sources,
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
                f"the limit is {rule.steps_per_week} a week. {_WITH_REASON}",
                sources=rule.sources,
            )
        if hours_since_change is not None and exceeds(
            MIN_HOURS_BETWEEN_INCREASES, hours_since_change
        ):
            self.add(
                Verdict.WARNING,
                FindingCode.INCREASE_WITHIN_24H,
                "dose",
                f"{change} comes {format_number(hours_since_change, 1)} h after the previous "
                f"change; increases should be at least 24 h apart. {_WITH_REASON}",
                sources=("domain-rules §6",),
            )

    def withdrawal(
        self,
        dose: Quantity,
        new: float,
        current_dose: Quantity,
        current: float,
        *,
        hours_since_change: float | None,
        origin: Origin | None,
        pain: Pain | None,
        child: bool,
    ) -> None:
        """A cut that risks withdrawal, for the drugs whose cut does (domain-rules §6)."""
        drug = self.drug
        if not drug.withdrawal_on_cut or not exceeds(current, new):
            return
        change = f"{drug.name} from {self.show(current_dose)} to {self.show(dose)}"
        advice = (
            "Watch for withdrawal signs (they are on the worksheet) and tell the patient "
            "what to look for. " + _WITH_REASON
        )
        sources = drug.sources.get("withdrawal_on_cut", ())
        if exceeds(WITHDRAWAL_FRACTION * current, new):
            self.add(
                Verdict.WARNING,
                FindingCode.WITHDRAWAL_CUT_BELOW_HALF,
                "dose",
                f"Withdrawal risk: {change} is a cut to less than half of the current dose. "
                f"{advice}",
                sources=sources,
            )
            return
        rule = drug.titration
        if (
            rule.kind is not TitrationKind.PERCENT
            or hours_since_change is None
            or not exceeds(MIN_HOURS_BETWEEN_INCREASES, hours_since_change)
        ):
            return
        limit = rule.percent_limit(origin=origin, pain=pain, child=child)
        cut = (current - new) / current
        if exceeds(cut, limit.percent / 100):
            self.add(
                Verdict.WARNING,
                FindingCode.WITHDRAWAL_FAST_CUT,
                "dose",
                f"Withdrawal risk: {change} is a cut of {format_number(cut * 100, 2)} % "
                f"{format_number(hours_since_change, 1)} h after the previous change, beyond "
                f"the titration limit of {format_number(limit.percent, 2)} % per 24 h "
                f"({_which(limit.variant, limit.assumed)}). {advice}",
                sources=(*sources, *rule.sources),
            )

    # -- a start (first dose or restart) against the start range

    def start(self, dose: Quantity, value: float, context: StartContext) -> None:
        rule, drug = self.drug.start, self.drug
        if rule is None:
            return  # no start range in the library (the clinic's setting; none shipped)
        shown = f"{drug.name} {self.show(dose)}"
        limits: list[tuple[Limit, str]] = []
        if rule.max_all is not None:
            limits.append((rule.max_all, "the start range"))
        if drug.opioid and (rule.max_naive is not None or rule.max_tolerant is not None):
            status = context.opioid_status
            if status is OpioidStatus.TOLERANT and rule.max_tolerant is not None:
                limits.append((rule.max_tolerant, "the start range for an opioid-tolerant patient"))
            elif status is not OpioidStatus.TOLERANT and rule.max_naive is not None:
                which = (
                    "the start range for an opioid-naive patient"
                    if status is not None
                    else "the start range for an opioid-naive patient (the opioid status "
                    "is not recorded, so naive is assumed)"
                )
                limits.append((rule.max_naive, which))
        for limit, which in limits:
            if exceeds(value, _canonical(limit)):
                self.add(
                    Verdict.WARNING,
                    FindingCode.START_ABOVE_RANGE,
                    "dose",
                    f"{shown} is a start above {which}, up to {self.cited(limit)}. {_WITH_REASON}",
                    limit,
                )
        if rule.from_screening_bolus:
            self.screening_start(dose, value, context)

    def screening_start(self, dose: Quantity, value: float, context: StartContext) -> None:
        rule, drug = self.drug.start, self.drug
        assert rule is not None and rule.long_effect_hours is not None
        bolus, hours = context.screening_bolus, context.screening_effect_hours
        if bolus is None:
            self.add(
                Verdict.WARNING,
                FindingCode.START_WITHOUT_SCREENING,
                "dose",
                f"A {drug.name.lower()} start follows the effective screening bolus, which was "
                "not given: enter it (and how long its effect lasted) to check the start dose. "
                f"{_WITH_REASON}",
                sources=rule.sources,
            )
            return
        # Twice the bolus a day, or once it when its effect lasted longer (the label's
        # exception); an unknown effect length takes the stricter, once [S54][S35].
        long_effect = hours is None or exceeds(hours, rule.long_effect_hours)
        factor = 1 if long_effect else 2
        most = Q_(factor * to_canonical(bolus, Kind.MASS), MCG_PER_DAY)
        if exceeds(value, to_canonical(most, Kind.DOSE_RATE)):
            if hours is None:
                why = "once the screening bolus a day, as how long its effect lasted was not given"
            elif long_effect:
                why = (
                    f"once the screening bolus a day, as its effect lasted more than "
                    f"{format_number(rule.long_effect_hours, 1)} h"
                )
            else:
                why = "twice the effective screening bolus a day"
            self.add(
                Verdict.WARNING,
                FindingCode.START_ABOVE_RANGE,
                "dose",
                f"{drug.name} {self.show(dose)} is a start above {self.show(most)}, "
                f"{why} ({self.show(bolus, Kind.MASS)}). {_WITH_REASON}",
                sources=rule.sources,
            )

    def hours(self, hours_since_change: float) -> float | None:
        """The hours since the previous change, or None after a blocked finding."""
        if isinstance(hours_since_change, bool) or not isinstance(hours_since_change, int | float):
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


def _which(variant: str, assumed: bool) -> str:
    which = "all patients" if variant == "all" else variant
    if assumed:
        which += ", the strictest row, as the patient's details were not given"
    return which


def _canonical(limit: Limit, kind: Kind = Kind.DOSE_RATE) -> float:
    return to_canonical(limit.value, kind)


def _to(quantity: Quantity) -> float:
    return to_canonical(quantity, Kind.DOSE_RATE)


# --------------------------------------------------------------------------------------------
# What the pump can deliver and hold, and the per-step slip


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _step_name(schedule: Schedule, start: int, length: int) -> str:
    if schedule.is_simple or len(schedule.steps) == 1:
        return "the daily volume"
    return f"the step {_clock(start)}-{_clock((start + length) % 1440)}"


def _pump_findings(
    pump: PumpModel,
    drug: Drug,
    concentration: Quantity,
    schedule: Schedule,
    patient_bolus: PatientBolus | None,
) -> list[Finding]:
    """What the pump cannot deliver or hold, and labelling (domain-rules §6). ``drug`` and
    ``concentration`` are the solution's first ingredient, in which the schedule's rates are
    written."""
    check = _Check(drug, "")
    pump_sources = dict(pump.sources)
    if pump.type is PumpType.CONSTANT_FLOW and (
        len(schedule.steps) > 1 or schedule.boluses or patient_bolus is not None
    ):
        check.add(
            Verdict.BLOCKED,
            FindingCode.SCHEDULE_NOT_OFFERED,
            "schedule",
            f"The {pump.name} runs at one fixed flow: it has no flex steps and no boluses. "
            "Prescribe one continuous dose (the concentration sets it).",
            sources=("domain.md §1.1",),
        )
    steps_max = pump.max_flex_steps
    if steps_max is not None and len(schedule.steps) > steps_max:
        check.add(
            Verdict.BLOCKED,
            FindingCode.TOO_MANY_FLEX_STEPS,
            "schedule",
            f"The schedule has {len(schedule.steps)} flex steps; the {pump.name} holds at most "
            f"{steps_max}. Merge steps before saving.",
            sources=pump_sources.get("max_flex_steps", ()),
        )
    c = to_canonical(concentration, Kind.CONCENTRATION)
    low = None if pump.min_flow is None else to_canonical(pump.min_flow, Kind.FLOW)
    high = None if pump.max_flow is None else to_canonical(pump.max_flow, Kind.FLOW)
    for start, length, rate in schedule.step_minutes():
        volume = rate / c  # mL/day of this step
        where = _step_name(schedule, start, length)
        if low is not None and exceeds(low, volume):
            fits = rate / low  # the strongest concentration that keeps the flow at the lowest
            check.add(
                Verdict.BLOCKED,
                FindingCode.BELOW_MIN_FLOW,
                "schedule",
                f"{drug.name} at {check.show(concentration, Kind.CONCENTRATION)}: "
                f"{where} needs {_volume_text(volume)}, below the "
                f"{pump.name}'s lowest programmable flow of "
                f"{format_quantity(Q_(low, ML_PER_DAY), Kind.FLOW)}: the pump cannot deliver "
                f"it. {_proposal(check, fits, weaker=True)}",
                sources=pump_sources.get("min_flow", ()),
            )
        if high is not None and exceeds(volume, high):
            fits = rate / high  # the weakest concentration that keeps the flow at the highest
            check.add(
                Verdict.BLOCKED,
                FindingCode.ABOVE_MAX_FLOW,
                "schedule",
                f"{drug.name} at {check.show(concentration, Kind.CONCENTRATION)}: "
                f"{where} needs {_volume_text(volume)}, above the "
                f"{pump.name}'s highest programmable flow of "
                f"{format_quantity(Q_(high, ML_PER_DAY), Kind.FLOW)}: the pump cannot deliver "
                f"it. {_proposal(check, fits, weaker=False)}",
                sources=pump_sources.get("max_flow", ()),
            )
    return check.findings


def _volume_text(ml_per_day: float) -> str:
    """A daily volume worked out from the dose, shown like a typed one; one too small for
    that (a dose far below what the pump delivers) to its first three significant digits, so
    that the finding is still made, never an error."""
    try:
        return format_quantity(Q_(ml_per_day, ML_PER_DAY), Kind.FLOW)
    except InputError:
        digits = 2 - math.floor(math.log10(ml_per_day))
        return f"{format_number(ml_per_day, max(2, digits), grouped=True)} mL/day"


def _proposal(check: _Check, bound: float, *, weaker: bool) -> str:
    """A stock strength of the drug that would fit (``bound`` mcg/mL: at most it when
    ``weaker``, at least it otherwise), with the bridge reminder."""
    drug = check.drug
    bound_text = check.show(Q_(bound, MCG_PER_ML), Kind.CONCENTRATION)
    stocks = [to_canonical(s, Kind.CONCENTRATION) for s in drug.stock_concentrations]
    maximum = drug.max_concentration
    ceiling = math.inf if maximum is None else _canonical(maximum, Kind.CONCENTRATION)
    if weaker:
        fitting = [s for s in stocks if not exceeds(s, bound)]
        stock = max(fitting, default=None)
        need = f"A solution of at most {bound_text} would fit"
    else:
        fitting = [s for s in stocks if not exceeds(bound, s) and not exceeds(s, ceiling)]
        stock = min(fitting, default=None)
        need = f"A solution of at least {bound_text} would fit"
    if stock is not None:
        need += f", for example the {check.show(Q_(stock, MCG_PER_ML), Kind.CONCENTRATION)} stock"
    elif not weaker and exceeds(bound, ceiling):
        need += ", which is above the maximum concentration: lower the dose"
    else:
        need += " (diluted from a stock)" if weaker else " (compounded)"
    return (
        f"{need}. A concentration change is made at a refill, with the bridge bolus "
        "while the old solution clears the pump and catheter."
    )


def _labelling_findings(
    pump: PumpModel,
    drug: Drug,
    concentration: Quantity | None,
    prefix: str,
) -> list[Finding]:
    """A drug, or a concentration, the pump model is not labelled for (when the catalog holds
    the model's labelling)."""
    if not pump.labelled_drugs:
        return []
    check = _Check(drug, prefix)
    sources = tuple(dict(pump.sources).get("labelled_drugs", ()))
    strengths = pump.labelled_drugs.get(drug.key)
    if strengths is None:
        check.add(
            Verdict.WARNING,
            FindingCode.NOT_LABELLED,
            "drug",
            f"The {pump.name} is not labelled for {drug.name.lower()}: the prescriber "
            f"decides and records why. {_WITH_REASON}",
            sources=sources,
        )
    elif strengths and concentration is not None:
        value = to_canonical(concentration, Kind.CONCENTRATION)
        if not any(
            not exceeds(value, to_canonical(s, Kind.CONCENTRATION))
            and not exceeds(to_canonical(s, Kind.CONCENTRATION), value)
            for s in strengths
        ):
            listed = ", ".join(check.show(s, Kind.CONCENTRATION) for s in strengths)
            check.add(
                Verdict.WARNING,
                FindingCode.NOT_LABELLED,
                "concentration",
                f"The {pump.name} is labelled for {drug.name.lower()} at {listed} only, "
                f"not {check.show(concentration, Kind.CONCENTRATION)}. {_WITH_REASON}",
                sources=sources,
            )
    return check.findings


def _rate_at(schedule: Schedule, minute: int) -> float:
    """The programmed rate (mcg/day) at a minute of the day."""
    rate = 0.0
    for start, length, value in schedule.step_minutes():
        if (minute - start) % 1440 < length:
            rate = value
    return rate


def step_slips(drug: Drug, schedule: Schedule, previous: Schedule) -> list[Finding]:
    """Each time of day whose rate becomes 5 times or more, or a fifth or less, of the rate
    programmed for that time before, and each scheduled bolus at the same time likewise
    ("possible per-hour / per-day slip"), even when the daily total is within limits. Both
    schedules' rates are doses of ``drug``. Two simple continuous schedules have none: their
    one rate is the daily dose, which the tenfold stop already compares."""
    check = _Check(drug, "")
    if schedule.is_simple and previous.is_simple:
        return []
    cuts = sorted({m for s in (schedule, previous) for m, _, _ in s.step_minutes()})
    for index, start in enumerate(cuts):
        end = cuts[(index + 1) % len(cuts)]
        new, old = _rate_at(schedule, start), _rate_at(previous, start)
        if _slipped(new, old):
            check.add(
                Verdict.WARNING,
                FindingCode.STEP_SLIP,
                "schedule",
                f"Possible per-hour / per-day slip: from {_clock(start)} to {_clock(end)} "
                f"{drug.name.lower()} runs at {check.show(Q_(new, MCG_PER_DAY))}, against "
                f"{check.show(Q_(old, MCG_PER_DAY))} for that time before. Check each step's "
                f"rate and unit. {_WITH_REASON}",
                sources=("domain-rules §6",),
            )
    before = {b.at: to_canonical(b.amount, Kind.MASS) for b in previous.boluses}
    for bolus in schedule.boluses:
        old_amount = before.get(bolus.at)
        new_amount = to_canonical(bolus.amount, Kind.MASS)
        if old_amount is not None and _slipped(new_amount, old_amount):
            check.add(
                Verdict.WARNING,
                FindingCode.STEP_SLIP,
                "schedule",
                f"Possible slip: the {bolus.at:%H:%M} bolus of {drug.name.lower()} is "
                f"{check.show(bolus.amount, Kind.MASS)}, against "
                f"{check.show(Q_(old_amount, MCG), Kind.MASS)} before. {_WITH_REASON}",
                sources=("domain-rules §6",),
            )
    return check.findings


def _slipped(new: float, old: float) -> bool:
    if old <= 0 or new <= 0:
        return False
    return not exceeds(STEP_SLIP_FACTOR * old, new) or not exceeds(new, old / STEP_SLIP_FACTOR)


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
    start: StartContext | None,
    individual_max: Quantity | None,
    naive_pump: bool,
) -> list[Finding]:
    check = _Check(drug, prefix)
    new = check.read(dose, Kind.DOSE_RATE, "dose")
    if new is not None:
        check.dose_limits(dose, new, individual_max)
        if start is not None:
            check.start(dose, new, start)
    previous = None
    if previous_dose is not None and start is None:  # a start has no current dose
        previous = check.read(previous_dose, Kind.DOSE_RATE, "previous_dose")
    hours = None if hours_since_change is None else check.hours(hours_since_change)
    if new is not None and previous is not None and previous_dose is not None:
        check.tenfold(dose, new, previous_dose, previous)
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
        check.withdrawal(
            dose,
            new,
            previous_dose,
            previous,
            hours_since_change=hours,
            origin=origin,
            pain=pain,
            child=child,
        )
    if concentration is not None:
        value = check.read(concentration, Kind.CONCENTRATION, "concentration")
        if value is not None:
            check.concentration_limit(concentration, value)
            if naive_pump:
                check.naive_pump(concentration, value)
    return check.findings


def _program_checks(
    pump: PumpModel | None,
    drug: Drug,
    concentration: Quantity | None,
    schedule: Schedule | None,
    previous_schedule: Schedule | None,
    patient_bolus: PatientBolus | None,
) -> list[Finding]:
    """The checks of the whole program: what the pump can deliver and hold, and the per-step
    slip. Skipped where their inputs are not given or not usable (the dose checks have said
    so)."""
    findings: list[Finding] = []
    if schedule is None:
        return findings
    usable = concentration is not None and _usable(concentration, Kind.CONCENTRATION)
    if pump is not None and usable:
        assert concentration is not None
        findings += _pump_findings(pump, drug, concentration, schedule, patient_bolus)
    if previous_schedule is not None:
        findings += step_slips(drug, schedule, previous_schedule)
    return findings


def _usable(value: object, kind: Kind) -> bool:
    try:
        require(value, kind, "value")
    except InputError:
        return False
    return to_canonical(value, kind) > 0


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
    start: StartContext | None = None,
    individual_max: Quantity | None = None,
    pump: PumpModel | None = None,
    naive_pump: bool = False,
    schedule: Schedule | None = None,
    previous_schedule: Schedule | None = None,
    patient_bolus: PatientBolus | None = None,
) -> DoseCheck:
    """Check a new daily dose of ``drug`` (and its concentration) against the library.

    ``previous_dose`` is the current daily dose (before this change) and
    ``hours_since_change`` the hours since the previous change; together they drive the
    tenfold stop, the titration and the withdrawal checks. ``increases_past_7_days`` counts
    the increases already made in the 7 days before this one (for a rule with a weekly limit
    of steps). ``origin``, ``pain`` and ``child`` pick the titration row; missing, the
    strictest row applies. ``start`` (a first dose or a restart: no current dose is compared)
    checks the start range. ``individual_max`` replaces a clinic-policy hard maximum for this
    patient. ``pump`` with ``schedule`` (rates of this drug) and ``concentration`` checks what
    the pump can deliver and hold; ``previous_schedule`` the per-step slip; ``naive_pump``
    that the pump's first fill of the drug is the label's solution.
    """
    _check_context(origin, pain, increases_past_7_days)
    findings = _check_one(
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
        start=start,
        individual_max=individual_max,
        naive_pump=naive_pump,
    )
    if pump is not None:
        findings += _labelling_findings(pump, drug, concentration, "")
    findings += _program_checks(
        pump, drug, concentration, schedule, previous_schedule, patient_bolus
    )
    return merge_findings(findings, frozenset() if start is None else frozenset({drug.key}))


def check_admixture(
    ingredients: Sequence[tuple[Drug, Quantity, Quantity]],
    *,
    previous_doses: Mapping[str, Quantity] | None = None,
    hours_since_change: float | None = None,
    origin: Origin | None = None,
    pain: Pain | None = None,
    child: bool = False,
    increases_past_7_days: Mapping[str, int] | None = None,
    starts: Mapping[str, StartContext] | None = None,
    individual_maxima: Mapping[str, Quantity] | None = None,
    pump: PumpModel | None = None,
    naive_pump_drugs: frozenset[str] = frozenset(),
    schedule: Schedule | None = None,
    previous_schedule: Schedule | None = None,
    patient_bolus: PatientBolus | None = None,
) -> DoseCheck:
    """Check every drug of one solution: ``(drug, daily dose, concentration)`` each, the dose
    being ``Vd x C`` for the solution's one daily volume (``pumpmgr.dosing`` computes it).

    ``previous_doses`` and ``increases_past_7_days`` are keyed by drug key; a drug missing
    from them has no titration check, and entries for drugs not in the solution are ignored
    (a drug may just have been taken out of it). ``starts`` names the drugs this prescription
    starts (or restarts), ``individual_maxima`` this patient's raised maxima, and
    ``naive_pump_drugs`` the drugs this pump has never held; all keyed by drug key. The
    program checks (pump, per-step slip) read ``schedule`` as rates of the first drug. Fields
    are named ``<drug key>.dose`` and so on. The same drug twice is blocked.
    """
    if not ingredients:
        raise InputError(
            "ingredients: an admixture needs at least one drug",
            code=Code.NO_VALUE,
            field="ingredients",
        )
    previous_doses = previous_doses or {}
    increases = increases_past_7_days or {}
    starts = starts or {}
    maxima = individual_maxima or {}
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
            start=starts.get(drug.key),
            individual_max=maxima.get(drug.key),
            naive_pump=drug.key in naive_pump_drugs,
        )
        if pump is not None:
            findings += _labelling_findings(pump, drug, concentration, f"{drug.key}.")
    first, _, first_concentration = ingredients[0]
    findings += _program_checks(
        pump, first, first_concentration, schedule, previous_schedule, patient_bolus
    )
    return merge_findings(findings, frozenset(starts.keys() & seen))


# --------------------------------------------------------------------------------------------
# What a check needs to know of the patient and of the pump's earlier prescriptions

#: Titration rules for children are stricter; anyone under 18 counts as a child here.
CHILD_AGE_YEARS = 18
_ORIGIN_OF: dict[str, Origin] = {"spasticity_spinal": "spinal", "spasticity_cerebral": "cerebral"}
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
    return PatientContext(
        _ORIGIN_OF.get(indication), _PAIN_OF.get(indication), age_days < CHILD_AGE_YEARS * 365.25
    )


@dataclass(frozen=True)
class ChangeContext:
    """What the titration rules compare a new prescription with (keyword arguments of
    :func:`check_admixture`)."""

    previous_doses: dict[str, Quantity] = field(default_factory=dict)
    hours_since_change: float | None = None
    increases_past_7_days: dict[str, int] = field(default_factory=dict)


def change_context(
    versions: Sequence[PrescriptionRecord], effective_at: datetime, library: DrugLibrary
) -> ChangeContext:
    """The doses of the version in force, the hours since it took effect, and each drug's
    increases in the 7 days before ``effective_at`` (for a rule with a weekly number of steps:
    ziconotide, 3 a week). ``versions``: the pump's prescriptions, oldest first."""
    if not versions:
        return ChangeContext()

    def doses_of(version: PrescriptionRecord) -> dict[str, Quantity]:
        return admixture_doses(
            version.program.max_daily_volume(),
            [(library.drug(i.drug).key, i.concentration) for i in version.ingredients],
        )

    last = versions[-1]
    hours = max(0.0, (effective_at - last.effective_at).total_seconds() / 3600)
    week_ago = effective_at - timedelta(days=7)
    increases: dict[str, int] = {}
    for older, newer in itertools.pairwise(versions):
        if not week_ago < newer.effective_at <= effective_at:
            continue
        before, after = doses_of(older), doses_of(newer)
        for key, dose in after.items():
            if key in before and exceeds(
                to_canonical(dose, Kind.DOSE_RATE), to_canonical(before[key], Kind.DOSE_RATE)
            ):
                increases[key] = increases.get(key, 0) + 1
    return ChangeContext(doses_of(last), hours, increases)
