"""forecasting.fill_point: what the refill-due date's limits take from a pump's refills."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pumpmgr.db import schema as db
from pumpmgr.services import forecasting

START = datetime(2025, 3, 3, 8, tzinfo=UTC)


def refill(days: int, *, final: float = 20.0, added: float = 20.0, expected: float = 0.0,
           aspirated: float = 0.0, verdict: str = "ok", expiry: date = date(2026, 1, 1),
           unfloored: float | None = None) -> db.Refill:
    return db.Refill(performed_at=START + timedelta(days=days), final_reservoir_ml=final,
                     volume_added_ml=added, expected_residual_ml=expected,
                     expected_residual_unfloored_ml=unfloored, aspirated_ml=aspirated,
                     discrepancy_verdict=verdict, expiry_date=expiry, bolus_volume_ml=None)


def test_a_first_fill() -> None:
    point = forecasting.fill_point([refill(0, verdict="first_fill")])
    assert point is not None and point.first_fill
    assert point.measured_error_percent is None and point.solution_filled_at is None
    assert point.expires_on == date(2026, 1, 1) and not point.ran_empty
    assert forecasting.fill_point([]) is None


def test_the_over_delivery_measured_at_the_last_refill() -> None:
    """20 mL filled, 8 expected, 5.6 back: e = +20 %; within the syringe's 0.5 mL: none."""
    point = forecasting.fill_point([refill(0, verdict="first_fill"),
                                    refill(60, expected=8.0, aspirated=5.6)])
    assert point is not None and point.measured_error_percent == pytest.approx(20)
    close = forecasting.fill_point([refill(0, verdict="first_fill"),
                                    refill(60, expected=8.0, aspirated=7.6)])
    assert close is not None and close.measured_error_percent is None


def test_a_top_up_keeps_the_older_fill_and_the_earliest_expiry() -> None:
    """The second refill left 6 mL of the first solution and added 14 mL."""
    point = forecasting.fill_point([
        refill(0, verdict="first_fill", expiry=date(2025, 6, 1)),
        refill(30, final=20.0, added=14.0, expected=6.0, aspirated=0.0,
               expiry=date(2025, 9, 1))])
    assert point is not None
    assert point.solution_filled_at == START
    assert point.expires_on == date(2025, 6, 1)


def test_a_pump_found_empty_carries_the_flag() -> None:
    point = forecasting.fill_point([refill(0, verdict="first_fill"),
                                    refill(110, verdict="found_empty", unfloored=-2.0),
                                    refill(150, expected=10.0, aspirated=10.1)])
    assert point is not None and point.ran_empty


def test_an_admixture_is_diluted_for_the_stability_limit() -> None:
    """domain-rules §3: ziconotide 25 mcg/mL alone is undiluted (84 days); with morphine it is
    diluted (40 days), as the visit plan counts it; the stored forecast agreed only alone."""
    from pumpmgr.catalogs import default_catalogs
    from pumpmgr.records import Ingredient, PrescriptionRecord
    from pumpmgr.schedule import Schedule
    from pumpmgr.units import Q_

    def days(*ingredients: Ingredient) -> float | None:
        rx = PrescriptionRecord(id=1, pump_id=1, ingredients=ingredients,
                                schedule=Schedule.simple(Q_("2 mcg/day")), patient_bolus=None,
                                effective_at=START, prescriber="Dr A")
        return forecasting.stability_days(rx, default_catalogs().drugs, first_fill=False)

    ziconotide = Ingredient("ziconotide", Q_("25 mcg/mL"))
    assert days(ziconotide) == 84
    assert days(ziconotide, Ingredient("morphine", Q_("10 mg/mL"))) == 40
