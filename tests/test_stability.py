"""pumpmgr.stability: ziconotide's limits (domain-rules §3 and §6) in one place."""

from __future__ import annotations

import pytest

from pumpmgr.catalogs import default_catalogs
from pumpmgr.records import Ingredient
from pumpmgr.stability import (
    first_fill_limited,
    first_fills,
    stability_limit,
    undiluted_problem,
)
from pumpmgr.units import Q_

LIBRARY = default_catalogs().drugs
BAC, ZIC = frozenset({"baclofen"}), frozenset({"ziconotide"})


def test_the_first_fill_is_the_pumps_first_of_each_drug() -> None:
    """Baclofen for years then ziconotide: the first ziconotide fill; the next is not; a
    top-up (the solution from the switch still in the pump) keeps it; a switch back is not."""
    assert first_fills([BAC], 0) == BAC
    assert first_fills([BAC, BAC, ZIC], 2) == ZIC
    assert first_fills([BAC, ZIC, ZIC], 2) == frozenset()
    assert first_fills([BAC, ZIC, ZIC], 1) == ZIC  # the second fill topped the first up
    assert first_fills([ZIC, BAC, ZIC], 2) == frozenset()
    assert first_fills([BAC, BAC | ZIC], 1) == ZIC


def test_only_ziconotide_has_a_first_fill_limit_of_its_own() -> None:
    assert first_fill_limited(LIBRARY) == ZIC


def test_the_first_fill_limit_is_the_drugs_own() -> None:
    """14 days only for ziconotide's first fill; baclofen's first fill sets no limit of its own."""
    zic, bac = LIBRARY.drug("ziconotide"), LIBRARY.drug("baclofen")
    first = stability_limit([zic], first_fill_of=ZIC, undiluted=True)
    assert first is not None and first.days == 14
    assert first.source == "drug library: Ziconotide; the pump's first ziconotide fill"
    later = stability_limit([zic], first_fill_of=BAC, undiluted=True)
    assert later is not None and later.days == 84
    assert stability_limit([bac], first_fill_of=BAC, undiluted=None) is None


@pytest.mark.parametrize(
    ("solution", "undiluted", "words"),
    [
        ([("ziconotide", "25 mcg/mL")], True, None),
        ([("ziconotide", "0.1 mg/mL")], True, None),
        ([("ziconotide", "50 mcg/mL")], False, None),
        ([("ziconotide", "50 mcg/mL")], None, None),
        (
            [("ziconotide", "50 mcg/mL")],
            True,
            "ziconotide 50 mcg/mL is not a stock strength (25 mcg/mL or 100 mcg/mL)",
        ),
        (
            [("ziconotide", "25 mcg/mL"), ("clonidine", "500 mcg/mL")],
            True,
            "an admixture is diluted by definition",
        ),
        ([("ziconotide", "25 mcg/mL"), ("clonidine", "500 mcg/mL")], False, None),
        ([("baclofen", "2000 mcg/mL")], False, "recorded only for a solution with ziconotide"),
        ([("baclofen", "2000 mcg/mL")], None, None),
    ],
)
def test_undiluted_is_refused_only_where_it_contradicts_the_solution(
    solution: list[tuple[str, str]], undiluted: bool | None, words: str | None
) -> None:
    ingredients = [Ingredient(drug, Q_(strength)) for drug, strength in solution]
    problem = undiluted_problem(ingredients, LIBRARY, undiluted)
    if words is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(words)
