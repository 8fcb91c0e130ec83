"""A refill found empty on the sheets, in the visit note and in the export: the verdict in its
words (never 'ok'), the restart with its time without drug and the over-infusion risk
(domain-rules §3, §4; issue 11)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sheet_samples import GENERATED, INVESTIGATE_FOUND, SETTINGS, baclofen_chart, pdf_text

from pumpmgr.alerts import OVER_INFUSION_RISK_TEXT, patient_alerts
from pumpmgr.catalogs import default_catalogs
from pumpmgr.fhir import chart_entries
from pumpmgr.note_template import default_template_text, parse_template
from pumpmgr.records import PatientChart, RefillRecord
from pumpmgr.reports import build_history, build_refill_worksheet
from pumpmgr.units import Q_
from pumpmgr.visit import plan_for_refill
from pumpmgr.visit_note import RecordRef, visit_note

SHIPPED = default_catalogs()


def _emptied(
    hours_without: float | None, *, aspirated: str = "0.3 mL", verdict: str = "found_empty"
) -> tuple[PatientChart, RefillRecord]:
    """The sample chart whose refill 13 found the reservoir empty (or, with ``verdict``, a
    withdrawal restart), the worst case empty ``hours_without`` before it."""
    chart = baclofen_chart()
    old = chart.refills[2]
    refill = replace(
        old,
        aspirated=Q_(aspirated),
        discrepancy_verdict=verdict,  # type: ignore[arg-type]
        discrepancy_difference=old.expected_residual - Q_(aspirated),  # type: ignore[operator]
        discrepancy_note="rebound spasticity",
        bedside=INVESTIGATE_FOUND,
        empty_at_worst_case=None
        if hours_without is None
        else old.performed_at - timedelta(hours=hours_without),
    )
    refills = tuple(refill if r.id == old.id else r for r in chart.refills)
    return replace(chart, refills=refills), refill


def _worksheet(chart: PatientChart, refill: RefillRecord) -> str:
    plan = plan_for_refill(chart, refill, settings=SETTINGS, drugs=SHIPPED.drugs)
    return " ".join(
        pdf_text(
            build_refill_worksheet(
                chart, plan, SETTINGS, completed=refill, generated_at=GENERATED, catalog=SHIPPED
            )
        ).split()
    )


def test_the_completed_worksheet_says_found_empty_never_ok() -> None:
    chart, refill = _emptied(60)
    text = _worksheet(chart, refill)
    assert "RESERVOIR FOUND EMPTY" in text
    assert "Discrepancy verdict: OK" not in text
    assert (
        "RESTART: the reservoir was found empty; the patient shows withdrawal; up to "
        "2.5 days without drug (worst-case empty from Sat 28 Sep 2024 22:00); "
        "over-infusion risk"
    ) in text


def test_a_withdrawal_restart_at_48_hours_carries_no_over_infusion_risk() -> None:
    chart, refill = _emptied(48, aspirated="5 mL", verdict="ok")
    text = _worksheet(chart, refill)
    assert (
        "RESTART: the patient shows withdrawal; up to 2 days without drug (worst-case "
        "empty from Sun 29 Sep 2024 10:00); the next dose is checked as a start"
    ) in text
    assert "over-infusion risk" not in text
    chart, refill = _emptied(48.5, aspirated="5 mL", verdict="ok")
    assert "over-infusion risk" in _worksheet(chart, refill)


def test_the_history_sheet_the_note_and_the_export_name_the_verdict() -> None:
    chart, refill = _emptied(None)
    history = " ".join(
        pdf_text(build_history(chart, SETTINGS, generated_at=GENERATED, catalog=SHIPPED)).split()
    )
    assert "FOUND EMPTY" in history
    note = visit_note(
        chart,
        RecordRef("refill", refill.id),
        template=parse_template(default_template_text()),
        settings=SETTINGS,
        catalog=SHIPPED,
    )
    assert "Discrepancy verdict: FOUND EMPTY (threshold 1 mL" in note
    assert (
        "Restart: yes: the reservoir was found empty; the patient shows withdrawal; time "
        "without drug not known (the worst case is not yet empty); over-infusion risk"
    ) in note
    texts = [
        entry["resource"]["valueCodeableConcept"]["text"]
        for entry in chart_entries(chart, mrn_system="urn:x", catalog=SHIPPED)
        if "valueCodeableConcept" in entry["resource"]
    ]
    assert "Found empty" in texts


def test_the_over_infusion_risk_and_the_state_head_the_patients_alerts() -> None:
    """domain-rules §3: the flag shows on the page and the worksheet; the state before a
    refill on the page (the worksheet has its own box), from the moment it is reached."""
    chart = baclofen_chart()
    stored = chart.forecast
    assert stored is not None
    assert patient_alerts(chart, UTC) == []
    flagged = replace(chart, forecast=replace(stored, over_infusion_risk=True))
    assert [a.text for a in patient_alerts(flagged, UTC)] == [OVER_INFUSION_RISK_TEXT]

    def states(now: datetime) -> list[str]:
        return [a.text.split(":")[0] for a in patient_alerts(chart, UTC, now)]

    assert states(stored.alarm_at - timedelta(seconds=1)) == []
    assert states(stored.alarm_at) == ["ALARM PASSED"]
    assert states(stored.empty_at - timedelta(seconds=1)) == ["ALARM PASSED"]
    assert states(stored.empty_at) == ["COMPUTED EMPTY"]
    assert all(a.urgent for a in patient_alerts(chart, UTC, stored.empty_at))
    plan = plan_for_refill(flagged, flagged.refills[-1], settings=SETTINGS, drugs=SHIPPED.drugs)
    sheet = " ".join(
        pdf_text(
            build_refill_worksheet(flagged, plan, SETTINGS, generated_at=GENERATED, catalog=SHIPPED)
        ).split()
    )
    assert "OVER-INFUSION RISK: this pump ran empty" in sheet
