"""The pump models' labelling as Records → Pump models types it (:mod:`pumpmgr.pump_edits`):
read one drug a line, bad input refused with its line named, written back the same way."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from pumpmgr.catalogs import default_catalogs
from pumpmgr.errors import Code, InputError
from pumpmgr.pump_edits import LABELLING, labelling_text, read_labelling
from pumpmgr.units import Q_, Kind, Quantity, to_canonical

LIBRARY = default_catalogs().drugs


def _mcg_per_ml(labelled: dict[str, list[Quantity]]) -> dict[str, list[float]]:
    return {
        drug: [round(to_canonical(c, Kind.CONCENTRATION), 6) for c in values]
        for drug, values in labelled.items()
    }


def test_one_drug_a_line_with_its_concentrations_or_any() -> None:
    text = (
        "Morphine 10 mg/mL, 25 mg/mL\n\n  baclofen\nziconotide (any concentration)\n"
        "clonidine 1000 mcg/mL,\n"
    )
    assert _mcg_per_ml(read_labelling(text, LIBRARY)) == {
        "morphine": [10_000.0, 25_000.0],
        "baclofen": [],
        "ziconotide": [],
        "clonidine": [1000.0],
    }
    assert read_labelling("", LIBRARY) == {} and read_labelling("\n \n", LIBRARY) == {}


@pytest.mark.parametrize(
    "text, line, words, code",
    [
        ("morphine 10 mg/mL\nmorfine 25 mg/mL", 2, "unknown drug 'morfine'", Code.UNKNOWN_DRUG),
        ("baclofen\n\nmorphine 10 mg", 3, "'10 mg' is not", Code.WRONG_KIND),
        ("morphine 10", 1, "'10' has no unit", Code.NO_UNIT),
        (
            "morphine 10 mg/mL\nbaclofen\nMorphine 25 mg/mL",
            3,
            "morphine is on an earlier line",
            Code.OUT_OF_RANGE,
        ),
        ("25 mg/mL", 1, "names no drug", Code.NO_VALUE),
        ("morphine 1,5 mg/mL", 1, "'1' has no unit", Code.NO_UNIT),
    ],
)
def test_bad_input_is_refused_naming_its_line(text: str, line: int, words: str, code: Code) -> None:
    with pytest.raises(InputError) as refused:
        read_labelling(text, LIBRARY)
    assert refused.value.field == LABELLING and refused.value.code is code
    assert refused.value.message.startswith(f"{LABELLING}, line {line}: ")
    assert words in refused.value.message


def test_what_the_form_shows_is_read_back_as_it_was() -> None:
    model = dataclasses.replace(
        default_catalogs().pumps["synchromed2-20"],
        labelled_drugs=MappingProxyType(
            {
                "morphine": (Q_(10_000, "mcg/mL"), Q_(25_000, "mcg/mL")),
                "baclofen": (),
                "clonidine": (Q_(150, "mcg/mL"),),
            }
        ),
    )
    text = labelling_text(model, LIBRARY)
    assert text.splitlines() == ["morphine 10 mg/mL, 25 mg/mL", "baclofen", "clonidine 150 mcg/mL"]
    assert _mcg_per_ml(read_labelling(text, LIBRARY)) == {
        "morphine": [10_000.0, 25_000.0],
        "baclofen": [],
        "clonidine": [150.0],
    }
