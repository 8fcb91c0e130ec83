"""The shipped catalogs, their values against domain-rules §6 and domain.md, and bad files."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pumpmgr import catalogs, resources_locator
from pumpmgr.catalogs import (
    Catalogs,
    Drug,
    PumpType,
    TitrationKind,
    default_catalogs,
    load_catalogs,
    load_catheters,
    load_drugs,
    load_pumps,
)
from pumpmgr.errors import CatalogError, Code
from pumpmgr.units import Kind, to_canonical

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped() -> Catalogs:
    return default_catalogs()


def canonical(quantity: object, kind: Kind) -> float:
    return to_canonical(quantity, kind)


# ---------------------------------------------------------------------------------------------
# Loading and locating


def test_resources_are_found_in_the_source_tree() -> None:
    assert resources_locator.resources_dir() == REPO / "resources"
    assert resources_locator.catalog_path("drugs.toml") == REPO / "resources/catalogs/drugs.toml"


@pytest.mark.parametrize("name", ["", "..", "../pyproject.toml", "catalogs/drugs.toml"])
def test_catalog_path_refuses_anything_but_a_file_name(name: str) -> None:
    with pytest.raises(CatalogError) as info:
        resources_locator.catalog_path(name)
    assert info.value.code is Code.CATALOG


def test_catalog_path_of_a_missing_file() -> None:
    with pytest.raises(CatalogError, match=r"nothing\.toml"):
        resources_locator.catalog_path("nothing.toml")


def test_shipped_catalogs_load_once(shipped: Catalogs) -> None:
    assert default_catalogs() is shipped
    assert set(shipped.pumps) == {
        "synchromed2-20",
        "synchromed2-40",
        "synchromed-el-10",
        "synchromed-el-18",
        "prometra-20",
        "prometra2-20",
        "prometra2-40",
        "isomed-20",
        "isomed-35",
        "codman-3000",
        "tricumed",
        "custom",
    }
    assert set(shipped.catheters) == {
        "prometra-11823",
        "ascenda-8780",
        "ascenda-8781",
        "medtronic-8709sc",
        "medtronic-8731sc",
        "custom",
    }
    assert [d.key for d in shipped.drugs] == [
        "baclofen",
        "ziconotide",
        "morphine",
        "hydromorphone",
        "fentanyl",
        "sufentanil",
        "bupivacaine",
        "clonidine",
    ]


def test_load_catalogs_from_another_folder(tmp_path: Path) -> None:
    for name in ("pumps.toml", "catheters.toml", "drugs.toml"):
        (tmp_path / name).write_text(resources_locator.catalog_path(name).read_text())
    loaded = load_catalogs(tmp_path)
    assert set(loaded.pumps) == set(default_catalogs().pumps)
    assert len(loaded.drugs) == 8


def test_every_catalog_file_has_schema_version_1() -> None:
    for path in resources_locator.catalogs_dir().glob("*.toml"):
        assert re.search(r"^schema_version = 1$", path.read_text(), re.MULTILINE), path


# ---------------------------------------------------------------------------------------------
# Lookups


def test_drug_lookup_ignores_case_and_spaces(shipped: Catalogs) -> None:
    assert shipped.drug("  BACLOFEN ").key == "baclofen"
    assert catalogs.drug("Morphine").key == "morphine"


@pytest.mark.parametrize(
    ("lookup", "code", "listed"),
    [
        (lambda: catalogs.drug("oxycodone"), Code.UNKNOWN_DRUG, "baclofen"),
        (lambda: catalogs.pump_model("synchromed3"), Code.UNKNOWN_PUMP, "synchromed2-20"),
        (lambda: catalogs.catheter_model("8888"), Code.UNKNOWN_CATHETER, "prometra-11823"),
    ],
)
def test_unknown_lookups_list_what_exists(
    lookup: Callable[[], object], code: Code, listed: str
) -> None:
    with pytest.raises(CatalogError) as info:
        lookup()
    assert info.value.code is code
    assert listed in info.value.message


# ---------------------------------------------------------------------------------------------
# The drug library against domain-rules §6


# drug: (unit, typical min, typical max, soft max, hard max, max concentration); doses per day
RULES_TABLE: dict[str, tuple[str, float, float, float | None, float | None, float]] = {
    "baclofen": ("mcg", 20, 1200, 1000, 2000, 2000),
    "ziconotide": ("mcg", 0.5, 19.2, None, 19.2, 100),
    "morphine": ("mg", 0.1, 20, 15, 30, 25),
    "hydromorphone": ("mg", 0.01, 10, 10, 20, 15),
    "fentanyl": ("mcg", 25, 1000, 1000, 2000, 10000),
    "sufentanil": ("mcg", 10, 500, 500, 1000, 5000),
    "bupivacaine": ("mg", 0.01, 20, 20, 40, 30),
    "clonidine": ("mcg", 20, 600, 600, 1200, 1000),
}


def _value(limit: catalogs.Limit | None, unit: str, per: str) -> float | None:
    return None if limit is None else float(limit.value.to(f"{unit}/{per}").magnitude)


@pytest.mark.parametrize("name", list(RULES_TABLE))
def test_drug_limits_equal_the_rules_table(shipped: Catalogs, name: str) -> None:
    unit, low, high, soft, hard, max_concentration = RULES_TABLE[name]
    drug = shipped.drug(name)
    assert drug.display_unit == unit
    assert _value(drug.typical_min, unit, "day") == pytest.approx(low)
    assert _value(drug.typical_max, unit, "day") == pytest.approx(high)
    assert _value(drug.soft_max, unit, "day") == (None if soft is None else pytest.approx(soft))
    assert _value(drug.hard_max, unit, "day") == (None if hard is None else pytest.approx(hard))
    assert _value(drug.max_concentration, unit, "mL") == pytest.approx(max_concentration)


# Percent per 24 h by row of the rule (domain-rules §6)
TITRATION_PERCENT = {
    "baclofen": {"spinal": 30, "cerebral": 15, "child": 15},
    "morphine": {"non-cancer": 30, "cancer": 50},
    "hydromorphone": {"non-cancer": 30, "cancer": 50},
    "fentanyl": {"non-cancer": 30, "cancer": 50},
    "sufentanil": {"non-cancer": 30, "cancer": 50},
    "bupivacaine": {"all": 30},
    "clonidine": {"all": 30},
}


@pytest.mark.parametrize("name", list(TITRATION_PERCENT))
def test_percent_titration_rules(shipped: Catalogs, name: str) -> None:
    rule = shipped.drug(name).titration
    assert rule.kind is TitrationKind.PERCENT
    assert dict(rule.percent_by_variant) == TITRATION_PERCENT[name]
    assert rule.step is None


def test_ziconotide_titrates_by_absolute_steps(shipped: Catalogs) -> None:
    rule = shipped.drug("ziconotide").titration
    assert rule.kind is TitrationKind.STEP
    assert canonical(rule.step, Kind.DOSE_RATE) == pytest.approx(2.4)
    assert rule.steps_per_week == 3
    with pytest.raises(ValueError):
        rule.percent_limit()


def test_titration_row_selection(shipped: Catalogs) -> None:
    baclofen = shipped.drug("baclofen").titration
    assert baclofen.percent_limit(origin="spinal") == (30, "spinal", False)
    assert baclofen.percent_limit(origin="cerebral") == (15, "cerebral", False)
    assert baclofen.percent_limit(origin="spinal", child=True) == (15, "child", False)
    # Unknown origin: the strictest row, said to be assumed
    assert baclofen.percent_limit().percent == 15
    assert baclofen.percent_limit().assumed
    morphine = shipped.drug("morphine").titration
    assert morphine.percent_limit(pain="cancer") == (50, "cancer", False)
    assert morphine.percent_limit(pain="non-cancer") == (30, "non-cancer", False)
    assert morphine.percent_limit(origin="spinal") == (30, "non-cancer", True)
    assert shipped.drug("clonidine").titration.percent_limit(pain="cancer") == (30, "all", False)


def test_stability_limits(shipped: Catalogs) -> None:
    def days(quantity: object) -> float | None:
        return None if quantity is None else canonical(quantity, Kind.DURATION)

    morphine = shipped.drug("morphine").stability
    assert days(morphine.limit()) == 90
    ziconotide = shipped.drug("ziconotide").stability
    assert days(ziconotide.limit(diluted=True)) == 40
    assert days(ziconotide.limit(diluted=False)) == 84
    assert days(ziconotide.limit(new_pump_first_fill=True)) == 14
    assert days(ziconotide.limit()) == 40  # not known whether diluted: the shorter
    for name in ("baclofen", "hydromorphone", "fentanyl", "sufentanil", "bupivacaine"):
        assert shipped.drug(name).stability.limit() is None, name


def test_stock_concentrations(shipped: Catalogs) -> None:
    def stocks(name: str) -> list[float]:
        drug = shipped.drug(name)
        unit = f"{drug.display_unit}/mL"
        return [float(q.to(unit).magnitude) for q in drug.stock_concentrations]

    assert stocks("baclofen") == [50, 500, 1000, 2000]
    assert stocks("morphine") == [10, 25]
    assert stocks("ziconotide") == [25, 100]
    for name in ("hydromorphone", "fentanyl", "sufentanil", "bupivacaine", "clonidine"):
        assert stocks(name) == [], name
        assert shipped.drug(name).compounded_only
        assert not shipped.drug(name).approved_for_it
    for name in ("baclofen", "morphine", "ziconotide"):
        assert shipped.drug(name).approved_for_it


# Exactly the values domain.md marks UNVERIFIED (section 4.4: PACC maximum concentrations and
# daily doses, PACC starting doses except ziconotide); the rest is sourced.
PACC_UNVERIFIED = {"typical_min", "typical_max", "soft_max", "max_concentration"}
UNVERIFIED = {
    "baclofen": set(),
    "ziconotide": set(),
    "morphine": {"typical_min", "soft_max"},  # 20 mg/day [S41] and 25 mg/mL [S41] are sourced
    "hydromorphone": PACC_UNVERIFIED,
    "fentanyl": PACC_UNVERIFIED,
    "sufentanil": PACC_UNVERIFIED,
    "bupivacaine": PACC_UNVERIFIED,
    "clonidine": PACC_UNVERIFIED,
}


@pytest.mark.parametrize("name", list(UNVERIFIED))
def test_unverified_flags(shipped: Catalogs, name: str) -> None:
    drug = shipped.drug(name)
    assert drug.unverified == UNVERIFIED[name]
    for field in ("typical_min", "typical_max", "soft_max", "max_concentration"):
        limit = getattr(drug, field)
        if limit is not None:
            assert limit.unverified == (field in UNVERIFIED[name]), field
    # An unverified value is never a hard limit
    assert drug.hard_max is None or not drug.hard_max.unverified
    assert drug.max_concentration_blocks == ("max_concentration" not in UNVERIFIED[name])


SOURCE_TAG = re.compile(r"^(S\d+|domain-rules §\d+|domain\.md §[\d.]+)$")
# Withdrawn or reserved in domain.md section 7
NOT_A_SOURCE = {"S32", "S55"}


def _check_tags(tags: tuple[str, ...], where: str) -> None:
    assert tags, f"{where} has no source"
    for tag in tags:
        assert SOURCE_TAG.match(tag) and tag not in NOT_A_SOURCE, (where, tag)


@pytest.mark.parametrize("name", list(RULES_TABLE))
def test_every_drug_value_has_a_source(shipped: Catalogs, name: str) -> None:
    drug = shipped.drug(name)
    for field in ("typical_min", "typical_max", "soft_max", "hard_max", "max_concentration"):
        limit = getattr(drug, field)
        if limit is not None:
            _check_tags(limit.sources, f"{name}.{field}")
            assert limit.sources == drug.sources[field]
    _check_tags(drug.titration.sources, f"{name}.titration")
    _check_tags(drug.sources["approved_for_it"], f"{name}.approved_for_it")
    if drug.stock_concentrations:
        _check_tags(drug.sources["stock_concentrations"], f"{name}.stock_concentrations")
    if drug.stability.limit() is not None:
        _check_tags(drug.stability.sources, f"{name}.stability")
    for field in ("withdrawal_signs", "overdose_signs"):
        if getattr(drug, field):
            _check_tags(drug.sources[field], f"{name}.{field}")


def test_pacc_values_cite_pacc_and_labelled_values_their_label(shipped: Catalogs) -> None:
    for name in ("hydromorphone", "fentanyl", "sufentanil", "bupivacaine", "clonidine"):
        drug = shipped.drug(name)
        for field in drug.unverified:
            assert drug.sources[field] == ("S49",), (name, field)
    ziconotide = shipped.drug("ziconotide")
    assert ziconotide.hard_max is not None
    assert set(ziconotide.hard_max.sources) == {"S47", "S59"}
    assert shipped.drug("morphine").sources["stability"] == ("S13",)
    assert shipped.drug("ziconotide").sources["stability"] == ("S33",)


def test_signs_for_the_worksheet(shipped: Catalogs) -> None:
    baclofen = shipped.drug("baclofen")
    assert any("fever" in s for s in baclofen.withdrawal_signs)
    assert "respiratory depression" in baclofen.overdose_signs
    ziconotide = shipped.drug("ziconotide")
    assert "ataxia" in ziconotide.overdose_signs
    assert any("without a withdrawal" in s for s in ziconotide.withdrawal_signs)
    assert "respiratory depression" in shipped.drug("morphine").overdose_signs


def test_no_misreadable_units_in_the_shipped_files() -> None:
    # ISMP: never µg or ug (read as mg), never cc; the loader also demands the display unit
    for path in resources_locator.catalogs_dir().glob("*.toml"):
        values = [line for line in path.read_text().splitlines() if not line.startswith("#")]
        text = "\n".join(values)
        assert not re.search(r"\d\s*(µg|μg|ug|cc)\b", text), path
        assert not re.search(r"(?<![\d])\.\d", text.replace("domain.md", "")), path


# ---------------------------------------------------------------------------------------------
# Pumps and catheters


def test_synchromed_ii(shipped: Catalogs) -> None:
    for key, size in (("synchromed2-20", 20), ("synchromed2-40", 40)):
        pump = shipped.pump_model(key)
        assert pump.type is PumpType.PROGRAMMABLE_PERISTALTIC
        assert canonical(pump.capacity, Kind.VOLUME) == size
        assert canonical(pump.alarm_volume, Kind.VOLUME) == 2
        assert pump.accuracy_percent == 14.5
        assert pump.accuracy == pytest.approx(0.145)
        assert canonical(pump.min_flow, Kind.FLOW) == pytest.approx(0.048)
        assert pump.max_flex_steps == 13
        assert pump.battery_life_max_years == 7
        assert pump.has_alarm and pump.programmable
        assert pump.inferred == frozenset()
        assert pump.sources["capacity"] == ("S1", "S2", "S3")
        assert pump.sources["alarm_volume"] == ("S21",)
        assert pump.sources["accuracy_percent"] == ("S17",)
        assert pump.sources["min_flow"] == ("S33",)
        assert pump.sources["max_flex_steps"] == ("S3",)
        assert pump.sources["battery_life_max_years"] == ("S8",)


def test_prometra(shipped: Catalogs) -> None:
    for key, model, size in (
        ("prometra-20", "11827", 20),
        ("prometra2-20", "13827", 20),
        ("prometra2-40", "16827", 40),
    ):
        pump = shipped.pump_model(key)
        assert pump.type is PumpType.VALVE_GATED
        assert pump.models == (model,)
        assert canonical(pump.capacity, Kind.VOLUME) == size
        assert canonical(pump.alarm_volume, Kind.VOLUME) == 3
        assert pump.sources["alarm_volume"] == ("S5",)
        # Only the clinical 96.8 % figure was found: no plus-or-minus accuracy, no battery life
        assert pump.accuracy_percent is None
        assert pump.battery_life_max_years is None
        assert {"accuracy_percent", "battery_life_max_years"} <= set(pump.to_confirm)
        assert pump.mri is not None and "Empty the pump" in pump.mri


def test_inferred_capacities_must_be_confirmed(shipped: Catalogs) -> None:
    for key, size in (
        ("synchromed-el-10", 10),
        ("synchromed-el-18", 18),
        ("isomed-20", 20),
        ("isomed-35", 35),
        ("codman-3000", 30),
    ):
        pump = shipped.pump_model(key)
        assert canonical(pump.capacity, Kind.VOLUME) == size
        assert pump.inferred == {"capacity"}
        assert "capacity" in pump.to_confirm
    assert shipped.pump_model("synchromed-el-10").legacy


def test_constant_flow_pumps(shipped: Catalogs) -> None:
    for key in ("isomed-20", "isomed-35", "codman-3000", "tricumed"):
        pump = shipped.pump_model(key)
        assert pump.type is PumpType.CONSTANT_FLOW
        assert not pump.has_alarm
        # The clinic's planning volume, default 2 mL [domain-rules §3]
        assert canonical(pump.alarm_volume, Kind.VOLUME) == 2
        assert pump.sources["alarm_volume"] == ("domain-rules §3",)
        assert pump.nominal_flow is None and "nominal_flow" in pump.to_confirm
        assert pump.min_flow is None and pump.max_flex_steps is None
    assert shipped.pump_model("tricumed").capacity is None


def test_unsourced_pump_values_are_empty_for_the_clinic(shipped: Catalogs) -> None:
    for pump in shipped.pumps.values():
        assert pump.fluid_path_volume is None, pump.key
        assert pump.unaspirable_volume is None, pump.key
        assert "fluid_path_volume" in pump.to_confirm
        for field in ("capacity", "alarm_volume", "accuracy_percent", "min_flow"):
            if getattr(pump, field) is not None:
                _check_tags(pump.sources[field], f"{pump.key}.{field}")
    custom = shipped.pump_model("custom")
    assert custom.custom and custom.type is None and custom.capacity is None


def test_catheters(shipped: Catalogs) -> None:
    prometra = shipped.catheter_model("prometra-11823")
    (segment,) = prometra.segments
    assert canonical(segment.volume_per_length, Kind.VOLUME_PER_LENGTH) == pytest.approx(0.0026)
    assert canonical(segment.supplied_length, Kind.LENGTH) == 110
    assert segment.sources == {"volume_per_length": ("S14",), "supplied_length": ("S14",)}
    for key in ("ascenda-8780", "ascenda-8781", "medtronic-8709sc", "medtronic-8731sc"):
        catheter = shipped.catheter_model(key)
        assert catheter.manufacturer == "Medtronic"
        # Never defaulted: the clinic enters the per-cm volume from the IFU [domain.md §2]
        assert all(s.volume_per_length is None for s in catheter.segments), key
    assert [s.name for s in shipped.catheter_model("ascenda-8780").segments] == [
        "spinal segment",
        "pump segment",
    ]
    assert shipped.catheter_model("custom").custom


# ---------------------------------------------------------------------------------------------
# Bad files: every message names the file, the entry and the field

GOOD_DRUG = """
schema_version = 1

