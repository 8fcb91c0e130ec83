"""The bridge's one wording (:mod:`pumpmgr.wording`): every number with its unit, the bridge
when it can run, and what the patient gets meanwhile when it cannot (domain-rules §5)."""

from __future__ import annotations

from datetime import timedelta

from test_visit import FILLED, SETTINGS, SHIPPED, chart, prescription, refill, synchromed

from pumpmgr.deadspace import bridge
from pumpmgr.records import Ingredient
from pumpmgr.units import Q_
from pumpmgr.visit import plan_visit
from pumpmgr.wording import bridge_text, bridge_wording


def test_the_bridge_of_example_6_in_words() -> None:
    """Baclofen 1000 → 2000 mcg/mL at 300 mcg/day, dead space 0.35 mL."""
    computed = bridge(
        dose=Q_("300 mcg/day"),
        old_concentration=Q_("1000 mcg/mL"),
        new_concentration=Q_("2000 mcg/mL"),
        dead_space=Q_("0.35 mL"),
    )
    assert bridge_text(computed, "mcg") == (
        "Bridge: run the old rate of 0.3 mL/day for 28 h (dead space 0.35 mL: pump fluid path "
        "and catheter), then the new rate of 0.15 mL/day. Without a bridge the patient gets "
        "150 mcg/day for 2.33 days instead of 300 mcg/day."
    )


def test_a_constant_flow_change_says_why_no_bridge_and_the_dose_meanwhile() -> None:
    """IsoMed at 1 mL/day, morphine 4 → 5 mg/mL, dead space 0.5 mL: 4 mg/day for 12 h."""
    pump = synchromed(
        model_key="isomed-20",
        model_name="IsoMed 20 mL",
        pump_type="constant_flow",
        accuracy_percent=None,
        nominal_flow=Q_("1 mL/day"),
    )
    four = (Ingredient("morphine", Q_("4 mg/mL"), "mg"),)
    five = (Ingredient("morphine", Q_("5 mg/mL"), "mg"),)
    plan = plan_visit(
        chart(
            pump, [prescription(1, "4 mg/day", FILLED, four)], [refill(1, FILLED, ingredients=four)]
        ),
        FILLED + timedelta(days=11),
        settings=SETTINGS,
        new_ingredients=five,
        dead_space=Q_("0.5 mL"),
        drugs=SHIPPED.drugs,
    )
    words = bridge_wording(plan, SHIPPED)
    assert words.changes == ("Morphine: 4 mg/mL in the pump now, 5 mg/mL in the new solution.",)
    assert words.how == (
        "No bridge can be run: a constant-flow pump runs one fixed flow. The old solution "
        "flushes at the new rate for 12 h (dead space 0.5 mL: pump fluid path and catheter): "
        "watch the patient meanwhile.",
        "Meanwhile Morphine is delivered at 4 mg/day, then 5 mg/day.",
    )
