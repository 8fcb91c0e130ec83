"""The Stop order's words (domain-rules §6): the banner for a long and a short stop, the drug's
withdrawal warning where the catalog has one, and where a refused zero dose points to."""

from __future__ import annotations

from datetime import date

import pytest

from pumpmgr.catalogs import load_catalogs
from pumpmgr.cli import main
from pumpmgr.errors import InputError
from pumpmgr.schedule import Schedule
from pumpmgr.stop_orders import (
    STOP_ORDER_FROM_COMMAND_LINE,
    STOP_ORDER_IN_WINDOW,
    stop_order_text,
    withdrawal_warning,
)
from pumpmgr.units import Q_


def test_a_long_stop_asks_for_the_pump_to_be_emptied_and_filled_with_saline() -> None:
    text = stop_order_text(
        drug="Baclofen",
        effective=date(2026, 12, 7),
        prescriber="Dr Brandt",
        reason="intolerable drowsiness.",
        long_stop=True,
    )
    assert text == (
        "STOP ORDER: baclofen stopped from Mon 7 Dec 2026 by Dr Brandt (intolerable "
        "drowsiness). Empty the pump and fill it with preservative-free saline (a "
        "long stop)."
    )


def test_a_short_stop_says_nothing_of_saline() -> None:
    text = stop_order_text(
        drug="Ziconotide",
        effective=date(2026, 12, 7),
        prescriber="Dr Brandt",
        reason="psychiatric symptoms",
        long_stop=False,
    )
    assert text == (
        "STOP ORDER: ziconotide stopped from Mon 7 Dec 2026 by Dr Brandt (psychiatric symptoms)."
    )
    assert "saline" not in text


def test_the_withdrawal_warning_comes_from_the_catalog_where_it_has_one() -> None:
    library = load_catalogs().drugs
    baclofen, ziconotide = library.drug("baclofen"), library.drug("ziconotide")
    warning = withdrawal_warning(
        drug=baclofen.name,
        withdrawal_on_cut=baclofen.withdrawal_on_cut,
        withdrawal_signs=baclofen.withdrawal_signs,
    )
    assert warning.startswith("WITHDRAWAL: stopping baclofen can cause withdrawal; watch for: ")
    assert "rhabdomyolysis" in warning and warning.endswith(".")
    # ziconotide may be stopped abruptly (label): no warning
    assert (
        withdrawal_warning(
            drug=ziconotide.name,
            withdrawal_on_cut=ziconotide.withdrawal_on_cut,
            withdrawal_signs=ziconotide.withdrawal_signs,
        )
        == ""
    )


def test_a_zero_daily_dose_in_the_window_points_to_the_prescriber_menu() -> None:
    with pytest.raises(InputError) as refused:
        Schedule.simple(Q_("0 mcg/day"))
    assert refused.value.field == "dose"
    assert refused.value.message == (
        "dose: must be more than zero (to stop the drug, use Prescriber → Stop a drug…)"
    )
    assert STOP_ORDER_IN_WINDOW in refused.value.message


def test_a_zero_dose_on_the_command_line_points_to_the_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["calc", "check-dose", "--drug", "baclofen", "--dose", "0 mcg/day"])
    err = capsys.readouterr().err
    assert code != 0
    assert "give a prescriber's Stop order in the window" in err
    assert STOP_ORDER_FROM_COMMAND_LINE in err
