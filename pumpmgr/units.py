"""The one pint registry and its units built once, the quantity kinds pumpmgr knows, and the parser
for what clinicians type.

Pure layer: stdlib and pint only (and platformdirs, which pint itself uses, to name the folder of
pint's definitions cache: see :func:`make_registry`).

Magnitudes are floats. ``tests/test_magnitude_decision.py`` shows why: pint with
``non_int_type=Decimal`` is no more exact for our conversions (1 h is 1/24 day, which Decimal
cannot hold either), it prints ``2.000E+3`` after a mg to mcg conversion, and a Decimal meeting a
float raises ``TypeError`` mid-calculation. A float's 15 significant digits are far beyond any
clinical number.

Rounding policy:
- Calculations keep the exact float result; nothing is rounded inside ``pumpmgr``'s formulas.
- Display rounds once, in :mod:`pumpmgr.formatting` (half up; volumes to 0.01 mL, more digits
  when needed for 3 significant figures; doses and concentrations to 4 significant figures).
- Dates are rounded down: a forecast instant becomes the calendar date it falls on.
- A comparison against a limit treats values within a relative 1e-9 as equal (:func:`exceeds`),
  so that a titration of exactly +30 % is not refused by float noise.
- Stored values are canonical magnitudes (:func:`to_canonical`): mcg, mL, mcg/day, mcg/mL,
  mL/day, cm, mL/cm, days, with the unit named by the column.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TypeAlias

import pint
from platformdirs import user_cache_dir

from pumpmgr.errors import Code, InputError


def registry_cache_folder() -> Path:
    """Where pint keeps its parsed definitions for this pint and Python (pumpmgr's own cache
    folder: the pickles of one pint version are never read by another)."""
    return (
        Path(user_cache_dir("pumpmgr", appauthor=False))
        / f"pint-{pint.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}"
    )


def make_registry(cache_folder: Path | None) -> Any:
    """A unit registry with pint's default definitions.

    Parsing pint's definitions file is most of the half second a registry takes to build, so
    with ``cache_folder`` pint keeps the parsed definitions there (its ``cache_folder`` option)
    and later starts read them back in a tenth of the time. A cache that cannot be made, written
    or read (a read-only folder, a file cut short by a crash or by another pumpmgr writing it
    at the same moment) is deleted and the registry is built from the definitions file, as
    without a cache: the cache only ever makes start-up quicker, never different.
    """
    if cache_folder is not None:
        try:
            return pint.UnitRegistry(cache_folder=cache_folder)
        except Exception:  # any failure of the cache: build without it
            shutil.rmtree(cache_folder, ignore_errors=True)
    return pint.UnitRegistry()


ureg: Any = make_registry(registry_cache_folder())
Q_ = ureg.Quantity
Quantity: TypeAlias = Any  # pint's Quantity type is generic and untyped for mypy
Unit: TypeAlias = Any  # as is its Unit type


@functools.cache
def as_unit(text: str) -> Unit:
    """The pint unit ``text`` names (``"mcg/day"``, a catalog's ``"mg"``), one object per text.

    For unit text from data or code, never from a person (:func:`parse_unit` reads that). pint
    caches a parsed text only when it is a single unit name, so ``Q_(x, "mcg/day")`` would parse
    "mcg/day" at every call; a ``Unit`` passed instead is used as it is.
    """
    return ureg.Unit(text)


# The units pumpmgr's code names, built once (see :func:`as_unit`).
MCG = as_unit("mcg")
ML = as_unit("mL")
DAY = as_unit("day")
HOUR = as_unit("hour")
MINUTE = as_unit("minute")
CM = as_unit("cm")
MCG_PER_DAY = as_unit("mcg/day")
MCG_PER_HOUR = as_unit("mcg/hour")
MCG_PER_ML = as_unit("mcg/mL")
ML_PER_DAY = as_unit("mL/day")
ML_PER_CM = as_unit("mL/cm")

#: Two values within this relative distance are the same value (see the rounding policy).
RELATIVE_TOLERANCE = 1e-9
#: No clinical value in canonical units (mcg, mL, mcg/day, mcg/mL, mL/day, cm, mL/cm, day) lies
#: outside this range, except zero; refusing beyond it keeps every product and quotient finite.
PLAUSIBLE_MAGNITUDES = (1e-6, 1e9)


@dataclass(frozen=True)
class KindSpec:
    name: str  #: what a nurse calls it, used in messages
    dimensionality: str
    canonical: str  #: the unit stored magnitudes are in; text pint parses
    example: str

    @property
    def canonical_unit(self) -> Unit:
        """:attr:`canonical` as a pint unit."""
        return as_unit(self.canonical)


class Kind(Enum):
    """The kinds of quantity that cross pumpmgr's boundaries."""

    MASS = KindSpec("an amount of drug (mass)", "[mass]", "mcg", "100 mcg")
    VOLUME = KindSpec("a volume", "[volume]", "mL", "20 mL")
    DOSE_RATE = KindSpec("a dose rate (mass per time)", "[mass]/[time]", "mcg/day", "400 mcg/day")
    CONCENTRATION = KindSpec(
        "a concentration (mass per volume)", "[mass]/[volume]", "mcg/mL", "2000 mcg/mL"
    )
    FLOW = KindSpec("a volume rate (volume per time)", "[volume]/[time]", "mL/day", "0.2 mL/day")
    LENGTH = KindSpec("a length", "[length]", "cm", "80 cm")
    VOLUME_PER_LENGTH = KindSpec(
        "a volume per length", "[volume]/[length]", "mL/cm", "0.0026 mL/cm"
    )
    DURATION = KindSpec("a duration", "[time]", "day", "28 h")

    @property
    def spec(self) -> KindSpec:
        value: KindSpec = self.value
        return value


# The spellings clinicians type (domain-rules section 1), looked up case-insensitively. Only
# these are accepted: a whitelist keeps pint's wider vocabulary (Mg is megagram) out of forms.
_UNIT_WORDS: dict[str, str] = {
    **dict.fromkeys(["mcg", "µg", "μg", "ug", "microgram", "micrograms"], "microgram"),
    **dict.fromkeys(["mg", "milligram", "milligrams"], "milligram"),
    **dict.fromkeys(
        ["ml", "cc", "milliliter", "milliliters", "millilitre", "millilitres"], "milliliter"
    ),
    **dict.fromkeys(["µl", "μl", "ul", "microliter", "microliters"], "microliter"),
    **dict.fromkeys(["d", "day", "days", "24h", "24 h"], "day"),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours"], "hour"),
    **dict.fromkeys(["min", "minute", "minutes"], "minute"),
    **dict.fromkeys(["cm", "centimeter", "centimeters", "centimetre", "centimetres"], "centimeter"),
    **dict.fromkeys(["mm", "millimeter", "millimeters"], "millimeter"),
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*(?P<number>{_NUMBER})\s*(?P<unit>.*?)\s*$")


def _spelled(quantity: Quantity) -> str:
    """A quantity in words pint writes out in full (never the ambiguous µg)."""
    return f"{quantity.magnitude:g} {quantity.units}"


def _describe(kind: Kind) -> str:
    return f"{kind.spec.name}, for example '{kind.spec.example}'"


def parse_unit(text: str, kind: Kind, field: str) -> Any:
    """Read unit text such as ``mcg/day`` or ``mg per d`` into a pint unit."""
    parts = re.split(r"\s*/\s*|\s+per\s+", text.strip(), flags=re.IGNORECASE)
    words = []
    for part in parts:
        word = _UNIT_WORDS.get(part.strip().lower())
        if word is None:
            raise InputError(
                f"{field}: '{text}' is not a unit pumpmgr knows; it wants {_describe(kind)}",
                code=Code.UNKNOWN_UNIT,
                field=field,
            )
        words.append(word)
    return ureg.Unit(" / ".join(words))


def parse(text: str, kind: Kind, field: str) -> Quantity:
    """Read what a clinician typed (``400 mcg/day``, ``0.4 mg/d``, ``20 ml``) as a quantity.

    Refuses, naming ``field`` and the kind wanted: empty text, a number without a unit, a
    decimal comma, an unknown unit and a quantity of the wrong kind.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(
            f"{field}: no value given; it wants {_describe(kind)}", code=Code.NO_VALUE, field=field
        )
    if "," in text:
        raise InputError(
            f"{field}: '{text}' has a comma; write decimals with a point and no thousands "
            f"separator, for example '{kind.spec.example}'",
            code=Code.DECIMAL_COMMA,
            field=field,
        )
    match = _QUANTITY_RE.match(text)
    if match is None:
        raise InputError(
            f"{field}: '{text}' does not start with a number; it wants {_describe(kind)}",
            code=Code.BAD_NUMBER,
            field=field,
        )
    if not match["unit"]:
        raise InputError(
            f"{field}: '{text}' has no unit; it wants {_describe(kind)}",
            code=Code.NO_UNIT,
            field=field,
        )
    magnitude = float(match["number"])
    quantity = Q_(magnitude, parse_unit(match["unit"], kind, field))
    return require(quantity, kind, field, shown=text.strip())


def require(quantity: Quantity, kind: Kind, field: str, shown: str | None = None) -> Quantity:
    """Check that ``quantity`` is a finite pint quantity of ``kind``; return it unchanged.

    ``shown`` is the text the person typed, quoted back in the message.
    """
    if not isinstance(quantity, ureg.Quantity):
        raise InputError(
            f"{field}: {quantity!r} has no unit; it wants {_describe(kind)}",
            code=Code.NO_UNIT,
            field=field,
        )
    if not quantity.check(kind.spec.dimensionality):
        raise InputError(
            f"{field}: '{shown or _spelled(quantity)}' is not {kind.spec.name}; "
            f"it wants {_describe(kind)}",
            code=Code.WRONG_KIND,
            field=field,
        )
    if not math.isfinite(quantity.magnitude):
        raise InputError(
            f"{field}: the value is not a finite number; it wants {_describe(kind)}",
            code=Code.NOT_FINITE,
            field=field,
        )
    canonical = abs(float(quantity.to(kind.spec.canonical_unit).magnitude))
    low, high = PLAUSIBLE_MAGNITUDES
    if canonical != 0 and not low <= canonical <= high:
        raise InputError(
            f"{field}: '{shown or _spelled(quantity)}' is far outside any clinical value; "
            f"check the number and its unit, for example '{kind.spec.example}'",
            code=Code.OUT_OF_RANGE,
            field=field,
        )
    return quantity


def require_positive(quantity: Quantity, kind: Kind, field: str) -> Quantity:
    """As :func:`require`, and refuse zero or a negative value."""
    require(quantity, kind, field)
    if quantity.magnitude <= 0:
        raise InputError(
            f"{field}: must be more than zero; it wants {_describe(kind)}",
            code=Code.NOT_POSITIVE,
            field=field,
        )
    return quantity


def require_not_negative(quantity: Quantity, kind: Kind, field: str) -> Quantity:
    """As :func:`require`, and refuse a negative value (zero is allowed)."""
    require(quantity, kind, field)
    if quantity.magnitude < 0:
        raise InputError(
            f"{field}: must not be negative; it wants {_describe(kind)}",
            code=Code.NEGATIVE,
            field=field,
        )
    return quantity


def to_canonical(quantity: Quantity, kind: Kind) -> float:
    """The magnitude of ``quantity`` in its kind's canonical unit (what the database stores)."""
    return float(require(quantity, kind, kind.spec.name).to(kind.spec.canonical_unit).magnitude)


def from_canonical(magnitude: float, kind: Kind) -> Quantity:
    """The quantity a canonical magnitude stands for."""
    return Q_(float(magnitude), kind.spec.canonical_unit)


def exceeds(value: float, limit: float) -> bool:
    """``value > limit``, where values within :data:`RELATIVE_TOLERANCE` count as equal."""
    return value > limit and not math.isclose(value, limit, rel_tol=RELATIVE_TOLERANCE)


def kind_of(quantity: Quantity) -> Kind | None:
    """The kind a quantity is, or None when pumpmgr has no such kind."""
    for kind in Kind:
        if quantity.check(kind.spec.dimensionality):
            return kind
    return None


def parse_any(text: str, field: str) -> tuple[Quantity, Kind]:
    """Read a quantity of any kind pumpmgr knows (for conversions); return it with its kind."""
    wanted = (
        "a dose, dose rate, concentration, volume, volume rate, length or duration; "
        "for example '400 mcg/day'"
    )
    for kind in Kind:
        try:
            return parse(text, kind, field), kind
        except InputError as error:
            if error.code is Code.UNKNOWN_UNIT:
                raise InputError(
                    f"{field}: '{text}' has a unit pumpmgr does not know; it wants {wanted}",
                    code=Code.UNKNOWN_UNIT,
                    field=field,
                ) from None
            if error.code is not Code.WRONG_KIND:
                raise
    raise InputError(f"{field}: '{text}' is not {wanted}", code=Code.WRONG_KIND, field=field)
