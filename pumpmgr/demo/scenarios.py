"""The demo's patients: the ten scenarios every demo starts with (so a small demo has
everything :mod:`pumpmgr.demo` lists), then randomly drawn patients.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from pumpmgr.demo.plans import (
    FLEX_DAY_NIGHT,
    FLEX_MORNING,
    Category,
    Event,
    Plan,
    PumpPlan,
    Regimen,
    baclofen_regimen,
    medtronic_catheter,
    open_day,
    prometra_catheter,
    random_regimen,
    serial_number,
    years,
)
from pumpmgr.demo.words import (
    SITES,
)
from pumpmgr.records import Indication

if TYPE_CHECKING:
    from pumpmgr.demo.builder import _Demo


def _p0_bridge_mri_replace_soon(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = open_day(demo.today - timedelta(days=round(6.7 * 365.25)))
    start = open_day(max(implanted, demo.first_day + timedelta(days=3)))
    return Plan(
        index,
        rng,
        demo.person(
            index,
            rng,
            "spasticity_spinal",
            46,
            notes="T6 incomplete spinal cord injury. Prefers morning appointments.",
        ),
        PumpPlan(
            "synchromed2-20",
            serial_number(rng, "NGV"),
            SITES[0],
            path_volume=0.142,
            replace_years=7.0,
        ),
        medtronic_catheter(rng),
        implanted,
        start,
        baclofen_regimen(1000, 480, flex=FLEX_DAY_NIGHT),
        "week",
        4,
        [
            Event(demo.fraction(start, 0.35), "concentration", value=2000),
            Event(demo.fraction(start, 0.6), "mri"),
        ],
    )


def _p1_constant_flow(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 4.0, 4.4)
    return Plan(
        index,
        rng,
        demo.person(index, rng, "non_cancer_pain", 63, notes="Failed back surgery syndrome."),
        PumpPlan(
            "isomed-35",
            serial_number(rng, "IM"),
            SITES[1],
            capacity="35 mL",
            nominal_flow="0.5 mL/day",
        ),
        medtronic_catheter(rng),
        implanted,
        implanted,
        Regimen(
            (("morphine", 4000.0),),
            2000.0,
            source="hospital pharmacy (compounded)",
            lot_prefix="CMP",
            shelf_days=(60, 90),
        ),
        "overdue",
        5,
        [Event(demo.fraction(implanted, 0.5), "concentration", value=5000)],
    )


def _p2_admixture_ptm(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 1.6, 1.9)
    return Plan(
        index,
        rng,
        demo.person(index, rng, "cancer_pain", 58, notes="Pancreatic cancer."),
        PumpPlan("prometra2-20", serial_number(rng, "P2"), SITES[0]),
        prometra_catheter(rng),
        implanted,
        implanted,
        Regimen(
            (("morphine", 10000.0), ("clonidine", 150.0)),
            3000.0,
            bolus=(100.0, 4, 3.0),
            boluses_used=1.5,
            source="hospital pharmacy (compounded)",
            lot_prefix="CMP",
            shelf_days=(45, 90),
        ),
        "fine",
        0,
        [
            Event(demo.fraction(implanted, 0.3), "adjust", value=1.25),
            Event(demo.fraction(implanted, 0.5), "less_returned"),
        ],
    )


def _p3_legacy_replacement(demo: _Demo, index: int, rng: random.Random) -> Plan:
    registered = open_day(demo.first_day + timedelta(days=17))
    return Plan(
        index,
        rng,
        demo.person(
            index,
            rng,
            "spasticity_cerebral",
            34,
            notes="Cerebral palsy; transferred from another clinic with a SynchroMed EL pump.",
        ),
        PumpPlan("synchromed-el-18", serial_number(rng, "NEL"), SITES[1], capacity="18 mL"),
        medtronic_catheter(rng),
        registered - years(4.6),
        registered,
        baclofen_regimen(500, 250),
        "fine",
        0,
        [
            Event(demo.fraction(registered, 0.2), "replace"),
            Event(demo.fraction(registered, 0.7), "revise"),
            Event(demo.fraction(registered, 0.8), "more_returned"),
        ],
    )


def _p4_ziconotide(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 3.0, 3.5)
    return Plan(
        index,
        rng,
        demo.person(
            index,
            rng,
            "non_cancer_pain",
            51,
            notes="Complex regional pain syndrome; opioids not tolerated.",
        ),
        PumpPlan(
            "synchromed2-40", serial_number(rng, "NGV"), SITES[0], replace_years=7.0, fill=20.0
        ),
        medtronic_catheter(rng),
        implanted,
        implanted,
        Regimen(
            (("ziconotide", 25.0),),
            2.4,
            source="manufacturer (Prialt)",
            lot_prefix="PRI",
            shelf_days=(180, 365),
            undiluted=True,
        ),
        "fine",
        0,
        [
            Event(demo.fraction(implanted, 0.15), "adjust", value=1.5),
            Event(demo.fraction(implanted, 0.4), "correction"),
        ],
    )


def _p5_titration(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 2.5, 3.0)
    return Plan(
        index,
        rng,
        demo.person(index, rng, "spasticity_spinal", 39, notes="Multiple sclerosis."),
        PumpPlan("prometra2-40", serial_number(rng, "P2"), SITES[1]),
        prometra_catheter(rng),
        implanted,
        implanted,
        baclofen_regimen(2000, 300),
        "overdue",
        2,
        [
            Event(demo.fraction(implanted, 0.3), "adjust", value=1.15),
            Event(demo.fraction(implanted, 0.45), "titrate", value=1.4),
        ],
    )


def _p6_hydromorphone_bupivacaine(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 0.8, 1.2)
    return Plan(
        index,
        rng,
        demo.person(
            index,
            rng,
            "cancer_pain",
            67,
            notes="Prostate cancer, vertebral metastases.",
            renal=True,
        ),
        PumpPlan("synchromed2-20", serial_number(rng, "NGV"), SITES[0], replace_years=7.0),
        medtronic_catheter(rng),
        implanted,
        implanted,
        Regimen(
            (("hydromorphone", 5000.0), ("bupivacaine", 10000.0)),
            1000.0,
            bolus=(50.0, 6, 2.0),
            boluses_used=2.0,
            source="hospital pharmacy (compounded)",
            lot_prefix="CMP",
            shelf_days=(45, 90),
        ),
        "week",
        5,
        [Event(demo.fraction(implanted, 0.5), "adjust", value=1.3)],
    )


def _p7_flex_scheduled(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 3.6, 4.4)
    return Plan(
        index,
        rng,
        demo.person(index, rng, "spasticity_spinal", 55),
        PumpPlan("synchromed2-40", serial_number(rng, "NGV"), SITES[1], replace_years=7.0),
        medtronic_catheter(rng),
        implanted,
        implanted,
        baclofen_regimen(2000, 800, flex=FLEX_MORNING),
        "fine",
        0,
        [Event(demo.fraction(implanted, 0.5), "adjust", value=1.1)],
    )


def _p8_morphine_ptm(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 2.0, 4.0)
    return Plan(
        index,
        rng,
        demo.person(index, rng, "non_cancer_pain", 71),
        PumpPlan("prometra2-20", serial_number(rng, "P2"), SITES[0]),
        prometra_catheter(rng),
        implanted,
        implanted,
        Regimen(
            (("morphine", 25000.0),),
            4000.0,
            bolus=(200.0, 3, 4.0),
            boluses_used=0.8,
            source="manufacturer (Infumorph)",
            lot_prefix="INF",
            shelf_days=(180, 365),
        ),
        "fine",
        0,
        [],
    )


def _p9_explanted(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 3.0, 4.0)
    return Plan(
        index,
        rng,
        demo.person(index, rng, "spasticity_cerebral", 28, notes="Traumatic brain injury."),
        PumpPlan("synchromed2-20", serial_number(rng, "NGV"), SITES[0], replace_years=7.0),
        medtronic_catheter(rng),
        implanted,
        implanted,
        baclofen_regimen(500, 180),
        "fine",
        0,
        [Event(demo.fraction(implanted, 0.6), "explant")],
    )


def random_patient(demo: _Demo, index: int, rng: random.Random) -> Plan:
    indication: Indication = rng.choices(
        ("spasticity_spinal", "spasticity_cerebral", "non_cancer_pain", "cancer_pain", "other"),
        (35, 20, 22, 13, 10),
    )[0]
    model = rng.choices(
        ("synchromed2-20", "synchromed2-40", "prometra2-20", "prometra2-40"), (35, 35, 15, 15)
    )[0]
    prometra = model.startswith("prometra")
    if indication == "cancer_pain":
        implanted = demo.history(rng, 0.2, 2.0)
    else:
        implanted = demo.history(rng, 0.3, 4.5)
    age = (
        rng.randint(11, 17)
        if indication == "spasticity_cerebral" and rng.random() < 0.2
        else rng.randint(25, 82)
    )
    regimen = random_regimen(rng, indication, prometra)
    # About one patient in eight is planned overdue and one in eight due this week (more end
    # up due soon by chance).
    category: Category = "overdue" if index % 8 == 3 else "week" if index % 8 == 5 else "fine"
    offset = rng.randint(1, 9) if category == "overdue" else rng.randint(2, 5)
    events: list[Event] = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        events.append(
            Event(
                demo.fraction(implanted, rng.uniform(0.1, 0.8)),
                "adjust",
                value=rng.choice((0.9, 1.1, 1.15, 1.2)),
            )
        )
    if rng.random() < 0.25:
        events.append(
            Event(
                demo.fraction(implanted, rng.uniform(0.2, 0.9)),
                rng.choice(("less_returned", "more_returned")),
            )
        )
    events.sort(key=lambda e: e.when)
    serial = serial_number(rng, "P2" if prometra else "NGV")
    return Plan(
        index,
        rng,
        demo.person(index, rng, indication, age),
        PumpPlan(
            model,
            serial,
            rng.choice(SITES),
            replace_years=None if prometra else 7.0,
            fill=20.0 if regimen.ingredients[0][0] == "ziconotide" else None,
        ),
        prometra_catheter(rng) if prometra else medtronic_catheter(rng),
        implanted,
        implanted,
        regimen,
        category,
        offset,
        events,
    )


SCENARIOS: tuple[Callable[[_Demo, int, random.Random], Plan], ...] = (
    _p0_bridge_mri_replace_soon,
    _p1_constant_flow,
    _p2_admixture_ptm,
    _p3_legacy_replacement,
    _p4_ziconotide,
    _p5_titration,
    _p6_hydromorphone_bupivacaine,
    _p7_flex_scheduled,
    _p8_morphine_ptm,
    _p9_explanted,
)
