"""dosing: daily volume, admixtures, baclofen starting dose."""

import pytest

from pumpmgr.dosing import admixture_doses, baclofen_start_dose, daily_volume, dose_for_volume
from pumpmgr.errors import InputError
from pumpmgr.units import Q_


@pytest.mark.parametrize(
    ("dose", "concentration", "ml_per_day"),
    [
        ("400 mcg/day", "2000 mcg/mL", 0.2),  # example 1
        ("5 mg/day", "25 mg/mL", 0.2),  # example 3
        ("150 mcg/day", "500 mcg/mL", 0.3),  # example 11
        ("0.4 mg/day", "2 mg/mL", 0.2),  # same physical input in mg
        ("16.6666667 mcg/h", "2000 mcg/mL", 0.2),  # per hour
    ],
)
def test_daily_volume(dose: str, concentration: str, ml_per_day: float) -> None:
    assert float(daily_volume(Q_(dose), Q_(concentration)).m) == pytest.approx(ml_per_day)


def test_admixture_each_drug_from_one_volume_rate() -> None:
    """Morphine 10 mg/mL + clonidine 100 mcg/mL at 0.3 mL/day: 3 mg and 30 mcg a day."""
    doses = admixture_doses(
        Q_(0.3, "mL/day"), [("morphine", Q_(10, "mg/mL")), ("clonidine", Q_(100, "mcg/mL"))]
    )
    assert float(doses["morphine"].to("mg/day").m) == pytest.approx(3)
    assert float(doses["clonidine"].to("mcg/day").m) == pytest.approx(30)
    assert float(dose_for_volume(Q_(0.2, "mL/day"), Q_(2000, "mcg/mL")).m) == pytest.approx(400)


@pytest.mark.parametrize(("hours", "dose"), [(6, 150), (8, 150), (8.5, 75)])
def test_example_11_baclofen_start(hours: float, dose: float) -> None:
    """75 mcg screening: 2 × 75 when the effect lasted 8 h or less, 1 × 75 beyond 8 h."""
    assert float(baclofen_start_dose(Q_(75, "mcg"), hours).m) == pytest.approx(dose)


def test_zero_or_wrong_kind_is_refused() -> None:
    with pytest.raises(InputError):
        daily_volume(Q_(0, "mcg/day"), Q_(2000, "mcg/mL"))
    with pytest.raises(InputError):
        daily_volume(Q_(400, "mcg"), Q_(2000, "mcg/mL"))
    with pytest.raises(InputError):
        baclofen_start_dose(Q_(75, "mcg"), -1)