[drugs.testdrug]
name = "Testdrug"
display_unit = "mcg"
approved_for_it = false
stock_concentrations = ["500 mcg/mL"]
typical_min = "20 mcg/day"
typical_max = "600 mcg/day"
soft_max = "500 mcg/day"
hard_max = "800 mcg/day"
max_concentration = "1000 mcg/mL"
titration = { percent = { all = 30 } }
stability = { default = "30 days" }
withdrawal_signs = ["itching"]
overdose_signs = ["drowsiness"]
unverified = ["soft_max"]
opioid = false
withdrawal_on_cut = true
caution_above = ""
restart_window_hours = 24
naive_pump_concentration = ""
policy = ["restart_window_hours"]

[drugs.testdrug.start]
max = "100 mcg/day"
naive_max = ""
tolerant_max = ""
from_screening_bolus = false
long_effect_hours = ""

[drugs.testdrug.sources]
approved_for_it = "S45"
stock_concentrations = "S50"
typical_min = "S49"
typical_max = "S49"
soft_max = "S49"
hard_max = "S47"
max_concentration = "S49"
titration = "domain-rules §6"
stability = "S13"
withdrawal_signs = "S58"
overdose_signs = "S67"
opioid = "domain.md §4.3"
withdrawal_on_cut = "S58"
start = "S47"
restart_window_hours = "domain-rules §6"
"""


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_the_good_drug_loads() -> None:
    drug: Drug = load_drugs(GOOD_DRUG, file="test-drugs.toml").drug("testdrug")
    assert drug.soft_max is not None and drug.soft_max.unverified
    assert drug.hard_max is not None and not drug.hard_max.unverified


BAD_DRUGS = [
    # (what, old text, new text, field named, words in the message)
    (
        "wrong kind",
        'typical_max = "600 mcg/day"',
        'typical_max = "600 mcg"',
        "typical_max",
        "dose rate",
    ),
    ("no unit", 'typical_max = "600 mcg/day"', 'typical_max = "600"', "typical_max", "no unit"),
    ("not text", 'typical_max = "600 mcg/day"', "typical_max = 600", "typical_max", "unit"),
    (
        "negative",
        'soft_max = "500 mcg/day"',
        'soft_max = "-500 mcg/day"',
        "soft_max",
        "more than zero",
    ),
    ("zero", 'hard_max = "800 mcg/day"', 'hard_max = "0 mcg/day"', "hard_max", "more than zero"),
    (
        "mg in a mcg drug",
        'soft_max = "500 mcg/day"',
        'soft_max = "0.5 mg/day"',
        "soft_max",
        "mcg/day",
    ),
    ("per hour", 'soft_max = "500 mcg/day"', 'soft_max = "20 mcg/h"', "soft_max", "mcg/day"),
    (
        "mg concentration",
        'max_concentration = "1000 mcg/mL"',
        'max_concentration = "1 mg/mL"',
        "max_concentration",
        "mcg/mL",
    ),
    ("bad stock", '["500 mcg/mL"]', '["500 mcg/day"]', "stock_concentrations", "concentration"),
    ("missing field", 'typical_min = "20 mcg/day"\n', "", "typical_min", "missing"),
    (
        "empty range",
        'typical_min = "20 mcg/day"',
        'typical_min = ""',
        "typical_min",
        "typical daily range",
    ),
    (
        "soft above hard",
        'soft_max = "500 mcg/day"',
        'soft_max = "900 mcg/day"',
        "soft_max",
        "above hard_max",
    ),
    (
        "range upside down",
        'typical_min = "20 mcg/day"',
        'typical_min = "700 mcg/day"',
        "typical_min",
        "above typical_max",
    ),
    (
        "unverified hard max",
        'unverified = ["soft_max"]',
        'unverified = ["hard_max"]',
        "hard_max",
        "cannot be a hard limit",
    ),
    (
        "unverified unknown field",
        'unverified = ["soft_max"]',
        'unverified = ["colour"]',
        "unverified",
        "colour",
    ),
    (
        "unknown field",
        'name = "Testdrug"',
        'name = "Testdrug"\ncolour = "blue"',
        "colour",
        "not a field",
    ),
    ("display unit", 'display_unit = "mcg"', 'display_unit = "µg"', "display_unit", "mcg or mg"),
    ("no source", 'hard_max = "S47"\n', "", "hard_max", "no source tag"),
    (
        "bad source tag",
        'hard_max = "S47"',
        'hard_max = "PACC"',
        "sources.hard_max",
        "not a source tag",
    ),
    (
        "withdrawn source",
        'hard_max = "S47"',
        'hard_max = "S55"',
        "sources.hard_max",
        "not a source tag",
    ),
    (
        "source of nothing",
        'hard_max = "S47"',
        'hard_max = "S47"\ncolour = "S1"',
        "sources.colour",
        "names no field",
    ),
    (
        "titration row",
        "{ all = 30 }",
        "{ adults = 30 }",
        "titration.percent.adults",
        "not a titration row",
    ),
    ("titration percent", "{ all = 30 }", "{ all = 0 }", "titration.percent.all", "more than zero"),
    (
        "titration both kinds",
        "{ percent = { all = 30 } }",
        '{ percent = { all = 30 }, step = "2 mcg/day" }',
        "titration.percent",
        "exactly one",
    ),
    (
        "stability kind",
        '{ default = "30 days" }',
        '{ default = "30 mL" }',
        "stability.default",
        "duration",
    ),
    (
        "stability field",
        '{ default = "30 days" }',
        '{ forever = "30 days" }',
        "stability.forever",
        "not a field",
    ),
    (
        "boolean",
        "approved_for_it = false",
        'approved_for_it = "no"',
        "approved_for_it",
        "true or false",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [case[1:] for case in BAD_DRUGS],
    ids=[case[0] for case in BAD_DRUGS],
)
def test_bad_drug_files_name_file_entry_and_field(
    old: str, new: str, field: str, words: str
) -> None:
    with pytest.raises(CatalogError) as info:
        load_drugs(_edit(GOOD_DRUG, old, new), file="test-drugs.toml")
    error = info.value
    assert error.code is Code.CATALOG
    assert error.message.startswith("test-drugs.toml: drug 'testdrug', ")
    assert f"field '{field}'" in error.message
    assert words in error.message
    assert error.field == field


GOOD_PUMP = """
schema_version = 1

