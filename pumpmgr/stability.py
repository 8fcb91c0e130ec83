"""The in-pump stability limit of one fill (domain-rules §3 and §6), pure.

Ziconotide's limit depends on whether the solution is undiluted, as supplied by the
manufacturer: a property of the solution recorded at the refill, never inferred from its
concentration (a solution diluted to exactly the stock strength is still diluted). Where it was
not recorded (refills made before it was), the shorter, diluted limit applies and the reason says
so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pumpmgr.catalogs import Drug
from pumpmgr.units import DAY

#: What the refill-due reason adds when the diluted limit stands in for a missing record.
NOT_RECORDED = "stability of a diluted solution: not recorded as undiluted"


def depends_on_dilution(drug: Drug) -> bool:
    """Whether the drug's in-pump stability differs for an undiluted solution (ziconotide)."""
    return drug.stability.undiluted is not None


@dataclass(frozen=True)
class StabilityLimit:
    days: float
    drug: Drug  #: the drug whose limit is the shortest
    #: the diluted limit was taken because "undiluted" was not recorded
    not_recorded: bool = False

    @property
    def source(self) -> str:
        """Where the limit came from, as the refill-due reason names it."""
        words = f"drug library: {self.drug.name}"
        return f"{words}; {NOT_RECORDED}" if self.not_recorded else words


def stability_limit(
    drugs: Sequence[Drug], *, first_fill: bool, undiluted: bool | None
) -> StabilityLimit | None:
    """The shortest in-pump stability limit of a solution's drugs (None: none set).

    ``first_fill``: the pump's first fill, which has its own limit where the drug sets one.
    ``undiluted``: as recorded at the refill; None (not recorded) takes the diluted limit."""
    best: StabilityLimit | None = None
    for drug in drugs:
        limit = drug.stability.limit(diluted=undiluted is not True, new_pump_first_fill=first_fill)
        if limit is None:
            continue
        own_first = first_fill and drug.stability.new_pump_first_fill is not None
        found = StabilityLimit(
            float(limit.to(DAY).m),
            drug,
            undiluted is None and depends_on_dilution(drug) and not own_first,
        )
        if best is None or found.days < best.days:
            best = found
    return best
