"""Every source a finding can rest on has a name to show and a reference to open
(domain-rules §6: "Where a finding rests on a source, the nurse can open it")."""

from __future__ import annotations

import re

import pytest

from pumpmgr.catalogs import default_catalogs
from pumpmgr.dose_checks import check_dose
from pumpmgr.schedule import Schedule
from pumpmgr.sources import SOURCES, sources_of
from pumpmgr.units import Q_


def catalog_tags() -> set[str]:
    """Every source tag of the shipped drug library and pump catalog."""
    catalogs = default_catalogs()
    tags: set[str] = set()
    for drug in catalogs.drugs.drugs.values():
        for found in dict(drug.sources).values():
            tags |= set(found)
    for pump in catalogs.pumps.values():
        for found in dict(pump.sources).values():
            tags |= set(found)
    return tags


def test_every_tag_of_the_shipped_catalogs_has_a_source() -> None:
    assert catalog_tags() - set(SOURCES) == set()


@pytest.mark.parametrize("name", sorted(default_catalogs().drugs.drugs))
def test_every_finding_of_every_drug_names_its_sources(name: str) -> None:
    drug = default_catalogs().drug(name)
    unit = drug.display_unit
    pump = default_catalogs().pump_model("synchromed2-20")
    for value in (0.001, 1, 50, 5000):
        dose = Q_(value, f"{unit}/day")
        check = check_dose(
            drug,
            dose,
            previous_dose=Q_(value / 7, f"{unit}/day"),
            hours_since_change=1,
            concentration=Q_(1e4, f"{unit}/mL"),
            pump=pump,
            schedule=Schedule.simple(dose),
        )
        for finding in check.findings:
            assert len(sources_of(finding.sources)) == len(set(finding.sources)), finding


def test_names_and_references_carry_no_reference_code() -> None:
    for source in SOURCES.values():
        for text in (source.name, source.reference):
            assert text.strip() and not re.search(r"\[S\d+\]|\bS\d+\b", text), text


def test_sources_of_keeps_the_order_and_each_once() -> None:
    assert [s.name for s in sources_of(["S54", "S35", "S54", "unknown"])] == [
        "Intrathecal baclofen monograph",
        "CMSC 2015: baclofen best practice",
    ]
    assert sources_of(["S41"])[0].name == "Infumorph label"
