"""The patient history sheet: pumps, catheter, prescriptions, refills with discrepancies, events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sheet_samples import GENERATED, pdf_text

from pumpmgr.catalogs import default_catalogs
from pumpmgr.formatting import format_date, format_datetime, format_percent, format_quantity
from pumpmgr.records import ClinicSettings, FindingRecord, PatientChart
from pumpmgr.refill import discrepancy
from pumpmgr.reports import build_history
from pumpmgr.units import Q_, Kind

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

Sheet = Callable[..., bytes]
Charts = Callable[[str], PatientChart]


def test_every_pump_catheter_and_prescription(sheet: Sheet, sample_chart: Charts) -> None:
    chart = sample_chart("baclofen")
    text = pdf_text(sheet("history"))
    for pump in chart.pumps:
        for value in (
            pump.model_name,
            pump.serial_number,
            format_date(pump.implanted_on),
            format_quantity(pump.capacity, Kind.VOLUME),
        ):
            assert value in text, value
    assert "explanted " + format_date(chart.pumps[0].explanted_on) in text  # type: ignore[arg-type]
    assert chart.pumps[0].explant_reason in text
    assert chart.catheter is not None and chart.catheter.volume is not None
    assert format_quantity(chart.catheter.volume, Kind.VOLUME) in text
    assert (
        format_quantity(Q_("66 cm"), Kind.LENGTH)
        + " implanted, "
        + format_quantity(Q_("14 cm"), Kind.LENGTH)
        + " trimmed, "
        + format_quantity(Q_("0.0022 mL/cm"), Kind.VOLUME_PER_LENGTH)
    ) in text
    for rx in chart.prescriptions:
        assert format_datetime(rx.effective_at) in text
    assert format_quantity(Q_("450 mcg/day"), Kind.DOSE_RATE) in text
    assert format_quantity(Q_("545 mcg/day"), Kind.DOSE_RATE) in text
    assert "Flex, 4 steps" in text and "spasticity of spinal origin" in text
    assert chart.forecast is not None
    assert "Next refill due " + format_date(chart.forecast.refill_due) in text


def test_every_refill_with_its_discrepancy(sheet: Sheet, sample_chart: Charts) -> None:
    chart = sample_chart("baclofen")
    text = pdf_text(sheet("history"))
    for refill in chart.refills:
        assert format_datetime(refill.performed_at) in text
        assert refill.lot_number in text
        if refill.aspirated is None:
            continue
        assert refill.expected_residual is not None and refill.previous_fill_volume is not None
        found = discrepancy(
            fill_volume=refill.previous_fill_volume,
            expected=refill.expected_residual,
            actual=refill.aspirated,
            reservoir_capacity=Q_("20 mL"),
            accuracy_percent=14.5,
        )
        sign = "+" if float(found.difference.m) > 0 else ""
        row = " ".join(
            [
                format_quantity(refill.expected_residual, Kind.VOLUME),
                format_quantity(refill.aspirated, Kind.VOLUME),
                sign + format_quantity(found.difference, Kind.VOLUME),
                format_percent(found.delivery_error),  # type: ignore[arg-type]
                "INVESTIGATE" if found.verdict == "investigate" else "ok",
            ]
        )
        assert row in text, row
    assert "first fill" in text
    assert chart.refills[2].discrepancy_note in text
    assert "Expected against aspirated residual" in text


def test_events_and_corrections(sample_chart: Charts, settings: ClinicSettings) -> None:
    chart = sample_chart("baclofen")
    wrong = chart.refills[-1]
    fixed = replace(
        wrong,
        id=99,
        lot_number="LT9999",
        corrects_id=wrong.id,
        correction_reason="lot misread from the vial",
    )
    rx = chart.prescriptions[-1]
    rx_fixed = replace(
        rx,
        id=98,
        prescriber="Dr Q. Corrected",
        corrects_id=rx.id,
        correction_reason="prescriber name typed wrong",
    )
    text = pdf_text(
        build_history(
            replace(
                chart,
                refills=(*chart.refills, fixed),
                prescriptions=(*chart.prescriptions, rx_fixed),
            ),
            settings,
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    )
    assert f"#{wrong.id} (CORRECTED by #99): superseded, do not use" in text
    # the correction is printed right under the version it corrects, with its reason
    assert text.index(f"#{wrong.id} (CORRECTED by #99)") < text.index("LT9999")
    assert f"#99 (corrects #{wrong.id}) Corrected because: lot misread from the vial" in text
    assert f"#{rx.id} (CORRECTED by #98): superseded, do not use" in text
    assert (
        f"#98 (corrects #{rx.id}) Dose-check findings: none. Corrected because: prescriber "
        "name typed wrong"
    ) in text
    for event in chart.events:
        assert event.summary in text and format_datetime(event.occurred_at) in text


def test_a_prescription_with_many_findings_prints_them_across_the_page(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    """Six long findings with their reasons made a row taller than a page in a column of their
    own, and the history could not be printed; they now run across the page under the row."""
    chart = sample_chart("baclofen")
    rx = chart.prescriptions[-1]
    message = (
        "Baclofen 2,100 mcg/day is above the typical range, 20 mcg/day to 1,200 "
        "mcg/day. Save it only with a reason."
    )
    findings = tuple(
        FindingRecord(
            "warning",
            f"dose.code_{n}",
            f"({n}) {message}",
            "reached by gradual titration over months; tolerated",
        )
        for n in range(6)
    )
    text = pdf_text(
        build_history(
            replace(
                chart, prescriptions=(*chart.prescriptions[:-1], replace(rx, findings=findings))
            ),
            settings,
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    )
    assert f"Dose-check findings: warning: (0) {message[:-1]} (reason: " in text
    assert f"(5) {message[:-1]} (reason: reached by gradual titration" in text
    assert ".;" not in text  # a message's own full stop is not doubled by the list's ";"


def test_empty_history(sample_chart: Charts, settings: ClinicSettings) -> None:
    chart = replace(
        sample_chart("baclofen"),
        pump=None,
        pumps=(),
        catheter=None,
        prescription=None,
        forecast=None,
        prescriptions=(),
        refills=(),
        events=(),
    )
    text = pdf_text(build_history(chart, settings, generated_at=GENERATED, catalog=SHIPPED))
    for line in (
        "No pump recorded.",
        "No catheter recorded.",
        "No prescription recorded.",
        "No refill recorded.",
        "No event recorded.",
        "No refill has both an expected and an aspirated volume yet.",
    ):
        assert line in text


def test_a_corrected_correction_keeps_its_reason(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    """A correction that is itself corrected is struck as superseded, its reason still
    written out (not the struck cell's object)."""
    chart = sample_chart("baclofen")
    wrong = chart.refills[-1]
    first = replace(
        wrong,
        id=99,
        lot_number="LT9999",
        corrects_id=wrong.id,
        correction_reason="lot misread from the vial",
    )
    second = replace(
        first,
        id=100,
        lot_number="LT9998",
        corrects_id=99,
        correction_reason="the vial's lot, read again",
    )
    text = pdf_text(
        build_history(
            replace(chart, refills=(*chart.refills, first, second)),
            settings,
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    )
    assert f"#99 (corrects #{wrong.id}; CORRECTED by #100): superseded, do not use" in text
    assert "Corrected because: lot misread from the vial" in text
    assert "Corrected because: the vial's lot, read again" in text
    assert "Paragraph" not in text and "object at 0x" not in text
