"""Human text for quantities, dates and percentages, by ISMP's rules; shared by screens and sheets.

Pure layer: stdlib and pint only. The one place where a magnitude is rounded for people:
- mass is written ``mcg`` (never µg or ug, which read as mg) and volume ``mL`` (never cc);
- a leading zero always (``0.5 mL``), a trailing zero never (``5 mg``);
- volumes to 0.01 mL, with more decimals when needed to show 3 significant figures (a 0.048
  mL/day rate stays 0.048); a volume above 0 that rounds to 0 is ``< 0.01 mL``, never ``0 mL``
  (a tiny ziconotide bolus is still drawn); doses and concentrations to 4 significant figures
  (at least the 3 domain-rules section 1 asks for); rounding half up;
- numbers of 1,000 or more with a thousands separator on display (``1,320 mcg/day``, ISMP);
  text a user may edit and send back (:func:`editable_text`) has none, since input refuses
  separators (domain-rules section 1).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal

from pumpmgr import __version__
from pumpmgr.errors import Code, InputError
from pumpmgr.units import DAY, Kind, Quantity, as_unit, require

MassUnit = Literal["mcg", "mg"]

_DISPLAY_UNITS: dict[Kind, str] = {
    Kind.MASS: "{m}",
    Kind.VOLUME: "mL",
    Kind.DOSE_RATE: "{m}/day",
    Kind.CONCENTRATION: "{m}/mL",
    Kind.FLOW: "mL/day",
    Kind.LENGTH: "cm",
    Kind.VOLUME_PER_LENGTH: "mL/cm",
    Kind.DURATION: "day",
}

#: Kinds shown to a fixed 0.01 (or 3 significant figures when smaller).
_VOLUME_LIKE = {Kind.VOLUME, Kind.FLOW, Kind.VOLUME_PER_LENGTH, Kind.LENGTH, Kind.DURATION}


def program_version() -> str:
    """The program and its version, as --version, the About box and every sheet's footer
    print it: ``pumpmgr 0.1.0``."""
    return f"pumpmgr {__version__}"


def display_unit(kind: Kind, mass_unit: MassUnit = "mcg") -> str:
    """The unit text a kind is shown in: ``mcg/day``, ``mg/mL``, ``mL``... (pint parses it)."""
    return _DISPLAY_UNITS[kind].format(m=mass_unit)


def typed_mass_unit(*quantities: Quantity | None) -> MassUnit:
    """The unit to show doses in when no drug is named: mg only when every quantity the
    clinician typed is in mg, else mcg (``2 mg/mL`` with ``400 mcg/day`` shows ``400
    mcg/day``, never ``0.4 mg/day``). With a drug, its display unit wins (domain-rules §1)."""
    in_mg = [
        ("milligram" in str(q.units))
        for q in quantities
        if q is not None and "gram" in str(q.units)
    ]
    return "mg" if in_mg and all(in_mg) else "mcg"


#: domain-rules §1: volumes to 0.01 mL (what a syringe reads)
_VOLUME_DECIMALS = 2


def _decimals_for(value: float, kind: Kind) -> int:
    if kind is Kind.VOLUME:
        return _VOLUME_DECIMALS
    if value == 0:
        return 0
    if kind in _VOLUME_LIKE:
        return _three_figures(value)
    return max(0, 3 - math.floor(math.log10(abs(value))))


def _three_figures(value: float) -> int:
    """0.01, or the decimals of 3 significant figures below 1 (0.048 keeps its 8)."""
    magnitude = math.floor(math.log10(abs(value)))  # 0 for 1..9.99, -2 for 0.01..0.099
    return max(2, 2 - magnitude)


def format_number(value: float, decimals: int, *, grouped: bool = False) -> str:
    """``value`` rounded half up to at most ``decimals`` places: leading zero, no trailing zero;
    ``grouped`` puts a thousands separator in numbers of 1,000 or more (for display only)."""
    if not math.isfinite(value):
        raise ValueError(f"cannot show {value!r} as a number")
    # Precision for every float (up to 309 integer digits): the default 28 digits made
    # quantize() raise InvalidOperation for values from about 1e27 on (reliability harness 4).
    exact = Decimal(repr(value)).quantize(
        Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=Context(prec=400)
    )
    text = f"{exact:,f}" if grouped else f"{exact:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def magnitude_text(
    quantity: Quantity, kind: Kind, mass_unit: MassUnit = "mcg", *, grouped: bool = True
) -> str:
    """The rounded number of ``quantity`` in its display unit, without the unit (with a
    thousands separator unless ``grouped`` is false)."""
    value = float(
        require(quantity, kind, kind.spec.name).to(as_unit(display_unit(kind, mass_unit))).m
    )
    return format_number(value, _decimals_for(value, kind), grouped=grouped)


def format_quantity(quantity: Quantity, kind: Kind, mass_unit: MassUnit = "mcg") -> str:
    """``quantity`` as a nurse should read it, for example ``0.2 mL/day``, ``400 mcg/day`` or
    ``1,320 mcg/day``; a volume above 0 is never shown as ``0 mL`` (``< 0.01 mL``)."""
    unit = display_unit(kind, mass_unit)
    if kind is Kind.DURATION:
        return format_duration(quantity)
    text = magnitude_text(quantity, kind, mass_unit)
    if kind is Kind.VOLUME and text == "0" and float(quantity.to(as_unit(unit)).m) > 0:
        # "0 mL" would say nothing is drawn; a negative one (a difference) stays "0 mL"
        return f"< 0.01 {unit}"  # the smallest volume shown, _VOLUME_DECIMALS
    return f"{text} {unit}"


def format_product(count: int, each: Quantity) -> str:
    """``count × each = total`` in mL, the total to 0.01 mL and ``each`` to at least 3
    significant figures, with as many more decimals as it takes for the product of the numbers
    shown to round to the total shown (``5 × 0.004 mL = 0.02 mL``, never ``5 × 0 mL``); a total
    under 0.01 mL has the decimals of ``each`` (``1 × 0.004 mL = 0.004 mL``)."""
    each_ml = float(require(each, Kind.VOLUME, "volume").to(as_unit("mL")).m)
    total = format_number(count * each_ml, _VOLUME_DECIMALS)
    decimals = _three_figures(each_ml) if each_ml else _VOLUME_DECIMALS
    shown = format_number(each_ml, decimals)
    while format_number(count * float(shown), _VOLUME_DECIMALS) != total and decimals < 12:
        decimals += 1
        shown = format_number(each_ml, decimals)
    if total == "0" and count * each_ml > 0:  # under 0.01 mL in all: as many decimals as each
        total = format_number(count * each_ml, decimals)
    return f"{count} × {shown} mL = {total} mL"


def editable_text(quantity: Quantity, kind: Kind, mass_unit: MassUnit = "mcg") -> str:
    """``quantity`` as text a user may edit and send back to :func:`pumpmgr.units.parse`:
    rounded like :func:`format_quantity` but without a thousands separator (``1320 mcg/day``),
    since input refuses separators."""
    if kind is Kind.DURATION:
        # hours below two days, as format_duration shows them: a 3 h lockout as "0.13 day"
        # would read back as 3.12 h
        days = float(quantity.to(DAY).m)
        if abs(days) < 2:
            return f"{format_number(days * 24, 2)} h"
        return f"{format_number(days, 2)} day"
    number = magnitude_text(quantity, kind, mass_unit, grouped=False)
    return f"{number} {display_unit(kind, mass_unit)}"


def format_duration(quantity: Quantity) -> str:
    """A duration in hours below two days (``28 h``), otherwise in days (``66.06 days``)."""
    days = float(require(quantity, Kind.DURATION, "duration").to(DAY).m)
    if abs(days) < 2:
        return f"{format_number(days * 24, 1)} h"
    text = format_number(days, 2)
    return f"{text} day" if text == "1" else f"{text} days"


def days_left_text(days_left: float) -> str:
    """Drug left before the low-reservoir alarm, never more than there is: whole days
    (``10 days``, not ``10.46 days``: a list is read at a glance), whole hours below two days
    (``21 h``), ``under 1 h``, or ``alarm passed``. A plain float (the due list asks this of
    5,000 rows)."""
    if not math.isfinite(days_left):
        raise ValueError(f"days left: {days_left!r} is not a number of days")
    if days_left <= 0:
        return "alarm passed"
    if days_left < 2:
        hours = math.floor(days_left * 24)
        return f"{hours} h" if hours >= 1 else "under 1 h"
    return f"{math.floor(days_left)} days"


def format_percent(fraction: float, *, signed: bool = True) -> str:
    """A fraction as a percentage to one decimal: ``+11.7 %``."""
    text = format_number(fraction * 100, 1)
    if signed and fraction > 0 and text != "0":
        text = "+" + text
    return f"{text} %"


def format_date(day: date | datetime) -> str:
    """A calendar date with its weekday and a spelled month, read the same everywhere."""
    if isinstance(day, datetime):
        day = day.date()
    return f"{day:%a} {day.day} {day:%b %Y}"


def format_datetime(moment: datetime) -> str:
    return f"{format_date(moment)} {moment:%H:%M}"


# ------------------------------------------------------------------ dates as typed

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SHOWN_DATE = re.compile(r"(?:([a-z]+),?\s+)?(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")
_SHOWN_MONTH = re.compile(r"([a-z]+)\.?\s+(\d{4})")
_DATE_TIME = re.compile(r"(.+?)[ T](\d{1,2}):(\d{2})")


def date_example(with_time: bool = False) -> str:
    """How a date (and time) may be typed, for messages and tooltips."""
    shown = datetime(2027, 4, 12, 14, 30)
    return (
        f"{format_datetime(shown)} or 2027-04-12 14:30"
        if with_time
        else f"{format_date(shown)} or 2027-04-12"
    )


def read_date(text: str, field: str, *, month_is_last_day: bool = False) -> date:
    """The date ``text`` names, typed as the clinic shows dates (``Mon 12 Apr 2027``, the
    weekday optional, the month's name short or long, any case) or in ISO 8601
    (``2027-04-12``). Anything else, an impossible date, or a weekday that is not the date's,
    raises :class:`InputError` naming ``field``: nothing is guessed (no two-digit years, no
    numeric day/month order). With ``month_is_last_day`` (an expiry), a month and year
    (``Apr 2027``, ``2027-04``) is the last day of that month (USP <7>)."""
    typed = " ".join(text.split())
    if not typed:
        raise InputError(
            f"{field}: no date typed; type it as {date_example()}", code=Code.NO_VALUE, field=field
        )
    month = (
        _ISO_MONTH.fullmatch(typed) or _SHOWN_MONTH.fullmatch(typed.casefold())
        if month_is_last_day
        else None
    )
    if month is not None:
        year, number = (
            (int(month[1]), int(month[2]))
            if month[1].isdigit()
            else (int(month[2]), _MONTHS.get(month[1], 0))
        )
        if 1 <= number <= 12:
            following = date(year + number // 12, number % 12 + 1, 1)
            return following - timedelta(days=1)
    iso = _ISO_DATE.fullmatch(typed)
    shown = None if iso else _SHOWN_DATE.fullmatch(typed.casefold())
    if iso is None and (
        shown is None
        or shown[3] not in _MONTHS
        or (shown[1] is not None and shown[1] not in _WEEKDAYS)
    ):
        raise InputError(
            f"{field}: '{typed}' is not a date; type it as {date_example()}",
            code=Code.BAD_DATE,
            field=field,
        )
    try:
        if iso is not None:
            day = date(int(iso[1]), int(iso[2]), int(iso[3]))
        else:
            assert shown is not None
            day = date(int(shown[4]), _MONTHS[shown[3]], int(shown[2]))
    except ValueError:
        raise InputError(
            f"{field}: '{typed}' is not a day of the calendar", code=Code.BAD_DATE, field=field
        ) from None
    if shown is not None and shown[1] is not None and _WEEKDAYS[shown[1]] != day.weekday():
        raise InputError(
            f"{field}: {day.day} {day:%b %Y} is a {day:%A}, not a "
            f"{date(2024, 1, 1 + _WEEKDAYS[shown[1]]):%A}: check the date",
            code=Code.BAD_DATE,
            field=field,
        )
    return day


def read_clock_time(text: str, field: str) -> time:
    """A 24-hour time of day typed ``HH:MM`` (a booked visit's time); anything else raises
    :class:`InputError` naming ``field``."""
    typed = text.strip()
    try:
        value = time.fromisoformat(typed) if len(typed) == 5 else None
    except ValueError:
        value = None
    if value is None:
        raise InputError(
            f"{field}: '{typed}' is not a time of day; write HH:MM, for example 09:30",
            code=Code.BAD_TIME,
            field=field,
        )
    return value


def read_datetime(text: str, field: str) -> datetime:
    """A date as :func:`read_date` reads it and a 24-hour time (``HH:MM``) after it, a space
    or ISO's ``T`` between them; a naive datetime (the caller knows the time zone)."""
    typed = " ".join(text.split())
    found = _DATE_TIME.fullmatch(typed)
    if found is None:
        if not typed:
            read_date(typed, field)  # the same message for an empty box
        raise InputError(
            f"{field}: '{typed}' is not a date and a 24-hour time; type it as {date_example(True)}",
            code=Code.BAD_TIME,
            field=field,
        )
    day = read_date(found[1], field)
    if int(found[2]) > 23 or int(found[3]) > 59:
        raise InputError(
            f"{field}: '{found[2]}:{found[3]}' is not a time of day (24-hour clock)",
            code=Code.BAD_TIME,
            field=field,
        )
    return datetime.combine(day, time(int(found[2]), int(found[3])))
