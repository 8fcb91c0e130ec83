"""visit: the planned refill visit, checked by hand against domain.md section 6's examples."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from pumpmgr.catalogs import default_catalogs
from pumpmgr.errors import ImpossibleInput
from pumpmgr.forecast import RefillState
from pumpmgr.records import (
    CatheterRecord,
    ClinicSettings,
    Ingredient,
    PatientChart,
    PatientRecord,
    PrescriptionRecord,
    PumpRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.units import Q_
from pumpmgr.visit import (
    VisitPlan,
    live,
    local_chart,
    plan_compounding,
    plan_for_refill,
    plan_visit,
)

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

FILLED = datetime(2025, 3, 3)
SETTINGS = ClinicSettings(clinic_phone="+1 555 0100")
PATIENT = PatientRecord(1, "MRN-1", "Doe", "Jane", date(1970, 1, 1), "spasticity_spinal")


def ml(quantity: object) -> float:
    return float(quantity.to("mL").m)  # type: ignore[attr-defined]


def synchromed(**changes: object) -> PumpRecord:
    pump = PumpRecord(
        id=10,
        patient_id=1,
        model_key="synchromed2-20",
        model_name="SynchroMed II 20 mL",
        pump_type="programmable_peristaltic",
        serial_number="NGP123",
        implanted_on=date(2024, 1, 8),
        site="right abdomen",
        capacity=Q_("20 mL"),
        alarm_volume=Q_("2 mL"),
        accuracy_percent=14.5,
    )
    return replace(pump, **changes)  # type: ignore[arg-type]


def baclofen(concentration: str = "2000 mcg/mL") -> tuple[Ingredient, ...]:
    return (Ingredient("baclofen", Q_(concentration), "mcg"),)


def prescription(
    rx_id: int,
    dose: str,
    at: datetime,
    ingredients: tuple[Ingredient, ...] | None = None,
    bolus: PatientBolus | None = None,
    pump_id: int = 10,
) -> PrescriptionRecord:

    return PrescriptionRecord(
        id=rx_id,
        pump_id=pump_id,
        ingredients=ingredients or baclofen(),
        schedule=Schedule.simple(Q_(dose)),
        patient_bolus=bolus,
        effective_at=at,
        prescriber="Dr Who",
    )


def refill(
    refill_id: int,
    at: datetime,
    final: str = "20 mL",
    ingredients: tuple[Ingredient, ...] | None = None,
    pump_id: int = 10,
    **changes: object,
) -> RefillRecord:
    record = RefillRecord(
        id=refill_id,
        pump_id=pump_id,
        performed_at=at,
        previous_fill_volume=None,
        expected_residual=None,
        aspirated=None,
        discrepancy_verdict=None,
        discrepancy_difference=None,
        discrepancy_note="",
        volume_added=Q_(final),
        final_volume=Q_(final),
        ingredients=ingredients or baclofen(),
        lot_number="L1",
        expiry=date(2026, 1, 1),
        source="pharmacy",
        bridge_bolus=None,
        needle_position_confirmed=True,
        pump_running_confirmed=True,
        nurse="A",
        verifier="B",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def chart(
    pump: PumpRecord,
    prescriptions: list[PrescriptionRecord],
    refills: list[RefillRecord],
    catheter: CatheterRecord | None = None,
) -> PatientChart:
    return PatientChart(
        patient=PATIENT,
        pump=pump,
        catheter=catheter,
        prescription=prescriptions[-1],
        forecast=None,
        pumps=(pump,),
        prescriptions=tuple(prescriptions),
        refills=tuple(refills),
    )


def catheter(volume: str | None, pump_id: int = 10) -> CatheterRecord:
    return CatheterRecord(
        id=5,
        pump_id=pump_id,
        model_key="x",
        segments=(),
        tip_level="T10",
        implanted_on=date(2024, 1, 8),
        volume=None if volume is None else Q_(volume),
    )


def test_example_1_residual_plan_and_forecast() -> None:
    """20 mL at 0.2 mL/day for 60 days leaves 8 mL; refilled to 20 mL the pump alarms 90 days
    later (2025-07-31) and is due a week before, on Thursday 2025-07-24."""
    at = FILLED + timedelta(days=60)
    plan = plan_visit(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [refill(1, FILLED)]),
        at,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.expected_residual) == pytest.approx(8.0)
    assert ml(plan.refill.aspirated) == pytest.approx(8.0)
    assert ml(plan.refill.volume_to_add) == 20
    assert ml(plan.refill.waste) == pytest.approx(8.0)
    assert not plan.concentration_changed and plan.bridge_status == "not_needed"
    assert float(plan.doses[0].daily_dose.to("mcg/day").m) == pytest.approx(400)
    assert float(plan.program.daily_volume().to("mL/day").m) == pytest.approx(0.2)
    assert plan.forecast.alarm_at == datetime(2025, 7, 31)
    # alarm minus the buffer would be 2025-07-24; the pump running 14.5 % fast may reach the
    # alarm volume on Saturday 2025-07-19: the Friday before (domain-rules §3)
    assert dict(plan.forecast.limits)["alarm"] == date(2025, 7, 24)
    assert plan.forecast.refill_due == date(2025, 7, 18)
    assert plan.forecast.refill_due_reason == "worst_case"
    assert plan.forecast.accuracy_percent == 14.5 and plan.forecast.buffer_days == 7
    assert ml(plan.threshold) == 1
    assert plan.forecast.stability_days is None
    assert plan.stability_source == "none set in the drug library"


def test_residual_is_piecewise_over_prescriptions_since_the_fill() -> None:
    """30 days at 400 mcg/day (6 mL) then 30 at 600 mcg/day (9 mL): 20 − 15 = 5 mL; a
    prescription older than the fill counts from the fill."""
    rxs = [
        prescription(1, "300 mcg/day", FILLED - timedelta(days=200)),
        prescription(2, "400 mcg/day", FILLED - timedelta(days=10)),
        prescription(3, "600 mcg/day", FILLED + timedelta(days=30)),
    ]
    plan = plan_visit(
        chart(synchromed(), rxs, [refill(1, FILLED)]),
        FILLED + timedelta(days=60),
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.expected_residual) == pytest.approx(5.0)
    assert float(plan.program.daily_dose().m) == pytest.approx(600)


def test_recorded_bridge_volume_comes_out_of_the_residual() -> None:
    plan = plan_visit(
        chart(
            synchromed(),
            [prescription(1, "400 mcg/day", FILLED)],
            [refill(1, FILLED, bridge_bolus=Q_("0.5 mL"))],
        ),
        FILLED + timedelta(days=60),
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.expected_residual) == pytest.approx(7.5)


def test_corrected_refill_is_replaced_by_its_correction() -> None:
    """The correction (final 18 mL) counts, the record it corrects (20 mL) does not."""
    wrong = refill(1, FILLED)
    fixed = refill(2, FILLED, final="18 mL", corrects_id=1)
    assert live([wrong, fixed]) == (fixed,)
    plan = plan_visit(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [wrong, fixed]),
        FILLED + timedelta(days=60),
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.expected_residual) == pytest.approx(6.0)


def test_example_6_bridge_with_known_dead_space() -> None:
    """1000 → 2000 mcg/mL at 300 mcg/day, dead space 0.15 mL pump path + 0.2 mL catheter:
    run 0.3 mL/day for 28 h, then 0.15 mL/day; unbridged 150 mcg/day for 56 h."""
    rx = prescription(1, "300 mcg/day", FILLED, baclofen("1000 mcg/mL"))
    plan = plan_visit(
        chart(
            synchromed(pump_path_volume=Q_("0.15 mL")),
            [rx],
            [refill(1, FILLED, ingredients=baclofen("1000 mcg/mL"))],
            catheter("0.2 mL"),
        ),
        FILLED + timedelta(days=30),
        settings=SETTINGS,
        new_ingredients=baclofen("2000 mcg/mL"),
        drugs=SHIPPED.drugs,
    )
    assert plan.concentration_changed and plan.bridge_status == "computed"
    assert plan.bridge is not None
    assert ml(plan.dead_space) == pytest.approx(0.35)
    assert float(plan.bridge.bridge_rate.m) == pytest.approx(0.3)
    assert float(plan.bridge.bridge_duration.to("hour").m) == pytest.approx(28)
    assert float(plan.bridge.new_rate.m) == pytest.approx(0.15)
    assert float(plan.bridge.unbridged_dose.m) == pytest.approx(150)
    change = plan.changes[0]
    assert float(change.flushing_dose.to("mcg/day").m) == pytest.approx(150)  # type: ignore[union-attr]
    assert float(plan.flush_duration.to("hour").m) == pytest.approx(56)  # type: ignore[union-attr]
    # The dose is kept, so the volume rate halves: 30 days at 0.3 mL/day left 11 mL.
    assert ml(plan.expected_residual) == pytest.approx(11.0)
    assert float(plan.doses[0].daily_dose.m) == pytest.approx(300)


def test_unknown_dead_space_is_said_not_skipped() -> None:
    """The change and the half dose without a bridge are still there; what is missing is named."""
    rx = prescription(1, "300 mcg/day", FILLED, baclofen("1000 mcg/mL"))
    plan = plan_visit(
        chart(
            synchromed(),
            [rx],
            [refill(1, FILLED, ingredients=baclofen("1000 mcg/mL"))],
            catheter("0.2 mL"),
        ),
        FILLED + timedelta(days=30),
        settings=SETTINGS,
        new_ingredients=baclofen("2000 mcg/mL"),
        drugs=SHIPPED.drugs,
    )
    assert plan.bridge_status == "dead_space_unknown"
    assert plan.bridge is None and plan.dead_space is None and plan.flush_duration is None
    assert plan.dead_space_missing == ("pump fluid-path volume",)
    assert float(plan.changes[0].flushing_dose.m) == pytest.approx(150)  # type: ignore[union-attr]
    given = plan_visit(
        chart(synchromed(), [rx], [refill(1, FILLED, ingredients=baclofen("1000 mcg/mL"))]),
        FILLED + timedelta(days=30),
        settings=SETTINGS,
        new_ingredients=baclofen("2000 mcg/mL"),
        dead_space=Q_("0.35 mL"),
        drugs=SHIPPED.drugs,
    )
    assert given.bridge_status == "computed" and given.dead_space_missing == ()


def test_new_prescription_concentration_is_the_default_solution() -> None:
    """A prescription written at a new concentration is what gets filled; the pump still holds
    the old one, so the bridge shows without being asked for."""
    rxs = [
        prescription(1, "300 mcg/day", FILLED, baclofen("1000 mcg/mL")),
        prescription(2, "300 mcg/day", FILLED + timedelta(days=20), baclofen("2000 mcg/mL")),
    ]
    plan = plan_visit(
        chart(synchromed(), rxs, [refill(1, FILLED, ingredients=baclofen("1000 mcg/mL"))]),
        FILLED + timedelta(days=30),
        settings=SETTINGS,
        dead_space=Q_("0.35 mL"),
        drugs=SHIPPED.drugs,
    )
    assert plan.ingredients == baclofen("2000 mcg/mL")
    assert plan.bridge_status == "computed"


def test_admixture_doses_and_morphine_stability() -> None:
    """Morphine 10 mg/mL + clonidine 100 mcg/mL at 3 mg/day morphine: 0.3 mL/day, so clonidine
    30 mcg/day; with 4 × 0.1 mg boluses 3.4 mg/day and 34 mcg/day. Morphine's 90-day stability
    beats the alarm: due 2025-06-01, a Sunday, so Friday 2025-05-30."""
    mix = (
        Ingredient("morphine", Q_("10 mg/mL"), "mg"),
        Ingredient("clonidine", Q_("100 mcg/mL"), "mcg"),
    )
    rx = prescription(
        1, "3 mg/day", FILLED - timedelta(days=1), mix, PatientBolus(Q_("0.1 mg"), 4, Q_("3 h"))
    )
    plan = plan_visit(
        chart(synchromed(model_key="synchromed2-40", capacity=Q_("40 mL")), [rx], []),
        FILLED,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    morphine, clonidine = plan.doses
    assert float(morphine.daily_dose.to("mg/day").m) == pytest.approx(3)
    assert float(clonidine.daily_dose.to("mcg/day").m) == pytest.approx(30)
    assert float(morphine.max_daily_dose.to("mg/day").m) == pytest.approx(3.4)
    assert float(clonidine.max_daily_dose.to("mcg/day").m) == pytest.approx(34)
    assert plan.first_fill and plan.residual is None and ml(plan.refill.aspirated) == 0
    assert ml(plan.threshold) == 2
    assert plan.forecast.stability_days == 90
    assert plan.stability_source == "drug library: Morphine"
    assert plan.forecast.refill_due_reason == "stability"
    assert plan.forecast.refill_due == date(2025, 5, 30)


def test_first_fill_priming_volume() -> None:
    """Priming = catheter 0.208 mL + pump path 0.1 mL (domain.md example 7)."""
    pump = synchromed(pump_path_volume=Q_("0.1 mL"))
    plan = plan_visit(
        chart(pump, [prescription(1, "400 mcg/day", FILLED)], [], catheter("0.208 mL")),
        FILLED,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.priming) == pytest.approx(0.308)
    unknown = plan_visit(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], []),
        FILLED,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert unknown.priming is None
    assert any("catheter volume is not known" in note for note in unknown.notes)


def test_ziconotide_first_fill_of_a_new_pump_is_due_within_14_days() -> None:
    zic = (Ingredient("ziconotide", Q_("25 mcg/mL"), "mcg"),)
    rx = prescription(1, "1.2 mcg/day", FILLED, zic)
    plan = plan_visit(chart(synchromed(), [rx], []), FILLED, settings=SETTINGS, drugs=SHIPPED.drugs)
    assert plan.forecast.stability_days == 14
    assert plan.forecast.refill_due == date(2025, 3, 17)  # Monday, 14 days on
    assert plan.stability_source == "drug library: Ziconotide; the pump's first ziconotide fill"


def test_ziconotide_stability_follows_the_recorded_undiluted_never_the_strength() -> None:
    """domain-rules §3: 25 mcg/mL diluted (from 100 mcg/mL) is stable 40 days, the same
    strength recorded undiluted 84; not recorded (a refill made before it was), 40 and the
    reason says why."""
    zic = (Ingredient("ziconotide", Q_("25 mcg/mL"), "mcg"),)
    rx = prescription(1, "1.2 mcg/day", FILLED, zic)
    filled = chart(synchromed(), [rx], [refill(1, FILLED, ingredients=zic, undiluted=True)])

    def plan(undiluted: bool | None) -> VisitPlan:
        return plan_visit(
            filled,
            FILLED + timedelta(days=14),
            settings=SETTINGS,
            drugs=SHIPPED.drugs,
            undiluted=undiluted,
        )

    assert plan(False).forecast.stability_days == 40
    assert plan(False).stability_source == "drug library: Ziconotide"
    assert plan(True).forecast.stability_days == 84
    legacy = plan(None)
    assert legacy.forecast.stability_days == 40
    assert legacy.stability_source == (
        "drug library: Ziconotide; stability of a diluted solution: not recorded as undiluted"
    )
    # the completed worksheet's plan reads the refill's own record
    again = refill(2, FILLED + timedelta(days=14), ingredients=zic)
    on_record = replace(filled, refills=(*filled.refills, again))
    assert plan_for_refill(
        on_record, again, settings=SETTINGS, drugs=SHIPPED.drugs
    ).stability_source.endswith("not recorded as undiluted")
    assert (
        plan_for_refill(
            on_record, replace(again, undiluted=True), settings=SETTINGS, drugs=SHIPPED.drugs
        ).forecast.stability_days
        == 84
    )


def test_a_ziconotide_naive_pump_takes_the_recorded_undiluted_stock_strength_only() -> None:
    """domain-rules §6: the pump's first ziconotide fill is undiluted 25 mcg/mL, as recorded:
    25 mcg/mL diluted, or not recorded, gets the note; undiluted 100 mcg/mL too; a pump that
    held ziconotide before none."""
    zic = (Ingredient("ziconotide", Q_("25 mcg/mL"), "mcg"),)
    strong = (Ingredient("ziconotide", Q_("100 mcg/mL"), "mcg"),)
    rxs = [
        prescription(1, "400 mcg/day", FILLED - timedelta(days=40)),
        prescription(2, "1.2 mcg/day", FILLED - timedelta(hours=1), zic),
    ]
    baclofen_before = chart(synchromed(), rxs, [refill(1, FILLED - timedelta(days=30))])

    def naive(
        ingredients: tuple[Ingredient, ...],
        undiluted: bool | None,
        on: PatientChart = baclofen_before,
    ) -> tuple[str, ...]:
        plan = plan_visit(
            on,
            FILLED,
            settings=SETTINGS,
            drugs=SHIPPED.drugs,
            new_ingredients=ingredients,
            undiluted=undiluted,
        )
        assert set(plan.naive_pump) <= set(plan.notes)
        return plan.naive_pump

    assert naive(zic, True) == ()
    assert naive(zic, False) == (
        "this is the pump's first ziconotide fill: the label asks for "
        "the undiluted 25 mcg/mL solution only, and this one is not "
        "recorded as undiluted",
    )
    assert naive(zic, None) == naive(zic, False)
    assert naive(strong, True)[0].endswith("and this one is 100 mcg/mL")
    held = chart(synchromed(), rxs, [refill(1, FILLED - timedelta(days=30), ingredients=zic)])
    assert naive(zic, False, held) == ()


def test_a_pump_on_baclofen_switched_to_ziconotide_takes_the_first_fill_limit() -> None:
    """domain-rules §3: 14 days after the pump's first ziconotide fill, whatever it held
    before (it took 84 here, keyed to the pump's first fill of anything); a pump that held
    ziconotide before takes 84."""
    zic = (Ingredient("ziconotide", Q_("25 mcg/mL"), "mcg"),)
    rxs = [
        prescription(1, "400 mcg/day", FILLED - timedelta(days=400)),
        prescription(2, "1.2 mcg/day", FILLED - timedelta(hours=1), zic),
    ]
    years = [refill(i, FILLED - timedelta(days=400 - 90 * i)) for i in range(1, 5)]

    def plan(*refills: RefillRecord) -> VisitPlan:
        return plan_visit(
            chart(synchromed(), rxs, list(refills)),
            FILLED,
            settings=SETTINGS,
            drugs=SHIPPED.drugs,
            new_ingredients=zic,
            undiluted=True,
        )

    switched = plan(*years)
    assert switched.forecast.stability_days == 14
    assert switched.stability_source.endswith("the pump's first ziconotide fill")
    before = refill(5, FILLED - timedelta(days=30), ingredients=zic)
    assert plan(*years, before).forecast.stability_days == 84


def test_a_stored_record_that_contradicts_its_solution_reads_as_not_recorded() -> None:
    """A refill recorded before the contradiction was refused (ziconotide 50 mcg/mL "undiluted")
    is replayed, not refused, with the diluted limit: 40 days, never 84."""
    fifty = (Ingredient("ziconotide", Q_("50 mcg/mL"), "mcg"),)
    rx = prescription(1, "2.4 mcg/day", FILLED - timedelta(days=30), fifty)
    first = refill(1, FILLED - timedelta(days=30), ingredients=fifty, undiluted=True)
    again = refill(2, FILLED, ingredients=fifty, undiluted=True)
    on_record = chart(synchromed(), [rx], [first, again])
    plan = plan_for_refill(on_record, again, settings=SETTINGS, drugs=SHIPPED.drugs)
    assert plan.forecast.stability_days == 40
    assert plan.stability_source.endswith("not recorded as undiluted")


def test_undiluted_is_refused_for_an_admixture_or_a_strength_not_supplied() -> None:
    """plan_visit refuses what the service refuses: an admixture is diluted by definition,
    ziconotide 50 mcg/mL is not a stock strength; recorded diluted, both are planned."""
    rx = prescription(1, "400 mcg/day", FILLED - timedelta(days=40))
    filled = chart(synchromed(), [rx], [refill(1, FILLED - timedelta(days=30))])
    mixed = (
        Ingredient("ziconotide", Q_("25 mcg/mL"), "mcg"),
        Ingredient("clonidine", Q_("500 mcg/mL"), "mcg"),
    )
    fifty = (Ingredient("ziconotide", Q_("50 mcg/mL"), "mcg"),)
    for ingredients, words in (
        (mixed, "undiluted: an admixture is diluted by definition"),
        (fifty, r"undiluted: ziconotide 50 mcg/mL is not a stock strength"),
    ):
        with pytest.raises(ImpossibleInput, match=words) as refused:
            plan_visit(
                filled,
                FILLED,
                settings=SETTINGS,
                drugs=SHIPPED.drugs,
                new_ingredients=ingredients,
                new_schedule=Schedule.simple(Q_("2.4 mcg/day")),
                undiluted=True,
            )
        assert refused.value.field == "undiluted"
        diluted = plan_visit(
            filled,
            FILLED,
            settings=SETTINGS,
            drugs=SHIPPED.drugs,
            new_ingredients=ingredients,
            new_schedule=Schedule.simple(Q_("2.4 mcg/day")),
            undiluted=False,
        )
        assert diluted.forecast.stability_days == 14


def test_constant_flow_change_flushes_at_the_fixed_flow() -> None:
    """IsoMed, 1.0 mL/day: morphine 4 → 5 mg/mL. No bridge can run; the 0.5 mL dead space keeps
    giving 4 mg/day for 12 h. Full 20 mL alarms at 2 mL after 18 days."""
    pump = synchromed(
        model_key="isomed-20",
        model_name="IsoMed 20 mL",
        pump_type="constant_flow",
        accuracy_percent=None,
        nominal_flow=Q_("1 mL/day"),
    )
    four = (Ingredient("morphine", Q_("4 mg/mL"), "mg"),)
    five = (Ingredient("morphine", Q_("5 mg/mL"), "mg"),)
    rx = prescription(1, "4 mg/day", FILLED, four)
    plan = plan_visit(
        chart(pump, [rx], [refill(1, FILLED, ingredients=four)]),
        FILLED + timedelta(days=11),
        settings=SETTINGS,
        new_ingredients=five,
        dead_space=Q_("0.5 mL"),
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.expected_residual) == pytest.approx(9.0)
    assert plan.bridge_status == "not_possible" and plan.bridge is None
    assert float(plan.doses[0].daily_dose.to("mg/day").m) == pytest.approx(5)
    assert float(plan.changes[0].flushing_dose.to("mg/day").m) == pytest.approx(4)  # type: ignore[union-attr]
    assert float(plan.flush_duration.to("hour").m) == pytest.approx(12)  # type: ignore[union-attr]
    assert plan.forecast.days_to_alarm == pytest.approx(18)
    assert any("accuracy is not known" in note for note in plan.notes)
    with pytest.raises(ImpossibleInput, match="constant-flow"):
        plan_visit(
            chart(pump, [rx], []),
            FILLED,
            settings=SETTINGS,
            new_schedule=Schedule.simple(Q_("5 mg/day")),
            drugs=SHIPPED.drugs,
        )


def test_refuses_a_new_dosed_drug_without_a_schedule_and_a_chart_without_pump() -> None:
    rx = prescription(1, "400 mcg/day", FILLED)
    with pytest.raises(ImpossibleInput, match="give the new schedule"):
        plan_visit(
            chart(synchromed(), [rx], []),
            FILLED,
            settings=SETTINGS,
            new_ingredients=(Ingredient("morphine", Q_("10 mg/mL"), "mg"),),
            drugs=SHIPPED.drugs,
        )
    with pytest.raises(ImpossibleInput, match="no active pump"):
        plan_visit(
            replace(chart(synchromed(), [rx], []), pump=None),
            FILLED,
            settings=SETTINGS,
            drugs=SHIPPED.drugs,
        )


def test_plan_for_refill_is_the_plan_just_before_it() -> None:
    """The completed sheet's "before" half: the residual at the refill from the fill before."""
    first = refill(1, FILLED)
    second = refill(2, FILLED + timedelta(days=60), final="19 mL")
    plan = plan_for_refill(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [first, second]),
        second,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert plan.last_refill == first
    assert ml(plan.expected_residual) == pytest.approx(8.0)
    assert ml(plan.refill.final_volume) == 19


def test_a_bolus_given_at_the_fill_brings_the_alarm_forward() -> None:
    """20 mL at 0.2 mL/day alarms 90 days after the fill; a 0.5 mL bridge bolus given from the
    reservoir at the fill brings it 2.5 days forward, on the planned and the completed sheet
    alike (as the stored forecast counts it)."""
    at = FILLED + timedelta(days=60)
    rx = [prescription(1, "400 mcg/day", FILLED)]
    planned = plan_visit(
        chart(synchromed(), rx, [refill(1, FILLED)]),
        at,
        settings=SETTINGS,
        bolus_given=Q_("0.5 mL"),
        drugs=SHIPPED.drugs,
    )
    assert planned.forecast.alarm_at == datetime(2025, 7, 31) - timedelta(days=2.5)
    done = refill(2, at, bridge_bolus=Q_("0.5 mL"))
    completed = plan_for_refill(
        chart(synchromed(), rx, [refill(1, FILLED), done]),
        done,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert completed.forecast.alarm_at == planned.forecast.alarm_at
    with pytest.raises(ImpossibleInput) as too_much:
        plan_visit(
            chart(synchromed(), rx, [refill(1, FILLED)]),
            at,
            settings=SETTINGS,
            bolus_given=Q_("21 mL"),
            drugs=SHIPPED.drugs,
        )
    assert too_much.value.field == "bolus volume"


def test_example_8_compounding_for_a_constant_flow_pump() -> None:
    """Morphine 4 mg/day at 1.0 mL/day: 4 mg/mL; 20 mL from 25 mg/mL is 3.2 mL + 16.8 mL."""
    pump = synchromed(
        model_key="isomed-20",
        pump_type="constant_flow",
        accuracy_percent=None,
        nominal_flow=Q_("1 mL/day"),
    )
    four = (Ingredient("morphine", Q_("4 mg/mL"), "mg"),)
    plan = plan_visit(
        chart(pump, [prescription(1, "4 mg/day", FILLED, four)], []),
        FILLED,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    made = plan_compounding(plan, {"morphine": Q_("25 mg/mL")}, drugs=SHIPPED.drugs)
    assert ml(made.lines[0].result.stock_volume) == pytest.approx(3.2)
    assert ml(made.diluent_volume) == pytest.approx(16.8)
    # the library's weakest strong-enough stock: 10 mg/mL
    chosen = plan_compounding(plan, drugs=SHIPPED.drugs)
    assert chosen.lines[0].stock_from_library
    assert ml(chosen.lines[0].result.stock_volume) == pytest.approx(8.0)


def test_admixture_compounding_shares_the_diluent() -> None:
    """20 mL of morphine 10 mg/mL (8 mL of 25 mg/mL) + clonidine 100 mcg/mL (4 mL of 500 mcg/mL):
    8 mL diluent."""
    mix = (
        Ingredient("morphine", Q_("10 mg/mL"), "mg"),
        Ingredient("clonidine", Q_("100 mcg/mL"), "mcg"),
    )
    plan = plan_visit(
        chart(synchromed(), [prescription(1, "3 mg/day", FILLED, mix)], []),
        FILLED,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    made = plan_compounding(
        plan, {"morphine": Q_("25 mg/mL"), "clonidine": Q_("500 mcg/mL")}, drugs=SHIPPED.drugs
    )
    assert [ml(line.result.stock_volume) for line in made.lines] == pytest.approx([8, 4])
    assert ml(made.diluent_volume) == pytest.approx(8)
    with pytest.raises(ImpossibleInput, match="stock"):
        plan_compounding(
            plan, {"morphine": Q_("25 mg/mL")}, drugs=SHIPPED.drugs
        )  # clonidine: no library stock


def test_local_chart_turns_utc_instants_into_wall_clock_times() -> None:
    """A refill stored at 08:00 UTC on 3 March happened at 09:00 in Paris (CET, UTC+1); one on
    2 May at 07:00 UTC happened at 09:00 (CEST, UTC+2). Naive times stay as they are."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    rx = prescription(1, "400 mcg/day", datetime(2025, 3, 1, 8, tzinfo=UTC))
    first = refill(1, datetime(2025, 3, 3, 8, tzinfo=UTC))
    second = refill(2, datetime(2025, 5, 2, 7, tzinfo=UTC))
    local = local_chart(chart(synchromed(), [rx], [first, second]), paris)
    assert [r.performed_at for r in local.refills] == [
        datetime(2025, 3, 3, 9),
        datetime(2025, 5, 2, 9),
    ]
    assert local.prescription is not None
    assert local.prescription.effective_at == datetime(2025, 3, 1, 9)
    assert local_chart(local, paris) == local
    plan = plan_visit(local, datetime(2025, 5, 2, 9), settings=SETTINGS, drugs=SHIPPED.drugs)
    assert plan.last_refill == local.refills[-1]


def test_with_the_zone_time_runs_on_the_pumps_clock_across_a_clock_change() -> None:
    """Berlin's clocks go forward on Sunday 29 March 2026. Filled on Friday 27 March at 09:00
    (CET) and refilled on Monday 30 March at 09:00 (CEST), the pump ran 71 hours, not the wall
    clock's 72: 0.2 mL/day leaves 20 − 0.2 × 71/24 mL. Refilled to 20 mL on Saturday 24
    October 2026 at 23:30 (CEST), the alarm 90 real days later is 22 January 2027 at 22:30 CET
    (the wall clock's 23:30 is an hour late), and the due date a week before it."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    rx = prescription(1, "400 mcg/day", datetime(2026, 3, 27, 8))
    filled = chart(synchromed(), [rx], [refill(1, datetime(2026, 3, 27, 9))])
    at = datetime(2026, 3, 30, 9)
    real = plan_visit(filled, at, settings=SETTINGS, tz=berlin, drugs=SHIPPED.drugs)
    assert real.residual is not None
    assert real.residual.elapsed_days == pytest.approx(71 / 24)
    assert ml(real.expected_residual) == pytest.approx(20 - 0.2 * 71 / 24)
    wall = plan_visit(filled, at, settings=SETTINGS, drugs=SHIPPED.drugs)
    assert ml(wall.expected_residual) == pytest.approx(20 - 0.6)
    assert real.forecast.alarm_at == wall.forecast.alarm_at == datetime(2026, 6, 28, 9)

    late = datetime(2026, 10, 24, 23, 30)
    real = plan_visit(filled, late, settings=SETTINGS, tz=berlin, drugs=SHIPPED.drugs)
    assert real.forecast.alarm_at == datetime(2027, 1, 22, 22, 30)
    assert real.forecast.days_to_alarm == pytest.approx(90)
    # the alarm limit counts real days across the change; the worst case (14.5 % fast) is
    # earlier and sets the date (domain-rules §3)
    assert dict(real.forecast.limits)["alarm"] == date(2027, 1, 15)
    assert real.forecast.refill_due == date(2027, 1, 11)
    assert real.forecast.refill_due_reason == "worst_case"
    assert plan_visit(
        filled, late, settings=SETTINGS, drugs=SHIPPED.drugs
    ).forecast.alarm_at == datetime(2027, 1, 22, 23, 30)


# --- issue 11: the states before the refill, the expiry, the measured over-delivery ----------


def test_a_pump_past_its_empty_time_is_computed_empty_at_the_visit() -> None:
    """20 mL at 0.2 mL/day is empty after 100 days; at day 105 the unfloored residual is
    −1 mL: shown as 0, kept below 0, the state computed empty, the dry time from the worst
    case (14.5 % fast: empty at 87.3 days)."""
    at = FILLED + timedelta(days=105)
    plan = plan_visit(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [refill(1, FILLED)]),
        at,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert ml(plan.expected_residual) == 0
    assert plan.residual is not None and ml(plan.residual.unfloored_residual) == pytest.approx(-1)
    assert plan.state is RefillState.COMPUTED_EMPTY
    assert plan.may_have_run_dry_at == pytest.approx(
        FILLED + timedelta(days=20 / 0.229), abs=timedelta(seconds=1)
    )


def test_the_dry_time_is_the_stored_forecasts_only_when_it_is_this_fills() -> None:
    """Computed empty at day 105 in a clinic's zone: the stored forecast's worst-case empty
    time is said when it is the forecast of this fill; another fill's (a past visit replayed
    with the chart's newest forecast) is never taken for it."""
    at = FILLED + timedelta(days=105)
    records = chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [refill(1, FILLED)])
    stored_dry = FILLED + timedelta(days=87, hours=7)

    def with_forecast(filled_at: datetime) -> PatientChart:
        forecast = StoredForecast(
            pump_id=records.pump.id,  # type: ignore[union-attr]
            filled_at=filled_at,
            fill_volume=Q_(20, "mL"),
            daily_volume=Q_(0.2, "mL/day"),
            alarm_at=filled_at + timedelta(days=90),
            alarm_at_with_boluses=filled_at + timedelta(days=90),
            refill_due=(filled_at + timedelta(days=80)).date(),
            refill_due_reason="worst_case",
            empty_at=filled_at + timedelta(days=100),
            empty_at_worst_case=stored_dry.replace(tzinfo=UTC),
        )
        return replace(records, forecast=forecast)

    def dry_at(records: PatientChart) -> datetime | None:
        plan = plan_visit(records, at, settings=SETTINGS, drugs=SHIPPED.drugs, tz=UTC)
        return plan.may_have_run_dry_at

    assert dry_at(with_forecast(FILLED)) == stored_dry
    assert dry_at(with_forecast(FILLED + timedelta(days=120))) == pytest.approx(
        FILLED + timedelta(days=20 / 0.229), abs=timedelta(seconds=1)
    )


def test_may_be_empty_and_alarm_passed_at_the_visit() -> None:
    records = chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [refill(1, FILLED)])
    # day 90: nominal 2 mL (the alarm volume); worst case 20 − 1.145 × 18 = −0.61 mL
    assert (
        plan_visit(
            records, FILLED + timedelta(days=90), settings=SETTINGS, drugs=SHIPPED.drugs
        ).state
        is RefillState.MAY_BE_EMPTY
    )
    # day 88: nominal 2.4 mL, worst 20 − 1.145 × 17.6 = −0.15: may be empty
    # day 85: nominal 3 mL, worst 0.535 mL: none yet
    assert (
        plan_visit(
            records, FILLED + timedelta(days=85), settings=SETTINGS, drugs=SHIPPED.drugs
        ).state
        is None
    )
    alarm = plan_visit(
        chart(
            synchromed(accuracy_percent=0.0),
            [prescription(1, "400 mcg/day", FILLED)],
            [refill(1, FILLED)],
        ),
        FILLED + timedelta(days=90),
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert alarm.state is RefillState.ALARM_PASSED


def test_an_expiry_before_the_due_date_moves_it_and_the_plan_says_so() -> None:
    records = chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [refill(1, FILLED)])
    at = FILLED + timedelta(days=60)
    plan = plan_visit(
        records,
        at,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
        expires_on=at.date() + timedelta(days=30),
    )
    assert plan.expiry_moved_due and plan.forecast.refill_due_reason == "expiry"
    # expires Sunday 2025-06-01: due the Friday before
    assert plan.forecast.refill_due == date(2025, 5, 30)
    assert any(
        "expires on 2025-06-01" in note and "moves to 2025-05-30" in note for note in plan.notes
    )
    later = plan_visit(
        records, at, settings=SETTINGS, drugs=SHIPPED.drugs, expires_on=date(2026, 1, 1)
    )
    assert not later.expiry_moved_due
    with pytest.raises(ImpossibleInput) as expired:
        plan_visit(
            records,
            at,
            settings=SETTINGS,
            drugs=SHIPPED.drugs,
            expires_on=at.date() - timedelta(days=1),
        )
    assert expired.value.field == "expiry"
    with pytest.raises(ImpossibleInput) as compounded:
        plan_visit(records, at, settings=SETTINGS, drugs=SHIPPED.drugs, compounded=True)
    assert "beyond-use date" in compounded.value.message


def test_the_over_delivery_measured_at_the_last_refill_widens_the_worst_case() -> None:
    """The last refill found 20 % over-delivery (expected 8, 5.6 back of 20): a = 20 %, not
    the labelled 14.5 %."""
    last = refill(
        1,
        FILLED,
        previous_fill_volume=Q_("20 mL"),
        expected_residual=Q_("8 mL"),
        aspirated=Q_("5.6 mL"),
    )
    plan = plan_visit(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [last]),
        FILLED + timedelta(days=30),
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert plan.accuracy is not None and plan.accuracy.measured
    assert plan.accuracy.percent == pytest.approx(20)
    assert plan.forecast.days_to_alarm_worst_case == pytest.approx(18 / (0.2 * 1.2))


def test_a_difference_within_a_syringes_reading_is_not_a_measured_over_delivery() -> None:
    """A refill minutes after a fill found 0.1 mL less than expected: within a syringe's
    reading error (0.5 mL), so ``a`` stays the labelled 14.5 %, as in the stored forecast,
    instead of an over-delivery of thousands of percent that refuses the plan."""
    last = refill(
        2,
        FILLED,
        previous_fill_volume=Q_("20 mL"),
        expected_residual=Q_("19.9999 mL"),
        aspirated=Q_("19.9 mL"),
    )
    plan = plan_visit(
        chart(synchromed(), [prescription(1, "400 mcg/day", FILLED)], [last]),
        FILLED + timedelta(days=30),
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
    )
    assert plan.accuracy is not None and not plan.accuracy.measured
    assert plan.accuracy.percent == pytest.approx(14.5)


def test_closed_dates_and_the_clinic_interval_reach_the_plan() -> None:
    records = chart(
        synchromed(accuracy_percent=0.0),
        [prescription(1, "400 mcg/day", FILLED)],
        [refill(1, FILLED)],
    )
    at = FILLED + timedelta(days=60)  # 2025-05-02; baclofen's 180 days do not bind here
    plan = plan_visit(
        records,
        at,
        drugs=SHIPPED.drugs,
        settings=replace(SETTINGS, closed_dates=frozenset({date(2025, 7, 24), date(2025, 7, 23)})),
    )
    assert plan.forecast.refill_due == date(2025, 7, 22)
    assert plan.interval_source == "drug library: baclofen"


def test_the_dry_time_counts_every_program_since_the_fill_not_todays_rate() -> None:
    """800 mcg/day (0.4 mL/day) from the fill, lowered to 200 mcg/day (0.1 mL/day) on day 60;
    the worst case (14.5 % fast) empties 20 mL after 20 / 0.458 = 43.7 days, before the
    change. Counted back at today's lower rate from day 80 it said day −5, before the fill."""
    records = chart(
        synchromed(),
        [
            prescription(1, "800 mcg/day", FILLED),
            prescription(2, "200 mcg/day", FILLED + timedelta(days=60)),
        ],
        [refill(1, FILLED)],
    )
    plan = plan_visit(records, FILLED + timedelta(days=80), settings=SETTINGS, drugs=SHIPPED.drugs)
    assert plan.may_have_run_dry_at == pytest.approx(
        FILLED + timedelta(days=20 / (0.4 * 1.145)), abs=timedelta(minutes=1)
    )