[pumps.testpump]
name = "Test pump"
manufacturer = "Acme"
models = ["1234"]
type = "programmable_peristaltic"
capacity = "20 mL"
alarm_volume = "2 mL"
accuracy_percent = 14.5
min_flow = "0.048 mL/day"
max_flow = ""
labelled_drugs = {}
max_flex_steps = 13
battery_life_max_years = ""
fluid_path_volume = ""
unaspirable_volume = ""
mri = ""
notes = ""
legacy = false
custom = false
inferred = ["capacity"]

[pumps.testpump.sources]
models = "S12"
capacity = "S12"
alarm_volume = "S21"
accuracy_percent = "S17"
min_flow = "S33"
max_flex_steps = "S3"
"""


def test_the_good_pump_loads() -> None:
    pump = load_pumps(GOOD_PUMP, file="test-pumps.toml")["testpump"]
    assert pump.inferred == {"capacity"}
    assert pump.to_confirm[0] == "capacity"


BAD_PUMPS = [
    ("unknown type", 'type = "programmable_peristaltic"', 'type = "osmotic"', "type", "not one of"),
    ("empty type", 'type = "programmable_peristaltic"', 'type = ""', "type", "must not be empty"),
    ("capacity kind", 'capacity = "20 mL"', 'capacity = "20 mg"', "capacity", "volume"),
    (
        "negative capacity",
        'capacity = "20 mL"',
        'capacity = "-20 mL"',
        "capacity",
        "more than zero",
    ),
    ("missing capacity", 'capacity = "20 mL"\n', "", "capacity", "missing"),
    (
        "alarm above capacity",
        'alarm_volume = "2 mL"',
        'alarm_volume = "25 mL"',
        "alarm_volume",
        "less than the capacity",
    ),
    ("flow kind", 'min_flow = "0.048 mL/day"', 'min_flow = "0.048 mL"', "min_flow", "volume rate"),
    (
        "accuracy text",
        "accuracy_percent = 14.5",
        'accuracy_percent = "14.5 %"',
        "accuracy_percent",
        "a number",
    ),
    (
        "accuracy range",
        "accuracy_percent = 14.5",
        "accuracy_percent = 140",
        "accuracy_percent",
        "at most 100",
    ),
    (
        "fractional steps",
        "max_flex_steps = 13",
        "max_flex_steps = 13.5",
        "max_flex_steps",
        "whole number",
    ),
    (
        "boolean steps",
        "max_flex_steps = 13",
        "max_flex_steps = true",
        "max_flex_steps",
        "whole number",
    ),
    (
        "constant-flow field",
        "max_flex_steps = 13",
        'max_flex_steps = 13\nnominal_flow = ""',
        "nominal_flow",
        "does not apply",
    ),
    (
        "inferred empty field",
        'inferred = ["capacity"]',
        'inferred = ["fluid_path_volume"]',
        "inferred",
        "no value",
    ),
    ("empty name", 'name = "Test pump"', 'name = ""', "name", "must not be empty"),
    ("no source", 'min_flow = "S33"\n', "", "min_flow", "no source tag"),
]


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [case[1:] for case in BAD_PUMPS],
    ids=[case[0] for case in BAD_PUMPS],
)
def test_bad_pump_files_name_file_entry_and_field(
    old: str, new: str, field: str, words: str
) -> None:
    with pytest.raises(CatalogError) as info:
        load_pumps(_edit(GOOD_PUMP, old, new), file="test-pumps.toml")
    error = info.value
    assert error.code is Code.CATALOG
    assert error.message.startswith("test-pumps.toml: pump 'testpump', ")
    assert f"field '{field}'" in error.message
    assert words in error.message


def test_a_constant_flow_pump_refuses_programmable_fields() -> None:
    text = _edit(GOOD_PUMP, 'type = "programmable_peristaltic"', 'type = "constant_flow"')
    with pytest.raises(CatalogError, match="field 'min_flow': does not apply to a constant_flow"):
        load_pumps(text, file="test-pumps.toml")


GOOD_CATHETER = """
schema_version = 1

