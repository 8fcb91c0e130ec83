"""units: what clinicians type is read exactly as domain-rules section 1 says."""

import math

import pytest

from pumpmgr.errors import Code, InputError
from pumpmgr.units import (
    Q_,
    Kind,
    exceeds,
    from_canonical,
    parse,
    parse_any,
    require,
    require_positive,
    to_canonical,
)


@pytest.mark.parametrize(
    ("text", "kind", "canonical"),
    [
        ("400 mcg/day", Kind.DOSE_RATE, 400),
        ("0.4 mg/d", Kind.DOSE_RATE, 400),
        ("16.7 mcg/h", Kind.DOSE_RATE, 400.8),
        ("400 µg/day", Kind.DOSE_RATE, 400),  # micro sign U+00B5
        ("400 μg/day", Kind.DOSE_RATE, 400),  # Greek mu U+03BC
        ("400 ug/day", Kind.DOSE_RATE, 400),
        ("400 microgram/day", Kind.DOSE_RATE, 400),
        ("1 mcg/min", Kind.DOSE_RATE, 1440),
        ("10 mcg/hr", Kind.DOSE_RATE, 240),
        ("400 mcg per day", Kind.DOSE_RATE, 400),
        ("2000 mcg/mL", Kind.CONCENTRATION, 2000),
        ("2 mg/mL", Kind.CONCENTRATION, 2000),
        ("2 mg/ml", Kind.CONCENTRATION, 2000),
        ("20 mL", Kind.VOLUME, 20),
        ("20 ml", Kind.VOLUME, 20),
        ("20 cc", Kind.VOLUME, 20),
        (".5 mL", Kind.VOLUME, 0.5),
        ("20mL", Kind.VOLUME, 20),
        ("0.2 mL/day", Kind.FLOW, 0.2),
        ("50 mcg", Kind.MASS, 50),
        ("0.1 mg", Kind.MASS, 100),
        ("80 cm", Kind.LENGTH, 80),
        ("0.0026 mL/cm", Kind.VOLUME_PER_LENGTH, 0.0026),
        ("28 h", Kind.DURATION, 28 / 24),
        ("1e3 mcg/day", Kind.DOSE_RATE, 1000),
    ],
)
def test_accepted_spellings(text: str, kind: Kind, canonical: float) -> None:
    assert to_canonical(parse(text, kind, "field"), kind) == pytest.approx(canonical)


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("400", Kind.DOSE_RATE, Code.NO_UNIT),
        ("400 mg", Kind.DOSE_RATE, Code.WRONG_KIND),
        ("400 mcg/day", Kind.CONCENTRATION, Code.WRONG_KIND),
        ("2 mg/mL", Kind.DOSE_RATE, Code.WRONG_KIND),
        ("", Kind.VOLUME, Code.NO_VALUE),
        ("   ", Kind.VOLUME, Code.NO_VALUE),
        ("0,5 mL", Kind.VOLUME, Code.DECIMAL_COMMA),
        ("1,000 mcg/day", Kind.DOSE_RATE, Code.DECIMAL_COMMA),
        ("five mL", Kind.VOLUME, Code.BAD_NUMBER),
        ("½ mL", Kind.VOLUME, Code.BAD_NUMBER),
        ("20 kg", Kind.MASS, Code.UNKNOWN_UNIT),
        ("1e999 mL", Kind.VOLUME, Code.NOT_FINITE),
        ("20 mL mL", Kind.VOLUME, Code.UNKNOWN_UNIT),
    ],
)
def test_refusals_name_the_field_and_the_kind(text: str, kind: Kind, code: Code) -> None:
    with pytest.raises(InputError) as caught:
        parse(text, kind, "daily dose")
    assert caught.value.code is code
    assert caught.value.field == "daily dose"
    assert caught.value.message.startswith("daily dose:")
    assert kind.spec.example in caught.value.message or code is Code.UNKNOWN_UNIT


def test_megagram_is_never_read() -> None:
    """'Mg' is pint's megagram; the whitelist reads it as mg, as every clinician means."""
    assert to_canonical(parse("400 Mg/day", Kind.DOSE_RATE, "dose"), Kind.DOSE_RATE) == 400_000


def test_wrong_kind_message_quotes_what_was_typed() -> None:
    with pytest.raises(InputError, match="'400 mg' is not a dose rate"):
        parse("400 mg", Kind.DOSE_RATE, "dose")


def test_require_refuses_bare_numbers_and_nan() -> None:
    with pytest.raises(InputError) as bare:
        require(400, Kind.DOSE_RATE, "dose")
    assert bare.value.code is Code.NO_UNIT
    with pytest.raises(InputError) as nan:
        require(Q_(math.nan, "mL"), Kind.VOLUME, "volume")
    assert nan.value.code is Code.NOT_FINITE
    with pytest.raises(InputError) as zero:
        require_positive(Q_(0, "mL"), Kind.VOLUME, "volume")
    assert zero.value.code is Code.NOT_POSITIVE


@pytest.mark.parametrize("kind", list(Kind))
def test_canonical_round_trip(kind: Kind) -> None:
    quantity = from_canonical(123.456, kind)
    assert to_canonical(quantity, kind) == 123.456


def test_parse_any_finds_the_kind() -> None:
    quantity, kind = parse_any("2 mg/mL", "QUANTITY")
    assert kind is Kind.CONCENTRATION and to_canonical(quantity, kind) == 2000


def test_exceeds_treats_float_noise_as_equal() -> None:
    assert not exceeds(0.30000000000000004, 0.3)
    assert exceeds(0.31, 0.3)
    assert not exceeds(0.29, 0.3)
