"""Residuals across refills: each refill's expected against aspirated residual, the difference
and the delivery error, for the patient's table and the chart's tooltips (issue 13).

Pure layer: stdlib and pint only. The difference is the one the refill stored (expected,
unfloored, minus aspirated); the delivery error is :func:`pumpmgr.refill.measured_error_percent`,
the ``e`` the refill's verdict and the completed worksheet give (domain-rules section 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pumpmgr.formatting import format_percent, format_quantity
from pumpmgr.records import RefillRecord
from pumpmgr.refill import Verdict, measured_error_percent
from pumpmgr.units import ML, Kind, Quantity


@dataclass(frozen=True)
class ResidualRow:
    refill_id: int
    performed_at: datetime
    expected: Quantity  #: the residual pumpmgr expected, mL (floored at 0, as stored)
    aspirated: Quantity  #: mL
    difference: Quantity  #: expected (unfloored) minus aspirated, mL; positive: less came back
    error_percent: float | None  #: the delivery error; None when nothing was due
    verdict: Verdict | None

    def difference_text(self) -> str:
        shown = format_quantity(self.difference, Kind.VOLUME)
        return "+" + shown if float(self.difference.to(ML).m) > 0 and shown != "0 mL" else shown

    def error_text(self) -> str:
        return (
            "nothing was due"
            if self.error_percent is None
            else format_percent(self.error_percent / 100)
        )


def residual_rows(refills: Sequence[RefillRecord]) -> list[ResidualRow]:
    """One row for each refill with an expected and an aspirated residual, in time order."""
    rows = []
    for refill in sorted(refills, key=lambda r: r.performed_at):
        if (
            refill.expected_residual is None
            or refill.aspirated is None
            or refill.discrepancy_difference is None
        ):
            continue
        error = None
        if refill.previous_fill_volume is not None and refill.previous_fill_volume.m > 0:
            error = measured_error_percent(
                fill_volume=refill.previous_fill_volume,
                expected=refill.aspirated + refill.discrepancy_difference,
                actual=refill.aspirated,
            )
        rows.append(
            ResidualRow(
                refill.id,
                refill.performed_at,
                refill.expected_residual,
                refill.aspirated,
                refill.discrepancy_difference,
                error,
                refill.discrepancy_verdict,
            )
        )
    return rows


def tooltip_text(row: ResidualRow, when: str) -> str:
    """What a point of the residual chart says when pointed at (``when``: the refill's date
    and time in the clinic's words)."""
    verdict = "" if row.verdict is None else f"; {row.verdict.replace('_', ' ')}"
    return (
        f"{when}: expected {format_quantity(row.expected, Kind.VOLUME)}, aspirated "
        f"{format_quantity(row.aspirated, Kind.VOLUME)}, difference "
        f"{row.difference_text()}, delivery error {row.error_text()}{verdict}"
    )
