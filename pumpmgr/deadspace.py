"""Dead space: catheter volume, the priming bolus, and the bridge bolus at a concentration change.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. Formulas of domain-rules
section 5; worked examples in domain.md section 6, examples 6 and 7. The pump fluid-path volume
is unsourced for every model (domain.md section 1.1), so it is always the clinician's input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.units import (
    CM,
    HOUR,
    MCG_PER_DAY,
    ML,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    require_not_negative,
    require_positive,
)


@dataclass(frozen=True)
class CatheterSegment:
    """One implanted catheter segment: its implanted length and its volume per length."""

    length: Quantity  #: implanted length (supplied minus trimmed)
    volume_per_length: Quantity  #: from the catheter's IFU, e.g. 0.0026 mL/cm [S14]

    def __post_init__(self) -> None:
        require_positive(self.length, Kind.LENGTH, "segment length")
        require_positive(self.volume_per_length, Kind.VOLUME_PER_LENGTH, "volume per length")

    @property
    def volume(self) -> Quantity:
        return (self.length * self.volume_per_length).to(ML)


def implanted_length(supplied: Quantity, trimmed: Quantity) -> Quantity:
    """Implanted length = supplied length − trimmed length (Prometra: 110 cm − trimmed [S14])."""
    require_positive(supplied, Kind.LENGTH, "supplied length")
    require_not_negative(trimmed, Kind.LENGTH, "trimmed length")
    left = (supplied - trimmed).to(CM)
    if left.m <= 0:
        raise ImpossibleInput(
            "trimmed length: nothing of the catheter would be left implanted",
            code=Code.OUT_OF_RANGE,
            field="trimmed length",
        )
    return left


def catheter_volume(segments: Sequence[CatheterSegment]) -> Quantity:
    """``V_catheter = Σ L_i × v_i`` over the implanted segments, in mL."""
    if not segments:
        raise ImpossibleInput(
            "segment: give at least one catheter segment, for example '80 cm' '0.0026 mL/cm'",
            code=Code.OUT_OF_RANGE,
            field="segment",
        )
    return Q_(sum(float(s.volume.m) for s in segments), ML)


def priming_volume(catheter: Quantity, pump_path_volume: Quantity | None = None) -> Quantity:
    """Priming bolus = catheter volume, plus the pump's fluid path for a new pump.

    Given only under medical supervision [S34][S35].
    """
    total = require_not_negative(catheter, Kind.VOLUME, "catheter volume").to(ML)
    if pump_path_volume is not None:
        total = total + require_not_negative(pump_path_volume, Kind.VOLUME, "pump path volume").to(
            ML
        )
    return total


@dataclass(frozen=True)
class Bridge:
    """The bridge bolus for a concentration change and what happens without it."""

    dead_space: Quantity  #: mL still holding the old concentration
    bridge_volume: Quantity  #: the dead space, run at the old volume rate (mL)
    bridge_rate: Quantity  #: D / C_old (mL/day)
    bridge_duration: Quantity  #: V_ds × C_old / D
    new_rate: Quantity  #: D / C_new (mL/day)
    unbridged_dose: Quantity  #: D × C_old / C_new: the dose delivered without a bridge
    unbridged_duration: Quantity  #: V_ds / (D / C_new): how long that wrong dose lasts
    dose: Quantity  #: D, the daily dose the bridge keeps (mcg/day)


def bridge(
    *,
    dose: Quantity,
    old_concentration: Quantity,
    new_concentration: Quantity,
    dead_space: Quantity,
) -> Bridge:
    """Run the old rate ``D / C_old`` for ``V_ds × C_old / D``, then ``D / C_new``.

    Without it the patient gets ``D × C_old / C_new`` a day for ``V_ds / (D / C_new)`` days:
    half the dose when the concentration doubles, double when it halves.
    """
    require_positive(dose, Kind.DOSE_RATE, "dose")
    require_positive(old_concentration, Kind.CONCENTRATION, "old concentration")
    require_positive(new_concentration, Kind.CONCENTRATION, "new concentration")
    require_positive(dead_space, Kind.VOLUME, "dead space")
    old_rate = (dose / old_concentration).to(ML_PER_DAY)
    new_rate = (dose / new_concentration).to(ML_PER_DAY)
    return Bridge(
        dead_space=dead_space.to(ML),
        bridge_volume=dead_space.to(ML),
        bridge_rate=old_rate,
        bridge_duration=(dead_space / old_rate).to(HOUR),
        new_rate=new_rate,
        unbridged_dose=(dose * old_concentration / new_concentration).to(MCG_PER_DAY),
        unbridged_duration=(dead_space / new_rate).to(HOUR),
        dose=dose.to(MCG_PER_DAY),
    )