[catheters.testcath]
name = "Test catheter"
manufacturer = "Acme"
models = ["99"]
notes = ""
custom = false

[[catheters.testcath.segments]]
name = "catheter"
volume_per_length = "0.0026 mL/cm"
supplied_length = "110 cm"
sources = { volume_per_length = "S14", supplied_length = "S14" }

[catheters.testcath.sources]
models = "S14"
segments = "S14"
"""


def test_the_good_catheter_loads() -> None:
    (segment,) = load_catheters(GOOD_CATHETER, file="t.toml")["testcath"].segments
    assert math.isclose(canonical(segment.volume_per_length, Kind.VOLUME_PER_LENGTH), 0.0026)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('"0.0026 mL/cm"', '"0.0026 mL"', "segments[1].volume_per_length", "volume per length"),
        ('"110 cm"', '"-110 cm"', "segments[1].supplied_length", "more than zero"),
        ('volume_per_length = "S14", ', "", "segments[1].volume_per_length", "no source tag"),
        ('name = "catheter"\n', "", "segments[1].name", "missing"),
    ],
)
def test_bad_catheter_files(old: str, new: str, field: str, words: str) -> None:
    with pytest.raises(CatalogError) as info:
        load_catheters(_edit(GOOD_CATHETER, old, new), file="t.toml")
    assert info.value.message.startswith("t.toml: catheter 'testcath', ")
    assert f"field '{field}'" in info.value.message
    assert words in info.value.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("schema_version = 1\n[drugs.x\n", "not valid TOML"),
        (GOOD_DRUG.replace("schema_version = 1", "schema_version = 2"), "schema_version is 2"),
        (GOOD_DRUG.replace("schema_version = 1", ""), "schema_version is None"),
        ("schema_version = 1\n", "no [drugs.<key>] entries"),
        (
            GOOD_DRUG.replace("[drugs.testdrug]", "[drugs.Test_Drug]").replace(
                "[drugs.testdrug.sources]", "[drugs.Test_Drug.sources]"
            ),
            "lower-case",
        ),
        (GOOD_DRUG + "\n[pumps.x]\nname = 'x'\n", "unknown top-level key(s) pumps"),
    ],
)
def test_bad_documents_name_the_file(text: str, words: str) -> None:
    with pytest.raises(CatalogError) as info:
        load_drugs(text, file="test-drugs.toml")
    assert info.value.code is Code.CATALOG
    assert info.value.message.startswith("test-drugs.toml: ")
    assert words in info.value.message


def test_two_drugs_with_one_name_are_refused() -> None:
    second = GOOD_DRUG.split("\n", 2)[2].replace("testdrug", "otherdrug")
    with pytest.raises(CatalogError, match="already the name of drug 'testdrug'"):
        load_drugs(GOOD_DRUG + second, file="test-drugs.toml")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    assert str(tmp_path / "pumps.toml") in info.value.message


# ---------------------------------------------------------------------------------------------
# The dose-check fields of domain-rules §6 (revised)


def test_every_value_is_sourced_policy_or_unconfirmed(shipped: Catalogs) -> None:
    from pumpmgr.catalogs import ValueStatus

    for drug in shipped.drugs:
        assert drug.hard_max is not None, drug.key  # every drug has a hard maximum now
        if drug.key == "ziconotide":
            assert drug.hard_max.status is ValueStatus.SOURCED  # the label's
        else:
            assert drug.hard_max.status is ValueStatus.POLICY
            assert drug.status("hard_max") is ValueStatus.POLICY
        assert drug.status("restart_window_hours") is ValueStatus.POLICY
        assert drug.restart_window_hours == (48 if drug.opioid else 24)
        for field in drug.unverified:
            assert drug.status(field) is ValueStatus.UNCONFIRMED
    morphine = shipped.drug("morphine")
    assert morphine.soft_max is not None and morphine.soft_max.status is ValueStatus.UNCONFIRMED
    assert morphine.status("typical_max") is ValueStatus.SOURCED


def test_start_withdrawal_and_naive_pump_fields(shipped: Catalogs) -> None:
    withdrawal = {d.key for d in shipped.drugs if d.withdrawal_on_cut}
    assert withdrawal == {
        "baclofen",
        "morphine",
        "hydromorphone",
        "fentanyl",
        "sufentanil",
        "clonidine",
    }
    assert {d.key for d in shipped.drugs if d.opioid} == {
        "morphine",
        "hydromorphone",
        "fentanyl",
        "sufentanil",
    }
    morphine = shipped.drug("morphine").start
    assert morphine is not None and morphine.max_naive is not None
    assert float(morphine.max_naive.value.to("mg/day").m) == 1
    assert morphine.max_tolerant is not None
    assert float(morphine.max_tolerant.value.to("mg/day").m) == 10
    ziconotide = shipped.drug("ziconotide")
    assert ziconotide.start is not None and ziconotide.start.max_all is not None
    assert float(ziconotide.start.max_all.value.to("mcg/day").m) == 2.4
    assert ziconotide.naive_pump_concentration is not None
    baclofen = shipped.drug("baclofen").start
    assert baclofen is not None and baclofen.from_screening_bolus
    assert baclofen.long_effect_hours == 8
    assert shipped.drug("hydromorphone").start is None  # the clinic's setting; none shipped
    caution = shipped.drug("morphine").caution_above
    assert caution is not None and caution.sources == ("S41",)


def test_pump_flow_limits_and_labelling_load() -> None:
    pump = load_pumps(
        _edit(
            _edit(GOOD_PUMP, 'max_flow = ""', 'max_flow = "10 mL/day"'),
            "labelled_drugs = {}",
            'labelled_drugs = { morphine = ["25 mg/mL"], baclofen = [] }',
        )
        + 'max_flow = "S3"\nlabelled_drugs = "S41"\n',
        file="test-pumps.toml",
    )["testpump"]
    assert pump.max_flow is not None and float(pump.max_flow.to("mL/day").m) == 10
    assert set(pump.labelled_drugs) == {"morphine", "baclofen"}
    assert pump.labelled_drugs["baclofen"] == ()
    assert "max_flow" not in pump.to_confirm  # a check value, not one the record confirms


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ('max_flow = ""', 'max_flow = "0.01 mL/day"', "min_flow", "above max_flow"),
        (
            "labelled_drugs = {}",
            'labelled_drugs = { morphine = "25 mg/mL" }',
            "labelled_drugs.morphine",
            "list of concentrations",
        ),
        (
            "labelled_drugs = {}",
            'labelled_drugs = { morphine = ["25 mg"] }',
            "labelled_drugs.morphine",
            "concentration",
        ),
        (
            "labelled_drugs = {}",
            'labelled_drugs = { morphine = ["25 mg/mL"] }',
            "labelled_drugs",
            "no source",
        ),
    ],
)
def test_bad_pump_check_fields(old: str, new: str, field: str, problem: str) -> None:
    text = _edit(GOOD_PUMP, old, new)
    if old.startswith("max_flow"):
        text += 'max_flow = "S3"\n'
    with pytest.raises(CatalogError) as caught:
        load_pumps(text, file="test-pumps.toml")
    assert caught.value.field == field, caught.value.message
    assert problem in caught.value.message


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        (
            'policy = ["restart_window_hours"]',
            'policy = ["soft_max"]',
            "policy",
            "both clinic policy and unverified",
        ),
        ("withdrawal_on_cut = true\n", "", "withdrawal_on_cut", "is missing"),
        ('max = "100 mcg/day"', 'max = "0.1 mg/day"', "start.max", "must be written in mcg/day"),
        (
            "from_screening_bolus = false",
            "from_screening_bolus = true",
            "start.long_effect_hours",
            "is needed",
        ),
    ],
)
def test_bad_drug_check_fields(old: str, new: str, field: str, problem: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load_drugs(_edit(GOOD_DRUG, old, new), file="test-drugs.toml")
    assert caught.value.field == field, caught.value.message
    assert problem in caught.value.message
