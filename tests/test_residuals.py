"""Residuals across refills: the rows the patient's table and the chart's tooltips show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from pumpmgr.records import RefillRecord
from pumpmgr.refill import measured_error_percent
from pumpmgr.residuals import residual_rows, tooltip_text
from pumpmgr.units import Q_


def _refill(
    number: int,
    day: int,
    *,
    expected: str | None,
    aspirated: str | None,
    difference: str | None,
    previous: str | None = "20 mL",
    verdict: str | None = "ok",
) -> RefillRecord:
    return RefillRecord(
        id=number,
        pump_id=1,
        performed_at=datetime(2025, 3, day, 9, tzinfo=UTC),
        previous_fill_volume=None if previous is None else Q_(previous),
        expected_residual=None if expected is None else Q_(expected),
        aspirated=None if aspirated is None else Q_(aspirated),
        discrepancy_verdict=verdict,  # type: ignore[arg-type]
        discrepancy_difference=None if difference is None else Q_(difference),
        discrepancy_note="",
        volume_added=Q_("20 mL"),
        final_volume=Q_("20 mL"),
        ingredients=(),
        lot_number="L1",
        expiry=date(2026, 1, 1),
        source="pharmacy",
        bridge_bolus=None,
        needle_position_confirmed=True,
        pump_running_confirmed=True,
        nurse="N",
        verifier="V",
    )


def test_each_refill_with_both_residuals_gives_a_row_in_time_order() -> None:
    first = _refill(
        1, 1, expected=None, aspirated=None, difference=None, previous=None, verdict=None
    )
    later = _refill(
        3, 20, expected="4.6 mL", aspirated="3 mL", difference="1.6 mL", verdict="investigate"
    )
    ok = _refill(2, 10, expected="5 mL", aspirated="5.2 mL", difference="-0.2 mL")
    rows = residual_rows([later, first, ok])
    assert [r.refill_id for r in rows] == [2, 3]
    assert rows[1].difference_text() == "+1.6 mL" and rows[0].difference_text() == "-0.2 mL"
    # the delivery error is refill.measured_error_percent on the unfloored expected residual
    assert rows[1].error_percent == pytest.approx(
        measured_error_percent(fill_volume=Q_("20 mL"), expected=Q_("4.6 mL"), actual=Q_("3 mL"))
    )
    assert rows[1].error_text() == "+10.4 %"
    assert tooltip_text(rows[1], "Thu 20 Mar 2025 09:00") == (
        "Thu 20 Mar 2025 09:00: expected 4.6 mL, aspirated 3 mL, difference +1.6 mL, "
        "delivery error +10.4 %; investigate"
    )


def test_a_floored_expected_residual_keeps_the_stored_difference() -> None:
    """The pump was computed empty: expected is shown as 0 mL, the difference is the stored
    one (unfloored expected minus aspirated), and nothing due means no delivery error."""
    floored = _refill(4, 25, expected="0 mL", aspirated="0.3 mL", difference="-1.3 mL")
    (row,) = residual_rows([floored])
    assert row.difference_text() == "-1.3 mL" and row.error_percent is not None
    nothing_due = replace(
        floored, previous_fill_volume=Q_("0.5 mL"), discrepancy_difference=Q_("0.5 mL")
    )
    (row,) = residual_rows([nothing_due])
    assert row.error_percent is None and row.error_text() == "nothing was due"
