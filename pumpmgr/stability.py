"""The in-pump stability limit of one fill (domain-rules §3 and §6), pure.

Ziconotide's limit depends on whether the solution is undiluted, as supplied by the
manufacturer: a property of the solution recorded at the refill, never inferred from its
concentration (a solution diluted to exactly the stock strength is still diluted). Where it was
not recorded (refills made before it was), the shorter, diluted limit applies and the reason says
so. Its first-fill limit (14 days) holds after the pump's first fill *of that drug*, whatever
the pump held before.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from pumpmgr.catalogs import Drug, DrugLibrary
from pumpmgr.errors import CatalogError, Code, ImpossibleInput
from pumpmgr.formatting import format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.units import DAY, MCG_PER_ML, Kind, Quantity

#: What the refill-due reason adds when the diluted limit stands in for a missing record.
NOT_RECORDED = "stability of a diluted solution: not recorded as undiluted"


def depends_on_dilution(drug: Drug) -> bool:
    """Whether the drug's in-pump stability differs for an undiluted solution (ziconotide)."""
    return drug.stability.undiluted is not None


def first_fill_limited(library: DrugLibrary) -> frozenset[str]:
    """The keys of the library's drugs whose first fill in a pump has a limit of its own."""
    return frozenset(
        d.key for d in library.drugs.values() if d.stability.new_pump_first_fill is not None
    )


def first_fills(fills: Sequence[Collection[str]], solution_from: int) -> frozenset[str]:
    """The drugs (library keys) whose first fill in the pump put the solution now in it.

    ``fills``: the drugs of each of the pump's current fills, oldest first, the latest (or the
    one planned) last. ``solution_from``: the index of the fill whose solution is in the pump,
    an earlier one when later fills topped it up (a top-up keeps the older solution's fill date,
    domain-rules §3, so its first-fill limit too). A drug held by any fill before that one is not
    in its first fill, whatever ran between: a switch back, or a restart after the pump ran
    empty."""
    before = {drug for held in fills[:solution_from] for drug in held}
    return frozenset(drug for held in fills[solution_from:] for drug in held if drug not in before)


@dataclass(frozen=True)
class StabilityLimit:
    days: float
    drug: Drug  #: the drug whose limit is the shortest
    #: the diluted limit was taken because "undiluted" was not recorded
    not_recorded: bool = False
    #: the drug's own limit after the pump's first fill of it
    first_fill: bool = False

    @property
    def source(self) -> str:
        """Where the limit came from, as the refill-due reason names it."""
        words = f"drug library: {self.drug.name}"
        if self.first_fill:
            return f"{words}; the pump's first {self.drug.name.lower()} fill"
        return f"{words}; {NOT_RECORDED}" if self.not_recorded else words


def stability_limit(
    drugs: Iterable[Drug], *, first_fill_of: Collection[str], undiluted: bool | None
) -> StabilityLimit | None:
    """The shortest in-pump stability limit of a solution's drugs (None: none set).

    ``first_fill_of``: the keys of the drugs this fill is the pump's first fill of
    (:func:`first_fills`); such a drug's own first-fill limit applies where it sets one.
    ``undiluted``: as recorded at the refill; None (not recorded) takes the diluted limit."""
    best: StabilityLimit | None = None
    for drug in drugs:
        first = drug.key in first_fill_of
        limit = drug.stability.limit(diluted=undiluted is not True, new_pump_first_fill=first)
        if limit is None:
            continue
        own_first = first and drug.stability.new_pump_first_fill is not None
        found = StabilityLimit(
            float(limit.to(DAY).m),
            drug,
            undiluted is None and depends_on_dilution(drug) and not own_first,
            own_first,
        )
        if best is None or found.days < best.days:
            best = found
    return best


def solution_limit(
    drug_keys: Iterable[str],
    library: DrugLibrary,
    *,
    first_fill_of: Collection[str],
    undiluted: bool | None,
) -> tuple[StabilityLimit | None, tuple[str, ...]]:
    """:func:`stability_limit` of a solution's drugs named by key in the clinic's ``library``,
    with the keys the library does not hold (no limit is applied for them: the caller says
    so where a person reads it)."""
    drugs: list[Drug] = []
    unknown: list[str] = []
    for key in drug_keys:
        try:
            drugs.append(library.drug(key))
        except CatalogError:
            unknown.append(key)
    return stability_limit(drugs, first_fill_of=first_fill_of, undiluted=undiluted), tuple(unknown)


def undiluted_problem(
    ingredients: Sequence[Ingredient], library: DrugLibrary, undiluted: bool | None
) -> str | None:
    """Why a solution cannot be recorded as ``undiluted`` (None: it can). Only a contradiction
    is refused, nothing is inferred: "undiluted" is recorded only for a solution whose stability
    depends on it (ziconotide); an admixture is diluted by definition; an undiluted solution is
    one of the drug's stock strengths as supplied (the library's ``stock_concentrations``). A
    drug the library does not hold has no stability of its own here. The words give the reason
    and what is expected; each interface names its own field before them."""
    if undiluted is None:
        return None
    solution = [(_known(i.drug, library), i.concentration) for i in ingredients]
    if not any(drug is not None and depends_on_dilution(drug) for drug, _ in solution):
        return (
            "recorded only for a solution with ziconotide, whose in-pump stability depends on "
            "it; this solution has none"
        )
    if not undiluted:
        return None
    if len(solution) > 1:
        return (
            "an admixture is diluted by definition; only one drug at a stock strength, as "
            "supplied, is undiluted"
        )
    drug, concentration = solution[0]
    assert drug is not None  # the one drug is the one whose stability depends on it
    if any(_same(concentration, stock) for stock in drug.stock_concentrations):
        return None
    stocks = " or ".join(_shown(stock, drug) for stock in drug.stock_concentrations)
    return (
        f"{drug.name.lower()} {_shown(concentration, drug)} is not a stock strength "
        f"({stocks or 'the library has none'}); only a stock strength, as supplied, is undiluted"
    )


def refuse_undiluted(
    ingredients: Sequence[Ingredient], library: DrugLibrary, undiluted: bool | None
) -> None:
    """Refuse, on the field ``undiluted``, a record :func:`undiluted_problem` finds wrong (the
    visit's plan and the services; the calculator and the window name their own field)."""
    problem = undiluted_problem(ingredients, library, undiluted)
    if problem is not None:
        raise ImpossibleInput(f"undiluted: {problem}", code=Code.OUT_OF_RANGE, field="undiluted")


def recorded_undiluted(
    ingredients: Sequence[Ingredient], library: DrugLibrary, undiluted: bool | None
) -> bool | None:
    """The record of a stored refill as its stability limit reads it: one that contradicts its
    solution (:func:`undiluted_problem`; only a refill recorded before that was refused can)
    counts as not recorded, the diluted limit."""
    if undiluted is None or undiluted_problem(ingredients, library, undiluted) is None:
        return undiluted
    return None


def _known(key: str, library: DrugLibrary) -> Drug | None:
    try:
        return library.drug(key)
    except CatalogError:
        return None


def _same(a: Quantity, b: Quantity) -> bool:
    return math.isclose(float(a.to(MCG_PER_ML).m), float(b.to(MCG_PER_ML).m), rel_tol=1e-9)


def _shown(concentration: Quantity, drug: Drug) -> str:
    return format_quantity(concentration, Kind.CONCENTRATION, drug.display_unit)
