"""units: what clinicians type is read exactly as domain-rules section 1 says."""

import math
import sys
from pathlib import Path
from typing import Any

import pint
import pytest

from pumpmgr import units
from pumpmgr.errors import Code, InputError
from pumpmgr.formatting import format_quantity
from pumpmgr.units import (
    MCG_PER_DAY,
    Q_,
    Kind,
    as_unit,
    exceeds,
    from_canonical,
    make_registry,
    parse,
    parse_any,
    registry_cache_folder,
    require,
    require_positive,
    to_canonical,
    ureg,
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


# ------------------------------------------------------------------ units built once

_PREBUILT = {
    "MCG": "mcg",
    "ML": "mL",
    "DAY": "day",
    "HOUR": "hour",
    "MINUTE": "minute",
    "CM": "cm",
    "MCG_PER_DAY": "mcg/day",
    "MCG_PER_HOUR": "mcg/hour",
    "MCG_PER_ML": "mcg/mL",
    "ML_PER_DAY": "mL/day",
    "ML_PER_CM": "mL/cm",
}


def test_the_registry_parser_is_pints_own() -> None:
    """pumpmgr builds its units once instead of patching pint's private parser (issue 14)."""
    assert "_parse_units_as_container" not in vars(ureg)
    assert ureg._parse_units_as_container.__func__ is type(ureg)._parse_units_as_container


@pytest.mark.parametrize(("name", "text"), _PREBUILT.items())
def test_each_prebuilt_unit_is_its_text(name: str, text: str) -> None:
    prebuilt = getattr(units, name)
    assert isinstance(prebuilt, ureg.Unit)
    assert prebuilt == ureg.parse_units(text)
    assert as_unit(text) is prebuilt  # one object per text


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_canonical_unit_is_its_text(kind: Kind) -> None:
    assert kind.spec.canonical_unit == ureg.parse_units(kind.spec.canonical)
    assert kind.spec.canonical_unit is as_unit(kind.spec.canonical)


def test_quantities_of_prebuilt_units_parse_no_unit_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Making, converting, storing and showing a quantity of a prebuilt unit parses no unit
    text (what the retired patch of pint's parser made cheap)."""
    format_quantity(Q_(400, MCG_PER_DAY), Kind.DOSE_RATE, "mg")  # the display unit, once
    parsed: list[str] = []
    parser = ureg._parse_units_as_container

    def counted(text: str, *args: Any) -> Any:
        parsed.append(text)
        return parser(text, *args)

    monkeypatch.setattr(ureg, "_parse_units_as_container", counted)
    for kind in Kind:
        assert to_canonical(from_canonical(2.5, kind), kind) == 2.5
    quantity = Q_(400, MCG_PER_DAY)
    assert float(quantity.to(as_unit("mg/day")).m) == pytest.approx(0.4)
    assert format_quantity(quantity, Kind.DOSE_RATE, "mg") == "0.4 mg/day"
    assert parsed == []


# ------------------------------------------------------------------ the registry's disk cache


def _registry_facts(registry: Any, names: list[str]) -> list[tuple[Any, ...]]:
    """What a registry makes of each unit name: its factor to the root units, those units and
    its dimensionality (or the error it raises)."""
    facts: list[tuple[Any, ...]] = []
    for name in names:
        try:
            factor, root = registry.get_root_units(name)
            facts.append((name, factor, str(root), str(registry.Unit(name).dimensionality)))
        except Exception as error:  # the same refusal is part of the same behaviour
            facts.append((name, type(error).__name__))
    return facts


def test_a_registry_read_from_its_cache_knows_every_unit_as_a_fresh_one(tmp_path: Path) -> None:
    """pint's parsed definitions are cached on disk (start-up speed): the registry read back
    from the cache converts every unit of pint's definitions as one built from the file."""
    folder = tmp_path / "pint"
    make_registry(folder)  # writes the cache
    assert list(folder.glob("*.pickle"))
    cached, fresh = make_registry(folder), pint.UnitRegistry()
    names = sorted(fresh._units)
    assert _registry_facts(cached, names) == _registry_facts(fresh, names)
    assert sorted(cached._prefixes) == sorted(fresh._prefixes)
    assert sorted(cached._dimensions) == sorted(fresh._dimensions)
    for magnitude, unit, kind in (
        (0.4, "milligram / day", Kind.DOSE_RATE),
        (2, "milligram / milliliter", Kind.CONCENTRATION),
        (28, "hour", Kind.DURATION),
        (0.0026, "milliliter / centimeter", Kind.VOLUME_PER_LENGTH),
    ):
        assert (
            cached.Quantity(magnitude, unit).to(kind.spec.canonical).magnitude
            == fresh.Quantity(magnitude, unit).to(kind.spec.canonical).magnitude
        )


def test_the_program_registry_reads_every_spelling() -> None:
    """The program's registry (made at import, through the cache) reads every unit spelling
    pumpmgr accepts."""
    from pumpmgr.units import _UNIT_WORDS

    kinds = {
        "microgram": Kind.MASS,
        "milligram": Kind.MASS,
        "milliliter": Kind.VOLUME,
        "microliter": Kind.VOLUME,
        "day": Kind.DURATION,
        "hour": Kind.DURATION,
        "minute": Kind.DURATION,
        "centimeter": Kind.LENGTH,
        "millimeter": Kind.LENGTH,
    }
    for spelling, word in _UNIT_WORDS.items():
        quantity = parse(f"3 {spelling}", kinds[word], "value")
        assert quantity.magnitude == 3 and quantity.units == ureg.Unit(word)
    assert registry_cache_folder().name == (
        f"pint-{pint.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}"
    )


@pytest.mark.parametrize("damage", ["truncated", "garbage", "unwritable"])
def test_a_broken_or_unwritable_cache_gives_the_same_registry(tmp_path: Path, damage: str) -> None:
    """A cache file cut short (a crash, or two pumpmgr writing it at once) or not a pickle,
    or a folder that cannot be made: the registry is built from pint's definitions file as
    without a cache, and a damaged cache is removed so the next start writes it again."""
    folder = tmp_path / "pint"
    if damage == "unwritable":
        (tmp_path / "file").write_text("not a folder", encoding="utf-8")
        folder = tmp_path / "file" / "pint"
    else:
        make_registry(folder)
        for pickle_file in folder.glob("*.pickle"):
            data = pickle_file.read_bytes()
            pickle_file.write_bytes(
                data[: len(data) // 2] if damage == "truncated" else b"not a pickle"
            )
    registry = make_registry(folder)
    assert float(registry.Quantity(2, "mg/mL").to("µg/mL").magnitude) == 2000
    names = ["microgram", "milliliter", "day", "hour", "centimeter", "minute"]
    assert _registry_facts(registry, names) == _registry_facts(pint.UnitRegistry(), names)
    if damage != "unwritable":
        assert not folder.exists()  # removed: the next start builds it again
        make_registry(folder)
        assert list(folder.glob("*.pickle"))
