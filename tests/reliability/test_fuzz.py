"""Harness 4, first half: Hypothesis on every calculator and every parser (issue 6; T4).

Each target gets 500 examples in the suite and 10,000 with ``--full``, drawn from values a
clinic and a careless caller can produce: numbers with the right unit, the wrong unit or none,
zero, negatives, NaN, infinities, the tiny and the huge, naive and aware instants, and random or
mutated text for the parsers. The contract checked on every example:

- the call returns, or raises a :class:`PumpMgrError` (the domain's own errors) and nothing else;
- a refusal carries a catalogued :class:`Code` and names the field (``field`` is set and the
  message mentions it);
- no output holds NaN or an infinity, however deep (dataclasses, quantities, mappings).

``tests/test_properties.py`` keeps the metamorphic properties (unit invariance, monotonicity);
this harness is about robustness. The desktop forms' fields get their random strings with the UI.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpmgr import auth, catalogs, compounding, deadspace, dosing, formatting, refill, units
from pumpmgr.dose_checks import check_admixture, check_dose
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.forecast import (
    forecast,
    parse_expiry,
    parse_open_days,
    refill_due_date,
    worst_case_accuracy,
)
from pumpmgr.resources_locator import catalog_path
from pumpmgr.schedule import (
    PatientBolus,
    Program,
    Schedule,
    ScheduledBolus,
    Step,
    parse_scheduled_bolus,
    parse_step,
    parse_time,
    schedule_from_text,
)
from pumpmgr.units import Q_, Kind

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

SUITE_EXAMPLES = 500
FULL_EXAMPLES = 10_000
LIBRARY = catalogs.default_catalogs().drugs

# --- strategies -----------------------------------------------------------------------------

magnitudes = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e4),
    st.floats(min_value=1e-3, max_value=1e4),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 5e-324, 2.0, 20.0, 400.0, 2000.0]),
    st.integers(min_value=-(10**6), max_value=10**6),
)
UNITS = [
    "mcg",
    "mg",
    "mL",
    "microliter",
    "mcg/day",
    "mg/day",
    "mcg/hour",
    "mg/minute",
    "mcg/mL",
    "mg/mL",
    "mL/day",
    "mL/hour",
    "cm",
    "mm",
    "mL/cm",
    "day",
    "hour",
    "minute",
    "dimensionless",
    "kg",
    "L/s",
]


def quantities(*preferred: str) -> st.SearchStrategy[Any]:
    """Mostly the wanted unit, sometimes another one or none at all."""
    units_drawn = st.one_of(st.sampled_from(list(preferred)), st.sampled_from(UNITS))
    return st.one_of(st.builds(Q_, magnitudes, units_drawn), magnitudes)


zones = st.sampled_from([None, UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")])
instants = st.builds(
    lambda moment, zone: moment if zone is None else moment.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    zones,
)
times_text = st.one_of(st.text(max_size=8), st.from_regex(r"\A\d{1,3}:\d{1,3}\Z"))
unit_words = st.sampled_from(
    [
        "mcg",
        "µg",
        "ug",
        "mg",
        "Mg",
        "g",
        "mL",
        "ml",
        "cc",
        "L",
        "d",
        "day",
        "h",
        "hr",
        "min",
        "s",
        "cm",
        "mm",
        "/",
        " per ",
        "%",
        "½",
        "e3",
        "1e3",
        ",",
        ".",
        " ",
        "-",
        "+",
        "nan",
        "inf",
        "0x10",
    ]
)
typed = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda n, parts: f"{n}{''.join(parts)}",
        st.one_of(st.integers(), st.floats()),
        st.lists(unit_words, max_size=5),
    ),
    st.builds(
        lambda a, b: a + b,
        st.text(alphabet="0123456789.,eE+- ", max_size=12),
        st.lists(unit_words, max_size=4).map("".join),
    ),
    st.just("x" * 10_240),  # a 10 kB paste
)
accuracies = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=0, max_value=100)
)
day_counts = st.one_of(
    st.integers(min_value=-5, max_value=400), st.booleans(), st.floats(allow_nan=True)
)


@st.composite
def programs(draw: st.DrawFn) -> Any:
    steps = draw(
        st.lists(
            st.builds(
                Step,
                st.times().map(lambda t: t.replace(second=0, microsecond=0)),
                quantities("mcg/day", "mg/day", "mcg/hour"),
            ),
            min_size=0,
            max_size=15,
        )
    )
    boluses = draw(
        st.lists(
            st.builds(
                ScheduledBolus,
                st.times().map(lambda t: t.replace(second=0, microsecond=0)),
                quantities("mcg", "mg"),
            ),
            max_size=3,
        )
    )
    concentration = draw(quantities("mcg/mL", "mg/mL"))
    bolus = draw(
        st.one_of(
            st.none(),
            st.builds(
                PatientBolus,
                quantities("mcg", "mg"),
                st.integers(min_value=-2, max_value=120),
                st.one_of(st.none(), quantities("hour")),
            ),
        )
    )
    return Program(concentration, Schedule.flex(steps, boluses), bolus)


# --- the contract ---------------------------------------------------------------------------


def non_finite(value: Any, depth: int = 0) -> str | None:
    """The path to a NaN or infinity inside ``value``, or None."""
    if depth > 6:
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else repr(value)
    if isinstance(value, units.ureg.Quantity):
        return non_finite(float(value.magnitude), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            found = non_finite(getattr(value, item.name), depth + 1)
            if found:
                return f"{item.name}={found}"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite(item, depth + 1)
            if found:
                return f"{key}={found}"
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = non_finite(item, depth + 1)
            if found:
                return f"[{index}]={found}"
    return None


def obey(call: Callable[[], Any]) -> None:
    """Run one example and check the contract (raises AssertionError when broken)."""
    try:
        result = call()
    except PumpMgrError as refusal:
        assert isinstance(refusal.code, Code), f"uncatalogued code {refusal.code!r}"
        assert refusal.field, f"refusal without a field: {refusal.message}"

        def squeezed(text: str) -> str:
            return "".join(c for c in text.lower() if c.isalnum())

        assert squeezed(refusal.field.split(".")[-1]) in squeezed(refusal.message), (
            f"message does not name {refusal.field!r}: {refusal.message}"
        )
        return
    found = non_finite(result)
    assert found is None, f"non-finite output {found}"


# --- the targets: name -> (strategy of argument tuples, call) -------------------------------


def _forecast(
    fill: Any,
    at: datetime,
    program: Any,
    alarm: Any,
    accuracy: float,
    buffer: Any,
    stability: Any,
    capacity: Any,
) -> Any:
    return forecast(
        fill_volume=fill,
        filled_at=at,
        program=program(),
        alarm_volume=alarm,
        accuracy_percent=accuracy,
        buffer_days=buffer,
        stability_days=stability,
        reservoir_capacity=capacity,
    )


def lazy(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Callable[[], Any]]:
    """Draw a program lazily so that its refusal happens inside the checked call."""
    return st.builds(lambda data: lambda: data.draw(strategy), st.data())


TARGETS: dict[str, tuple[st.SearchStrategy[Any], Callable[..., Any]]] = {
    "parse": (
        st.tuples(typed, st.sampled_from(list(Kind))),
        lambda text, kind: units.parse(text, kind, "dose"),
    ),
    "parse_any": (st.tuples(typed), lambda text: units.parse_any(text, "value")),
    "parse_unit": (
        st.tuples(typed, st.sampled_from(list(Kind))),
        lambda text, kind: units.parse_unit(text, kind, "unit"),
    ),
    "parse_time": (st.tuples(times_text), lambda text: parse_time(text, "time")),
    "parse_step": (
        st.tuples(st.one_of(typed, st.builds(lambda a, b: f"{a} {b}", times_text, typed))),
        lambda text: parse_step(text),
    ),
    "parse_scheduled_bolus": (
        st.tuples(st.one_of(typed, st.builds(lambda a, b: f"{a} {b}", times_text, typed))),
        lambda text: parse_scheduled_bolus(text),
    ),
    "schedule_from_text": (
        st.tuples(
            st.lists(st.builds(lambda a, b: f"{a} {b}", times_text, typed), max_size=15),
            st.lists(typed, max_size=3),
        ),
        lambda steps, boluses: schedule_from_text(steps, boluses),
    ),
    "parse_open_days": (
        st.tuples(
            st.one_of(
                st.text(max_size=30),
                st.lists(
                    st.sampled_from(
                        ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "-", ",", "x", "monday"]
                    ),
                    max_size=6,
                ).map("".join),
            )
        ),
        lambda text: parse_open_days(text),
    ),
    "normalize_username": (st.tuples(typed), lambda text: auth.normalize_username(text)),
    "check_password_rules": (
        st.tuples(typed, typed),
        lambda password, name: auth.check_password_rules(password, name),
    ),
    "load_drugs": (
        st.tuples(
            st.one_of(
                st.text(max_size=200),
                st.builds(
                    lambda base, at, junk: base[:at] + junk + base[at + len(junk) :],
                    st.just(catalog_path(catalogs.DRUGS_FILE).read_text(encoding="utf-8")),
                    st.integers(min_value=0, max_value=9000),
                    st.text(max_size=12),
                ),
            )
        ),
        lambda text: catalogs.load_drugs(text),
    ),
    "forecast": (
        st.tuples(
            quantities("mL"),
            instants,
            lazy(programs()),
            quantities("mL"),
            accuracies,
            day_counts,
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), quantities("mL")),
        ),
        _forecast,
    ),
    "refill_due_date": (
        st.tuples(
            instants,
            st.integers(min_value=-(10**6), max_value=10**6),
            day_counts,
            st.one_of(st.none(), st.floats(min_value=-10, max_value=4000)),
            st.frozensets(st.integers(min_value=-1, max_value=8)),
        ),
        lambda at, seconds, buffer, stability, days: refill_due_date(
            filled_at=at,
            alarm_at_with_boluses=at + timedelta(seconds=seconds),
            buffer_days=buffer,
            stability_days=stability,
            open_days=days,
        ),
    ),
    "expected_residual": (
        st.tuples(
            quantities("mL"),
            instants,
            instants,
            lazy(programs()),
            st.one_of(st.none(), quantities("mL")),
        ),
        lambda fill, start, at, program, extra: refill.expected_residual(
            fill_volume=fill, filled_at=start, at=at, programs=program(), extra_volume=extra
        ),
    ),
    "worst_case_residual": (
        st.tuples(
            quantities("mL"),
            instants,
            instants,
            lazy(programs()),
            accuracies,
            st.one_of(st.none(), quantities("mL")),
        ),
        lambda fill, start, at, program, accuracy, extra: refill.worst_case_residual(
            fill_volume=fill,
            filled_at=start,
            at=at,
            programs=program(),
            accuracy_percent=accuracy,
            extra_volume=extra,
        ),
    ),
    "measured_error_percent": (
        st.tuples(quantities("mL"), quantities("mL"), quantities("mL")),
        lambda fill, exp, act: refill.measured_error_percent(
            fill_volume=fill, expected=exp, actual=act
        ),
    ),
    # stored volumes: finite mL as the refills table holds them
    "worst_case_error_percent": (
        st.tuples(*[st.floats(-1e6, 1e6)] * 3),
        refill.worst_case_error_percent,
    ),
    "restart_reasons": (
        st.tuples(
            st.one_of(
                st.none(),
                st.text(max_size=20),
                st.sampled_from(["ok", "investigate", "found_empty", "first_fill"]),
            ),
            st.booleans(),
            st.booleans(),
        ),
        lambda verdict, log, withdrawal: refill.restart_reasons(
            verdict, pump_log_empty_or_stopped=log, withdrawal_signs=withdrawal
        ),
    ),
    "parse_expiry": (
        st.tuples(
            st.one_of(
                typed,
                st.dates().map(str),
                st.builds(
                    lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 10000), st.integers(-1, 14)
                ),
            )
        ),
        lambda text: parse_expiry(text, "expiry"),
    ),
    "worst_case_accuracy": (
        st.tuples(
            st.one_of(st.none(), accuracies),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.booleans(),
        ),
        lambda labelled, measured, constant: worst_case_accuracy(
            labelled, measured, constant_flow=constant
        ),
    ),
    "compare_programmer": (
        st.tuples(
            quantities("mL"),
            st.dates(),
            quantities("mL/day"),
            quantities("mL"),
            st.dates(),
            quantities("mL/day"),
        ),
        lambda reservoir, alarm, flow, ours, our_alarm, our_flow: refill.compare_programmer(
            reservoir=reservoir,
            alarm_date=alarm,
            daily_volume=flow,
            our_reservoir=ours,
            our_alarm_date=our_alarm,
            our_daily_volume=our_flow,
        ),
    ),
    "discrepancy": (
        st.tuples(
            quantities("mL"),
            quantities("mL"),
            quantities("mL"),
            quantities("mL"),
            st.one_of(st.none(), accuracies),
        ),
        lambda fill, exp, act, cap, acc: refill.discrepancy(
            fill_volume=fill, expected=exp, actual=act, reservoir_capacity=cap, accuracy_percent=acc
        ),
    ),
    "plan_refill": (
        st.tuples(
            quantities("mL"),
            quantities("mL"),
            quantities("mL"),
            st.one_of(st.none(), quantities("mL")),
            st.one_of(st.none(), quantities("mL")),
        ),
        lambda cap, asp, alarm, fill, prepared: refill.plan_refill(
            reservoir_capacity=cap,
            aspirated=asp,
            alarm_volume=alarm,
            fill_volume=fill,
            prepared_volume=prepared,
        ),
    ),
    "measured_flow": (
        st.tuples(
            quantities("mL"),
            quantities("mL"),
            instants,
            instants,
            st.one_of(st.none(), quantities("mL/day")),
        ),
        lambda fill, asp, start, at, nominal: refill.measured_flow(
            fill_volume=fill, aspirated=asp, filled_at=start, at=at, nominal_flow=nominal
        ),
    ),
    "compound": (
        st.tuples(
            quantities("mL/day"),
            quantities("mcg/day", "mg/day"),
            quantities("mcg/mL", "mg/mL"),
            quantities("mL"),
            st.one_of(st.none(), quantities("mL")),
        ),
        lambda flow, dose, stock, fill, extra: compounding.compound(
            flow=flow, dose=dose, stock=stock, fill_volume=fill, extra_volume=extra
        ),
    ),
    "bridge": (
        st.tuples(
            quantities("mcg/day"), quantities("mcg/mL"), quantities("mg/mL"), quantities("mL")
        ),
        lambda dose, old, new, space: deadspace.bridge(
            dose=dose, old_concentration=old, new_concentration=new, dead_space=space
        ),
    ),
    "catheter_volume": (
        st.tuples(st.lists(st.tuples(quantities("cm"), quantities("mL/cm")), max_size=4)),
        lambda parts: deadspace.catheter_volume(
            [deadspace.CatheterSegment(a, b) for a, b in parts]
        ),
    ),
    "implanted_length": (
        st.tuples(quantities("cm"), quantities("cm", "mm")),
        lambda supplied, trimmed: deadspace.implanted_length(supplied, trimmed),
    ),
    "priming_volume": (
        st.tuples(quantities("mL"), st.one_of(st.none(), quantities("mL"))),
        lambda catheter, path: deadspace.priming_volume(catheter, path),
    ),
    "daily_volume": (
        st.tuples(quantities("mcg/day", "mg/hour"), quantities("mcg/mL", "mg/mL")),
        lambda dose, conc: dosing.daily_volume(dose, conc),
    ),
    "admixture_doses": (
        st.tuples(quantities("mL/day"), st.lists(quantities("mcg/mL"), max_size=3)),
        lambda flow, strengths: dosing.admixture_doses(
            flow, [(f"drug{i}", c) for i, c in enumerate(strengths)]
        ),
    ),
    "baclofen_start_dose": (
        st.tuples(
            quantities("mcg", "mg"),
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 48)),
        ),
        lambda bolus, hours: dosing.baclofen_start_dose(bolus, hours),
    ),
    "check_dose": (
        st.tuples(
            st.sampled_from(list(LIBRARY)),
            quantities("mcg/day", "mg/day"),
            st.one_of(st.none(), quantities("mcg/day", "mg/day")),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), quantities("mcg/mL", "mg/mL")),
            st.sampled_from([None, "spinal", "cerebral", "x"]),
            st.sampled_from([None, "cancer", "non-cancer"]),
            st.booleans(),
            st.one_of(st.none(), st.integers(-2, 10)),
        ),
        lambda drug, dose, previous, hours, conc, origin, pain, child, inc: check_dose(
            drug,
            dose,
            previous_dose=previous,
            hours_since_change=hours,
            concentration=conc,
            origin=origin,
            pain=pain,
            child=child,
            increases_past_7_days=inc,
        ),
    ),
    "check_admixture": (
        st.tuples(
            st.lists(
                st.tuples(
                    st.sampled_from(list(LIBRARY)),
                    quantities("mcg/day", "mg/day"),
                    quantities("mcg/mL", "mg/mL"),
                ),
                max_size=3,
            ),
            st.one_of(st.none(), st.floats(allow_nan=True)),
        ),
        lambda parts, hours: check_admixture(parts, hours_since_change=hours),
    ),
    "format_quantity": (
        st.tuples(
            quantities("mcg/day", "mL", "mcg/mL", "day"),
            st.sampled_from(list(Kind)),
            st.sampled_from(["mcg", "mg"]),
        ),
        lambda quantity, kind, mass: formatting.format_quantity(quantity, kind, mass),
    ),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_only_domain_errors_and_finite_outputs(
    name: str,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    strategy, call = TARGETS[name]
    examples = FULL_EXAMPLES if full_size else SUITE_EXAMPLES
    seen = {"n": 0}
    started = time.perf_counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=not full_size,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def fuzz(arguments: tuple[Any, ...]) -> None:
        seen["n"] += 1
        obey(lambda: call(*arguments))

    failures = 0
    try:
        fuzz()
    except AssertionError:
        failures = 1
        raise
    finally:
        harness_report(f"4 fuzz {name}", seen["n"], failures, time.perf_counter() - started)


def test_every_public_calculator_and_parser_is_fuzzed() -> None:
    """A new public function in a calculation or parsing module needs a target here."""
    modules = [units, refill, compounding, deadspace, dosing]
    covered = set(TARGETS) | {
        # covered through the targets that build them or call them
        "require",
        "require_positive",
        "require_not_negative",
        "to_canonical",
        "from_canonical",
        "exceeds",
        "kind_of",
        "discrepancy_threshold",
        "required_concentration",
        "dose_for_volume",
        "since_fill",  # the boundary both residual targets call with the same arguments
        # not calculations: where pint's parsed definitions are cached, and the registry
        "registry_cache_folder",
        "make_registry",
        # unit text written in the code and the catalogs, never typed (tests/test_units.py)
        "as_unit",
    }
    for module in modules:
        for name, value in vars(module).items():
            if (
                callable(value)
                and not name.startswith("_")
                and not isinstance(value, type)
                and getattr(value, "__module__", None) == module.__name__
            ):
                assert name in covered, f"{module.__name__}.{name} has no fuzz target"
