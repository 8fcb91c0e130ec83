"""forecasting.fill_point: what the refill-due date's limits take from a pump's refills."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pumpmgr.db import schema as db
from pumpmgr.services import forecasting

START = datetime(2025, 3, 3, 8, tzinfo=UTC)


def refill(
    days: int,
    *,
    final: float = 20.0,
    added: float = 20.0,
    expected: float = 0.0,
    aspirated: float = 0.0,
    verdict: str = "ok",
    expiry: date = date(2026, 1, 1),
    unfloored: float | None = None,
    undiluted: bool | None = None,
) -> db.Refill:
    return db.Refill(
        performed_at=START + timedelta(days=days),
        final_reservoir_ml=final,
        volume_added_ml=added,
        expected_residual_ml=expected,
        expected_residual_unfloored_ml=unfloored,
        aspirated_ml=aspirated,
        discrepancy_verdict=verdict,
        expiry_date=expiry,
        bolus_volume_ml=None,
        undiluted=undiluted,
    )


BACLOFEN, ZICONOTIDE = frozenset({"baclofen"}), frozenset({"ziconotide"})


def fill_point(
    refills: list[db.Refill], drugs: list[frozenset[str]] | None = None
) -> forecasting.FillPoint | None:
    """:func:`forecasting.fill_point`, every refill of baclofen unless ``drugs`` says."""
    return forecasting.fill_point(refills, [BACLOFEN] * len(refills) if drugs is None else drugs)


def test_a_first_fill() -> None:
    point = fill_point([refill(0, verdict="first_fill")])
    assert point is not None and point.first_fill_of == BACLOFEN
    assert point.measured_error_percent is None and point.solution_filled_at is None
    assert point.expires_on == date(2026, 1, 1) and not point.ran_empty
    assert fill_point([]) is None


def test_the_first_fill_is_the_pumps_first_of_each_drug() -> None:
    """domain-rules §3: ziconotide's 14 days follow the pump's first ziconotide fill, not its
    first fill: baclofen for years, then ziconotide, is a first ziconotide fill; the next
    ziconotide fill is not; a top-up keeps the first fill's solution and so its limit; a
    restart after the pump ran empty is not a first fill of a drug it held."""
    years = [refill(0, verdict="first_fill"), refill(90), refill(180)]
    switched = fill_point([*years, refill(270)], [BACLOFEN] * 3 + [ZICONOTIDE])
    assert switched is not None and switched.first_fill_of == ZICONOTIDE
    again = fill_point([*years, refill(270), refill(280)], [BACLOFEN] * 3 + [ZICONOTIDE] * 2)
    assert again is not None and again.first_fill_of == frozenset()
    topped = fill_point(
        [*years, refill(270), refill(280, added=14.0, expected=6.0)],
        [BACLOFEN] * 3 + [ZICONOTIDE] * 2,
    )
    assert topped is not None and topped.first_fill_of == ZICONOTIDE
    restarted = fill_point(
        [refill(0, verdict="first_fill"), refill(60, verdict="found_empty", unfloored=-2.0)],
        [ZICONOTIDE] * 2,
    )
    assert restarted is not None and restarted.first_fill_of == frozenset()


def test_the_over_delivery_measured_at_the_last_refill() -> None:
    """20 mL filled, 8 expected, 5.6 back: e = +20 %; within the syringe's 0.5 mL: none."""
    point = fill_point([refill(0, verdict="first_fill"), refill(60, expected=8.0, aspirated=5.6)])
    assert point is not None and point.measured_error_percent == pytest.approx(20)
    close = fill_point([refill(0, verdict="first_fill"), refill(60, expected=8.0, aspirated=7.6)])
    assert close is not None and close.measured_error_percent is None


def test_a_top_up_keeps_the_older_fill_and_the_earliest_expiry() -> None:
    """The second refill left 6 mL of the first solution and added 14 mL."""
    point = fill_point(
        [
            refill(0, verdict="first_fill", expiry=date(2025, 6, 1)),
            refill(
                30, final=20.0, added=14.0, expected=6.0, aspirated=0.0, expiry=date(2025, 9, 1)
            ),
        ]
    )
    assert point is not None
    assert point.solution_filled_at == START
    assert point.expires_on == date(2025, 6, 1)


def test_a_pump_found_empty_carries_the_flag() -> None:
    point = fill_point(
        [
            refill(0, verdict="first_fill"),
            refill(110, verdict="found_empty", unfloored=-2.0),
            refill(150, expected=10.0, aspirated=10.1),
        ]
    )
    assert point is not None and point.ran_empty


def test_the_stability_limit_follows_the_record_never_the_concentration() -> None:
    """domain-rules §3: ziconotide 25 mcg/mL recorded undiluted is stable 84 days; the same
    strength diluted (from 100 mcg/mL), or not recorded, 40 days; an admixture recorded
    diluted 40. The first fill of a new pump 14 days, whatever was recorded."""
    from pumpmgr.catalogs import default_catalogs

    def days(*drugs: str, undiluted: bool | None, first_fill: bool = False) -> float | None:
        return forecasting.stability_days(
            drugs,
            default_catalogs().drugs,
            first_fill_of=frozenset(drugs) if first_fill else frozenset(),
            undiluted=undiluted,
        )

    assert days("ziconotide", undiluted=True) == 84
    assert days("ziconotide", undiluted=False) == 40
    assert days("ziconotide", undiluted=None) == 40
    assert days("ziconotide", undiluted=True, first_fill=True) == 14
    assert days("ziconotide", "morphine", undiluted=False) == 40


def test_the_solution_in_the_pump_is_undiluted_only_when_every_fill_of_it_was() -> None:
    """A top-up mixes: undiluted only when each refill of the solution recorded it, diluted
    when one recorded diluted, else not recorded."""

    def undiluted(first: bool | None, second: bool | None) -> bool | None:
        point = fill_point(
            [
                refill(0, verdict="first_fill", undiluted=first),
                refill(30, final=20.0, added=14.0, expected=6.0, undiluted=second),
            ]
        )
        assert point is not None
        return point.undiluted

    assert undiluted(True, True) is True
    assert undiluted(True, False) is False
    assert undiluted(None, True) is None
    emptied = fill_point(
        [refill(0, verdict="first_fill", undiluted=False), refill(30, undiluted=True)]
    )
    assert emptied is not None and emptied.undiluted is True


def test_a_stored_record_that_contradicts_its_solution_reads_as_not_recorded() -> None:
    """A refill recorded before the contradiction was refused: ziconotide 50 mcg/mL or an
    admixture "undiluted" takes the diluted limit (not recorded); 25 mcg/mL keeps its record."""
    from pumpmgr.catalogs import default_catalogs

    library = default_catalogs().drugs
    assert forecasting.stored_undiluted((("ziconotide", 50.0),), library, True) is None
    mixed = (("ziconotide", 25.0), ("clonidine", 500.0))
    assert forecasting.stored_undiluted(mixed, library, True) is None
    assert forecasting.stored_undiluted((("ziconotide", 25.0),), library, True) is True
    assert forecasting.stored_undiluted((("ziconotide", 50.0),), library, False) is False
