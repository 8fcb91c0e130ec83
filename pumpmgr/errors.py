"""The domain's own errors (pure layer: stdlib only).

Every refusal carries a catalogued :class:`Code` and, where a person typed the value, the field
it came from, so that a form can put the message beside the right box and the command line can
name the option.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Machine-readable reasons for a refusal."""

    NO_VALUE = "input.empty"
    BAD_NUMBER = "input.bad_number"
    DECIMAL_COMMA = "input.decimal_comma"
    NO_UNIT = "unit.missing"
    UNKNOWN_UNIT = "unit.unknown"
    WRONG_KIND = "unit.wrong_kind"
    NOT_FINITE = "value.not_finite"
    NOT_POSITIVE = "value.not_positive"
    NEGATIVE = "value.negative"
    OUT_OF_RANGE = "value.out_of_range"
    BAD_DATE = "input.bad_date"
    BAD_TIME = "input.bad_time"
    SCHEDULE = "schedule.invalid"
    FILL_NOT_ABOVE_ALARM = "fill.not_above_alarm"
    OVER_CAPACITY = "fill.over_capacity"
    CONCENTRATION_ABOVE_STOCK = "compounding.above_stock"
    TIME_ORDER = "time.order"
    UNKNOWN_DRUG = "catalog.unknown_drug"
    UNKNOWN_PUMP = "catalog.unknown_pump"
    UNKNOWN_CATHETER = "catalog.unknown_catheter"
    CATALOG = "catalog.invalid"


class PumpMgrError(Exception):
    """Base of every error pumpmgr raises on purpose; the message is fit to show a nurse."""

    def __init__(self, message: str, *, code: Code, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class InputError(PumpMgrError):
    """What was typed cannot be read as the quantity, date or time the field wants."""


class ImpossibleInput(PumpMgrError):
    """The values are readable but clinically or physically impossible together."""


class CatalogError(PumpMgrError):
    """A catalog file is malformed, or names an entry that does not exist."""
