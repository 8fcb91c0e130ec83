"""The patient's wallet card: a folding credit-card-sized card (front and back side by side).

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit, formatting,
catalogs); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. Front: who, which pump, which drug at
which concentration and dose, the next refill and alarm dates, the clinic's phone. Back: the
warning signs and the pump model's MRI note. Two copies to a page (one for a carer). Text that
would not fit is shrunk to fit rather than cut off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Flowable,
    Frame,
    KeepInFrame,
    Paragraph,
    Spacer,
)

from pumpmgr import catalogs
from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.records import (
    ClinicSettings,
    Ingredient,
    PatientChart,
    PrescriptionRecord,
    PumpRecord,
)
from pumpmgr.visit import is_constant_flow, program_of, pump_prescriptions, pump_refills

from . import common
from .styles import (
    BOLD,
    FONT,
    INK,
    RULE,
    STYLES,
    Section,
    SectionStart,
    build_pdf,
    frame_width,
    para,
    text,
    title_block,
)

TITLE = "Intrathecal pump wallet card"
CARD_WIDTH = 85.6 * mm  #: ISO/IEC 7810 ID-1, a credit card
CARD_HEIGHT = 53.98 * mm
PADDING = 2.8 * mm
CORNER = 3 * mm

_BODY = ParagraphStyle("card", fontName=FONT, fontSize=8.5, leading=10.2, textColor=INK)
_BOLD = ParagraphStyle("card_bold", parent=_BODY, fontName=BOLD)
_BIG = ParagraphStyle("card_big", parent=_BODY, fontName=BOLD, fontSize=11, leading=13.2)
_BAND = ParagraphStyle(
    "card_band", parent=_BODY, fontName=BOLD, fontSize=8, leading=9.6, textColor=colors.white
)
_SMALL = ParagraphStyle("card_small", parent=_BODY, fontSize=7, leading=8.3)
_BACK_BOLD = ParagraphStyle("card_back_bold", parent=_SMALL, fontName=BOLD)


def card_section(chart: PatientChart) -> Section:
    return Section(
        f"Wallet card: {chart.patient.display_name}, MRN {chart.patient.mrn}",
        f"pumpmgr:patient:{chart.patient.mrn}:card",
    )


def _line(label: str, value: str, style: ParagraphStyle = _BOLD) -> Paragraph:
    return Paragraph(f"<font name='{FONT}'>{text(label)}:</font> {text(value)}", style)


class WalletCard(Flowable):  # type: ignore[misc]
    """Front and back panels, each ``CARD_WIDTH`` by ``CARD_HEIGHT``, with a fold between."""

    def __init__(self, front: Sequence[Flowable], back: Sequence[Flowable], band: str) -> None:
        super().__init__()
        self.front = list(front)
        self.back = list(back)
        self.band = band

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 2 * CARD_WIDTH, CARD_HEIGHT

    def _panel(self, x: float, content: list[Flowable], band: str | None) -> None:
        canvas = self.canv
        top = CARD_HEIGHT - PADDING
        if band is not None:
            band_height = 5 * mm
            canvas.saveState()
            outline = canvas.beginPath()  # keep the band inside the card's rounded corner
            outline.roundRect(0, 0, 2 * CARD_WIDTH, CARD_HEIGHT, CORNER)
            canvas.clipPath(outline, stroke=0, fill=0)
            canvas.setFillColor(INK)
            canvas.rect(x, CARD_HEIGHT - band_height, CARD_WIDTH, band_height, stroke=0, fill=1)
            canvas.restoreState()
            Frame(
                x + PADDING,
                CARD_HEIGHT - band_height,
                CARD_WIDTH - 2 * PADDING,
                band_height,
                leftPadding=0,
                rightPadding=0,
                topPadding=1.2 * mm,
                bottomPadding=0,
                showBoundary=0,
            ).addFromList([Paragraph(text(band), _BAND)], canvas)
            top = CARD_HEIGHT - band_height - 1.2 * mm
        frame = Frame(
            x + PADDING,
            PADDING,
            CARD_WIDTH - 2 * PADDING,
            top - PADDING,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            showBoundary=0,
        )
        frame.addFromList(
            [KeepInFrame(CARD_WIDTH - 2 * PADDING, top - PADDING, content, mode="shrink")], canvas
        )

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.6)
        canvas.roundRect(0, 0, 2 * CARD_WIDTH, CARD_HEIGHT, CORNER)  # cut here
        canvas.setStrokeColor(RULE)
        canvas.setDash(3, 2)
        canvas.line(CARD_WIDTH, 0, CARD_WIDTH, CARD_HEIGHT)  # fold here
        canvas.restoreState()
        self._panel(0, list(self.front), self.band)
        self._panel(CARD_WIDTH, list(self.back), None)


def in_pump(
    chart: PatientChart,
    at: datetime,
    sheet: str,
) -> tuple[PumpRecord, PrescriptionRecord, tuple[Ingredient, ...]]:
    """The active pump, the prescription in force at ``at`` and the solution it holds then
    (the last fill's: a prescription written for the next refill has not reached the pump
    yet); refused, naming ``sheet``, when the patient has no pump and prescription."""
    pump = chart.pump
    if pump is None:
        rx = None
    else:
        running = [p for p in pump_prescriptions(chart, pump.id) if p.effective_at <= at]
        rx = running[-1] if running else chart.prescription
    if pump is None or rx is None:
        raise ImpossibleInput(
            f"pump: {chart.patient.display_name} has no active pump and prescription, so there "
            f"is no {sheet} to print",
            code=Code.OUT_OF_RANGE,
            field="pump",
        )
    fills = [r for r in pump_refills(chart, pump.id) if r.performed_at <= at]
    return pump, rx, fills[-1].ingredients if fills else rx.ingredients


def card_panels(
    chart: PatientChart, settings: ClinicSettings, catalog: catalogs.Catalogs, at: datetime
) -> tuple[list[Flowable], list[Flowable]]:
    """The front and back contents of the card: what the pump holds and runs at ``at``
    (:func:`in_pump`)."""
    pump, rx, solution = in_pump(chart, at, "card")
    program = program_of(rx, pump)
    doses = admixture_doses(program.daily_volume(), [(i.drug, i.concentration) for i in solution])
    dose = " + ".join(common.dose(doses[i.drug], i.display_unit) for i in solution)
    outlook = chart.forecast
    ask = "ask the clinic"
    alarm_label = "Reservoir low" if is_constant_flow(pump) else "Pump alarm"
    phone = settings.clinic_phone or "see the clinic's letter"
    front: list[Flowable] = [
        Paragraph(text(chart.patient.display_name), _BIG),
        _line("Born", common.day(chart.patient.date_of_birth), _BODY),
        _line("Pump", f"{pump.model_name}, serial {pump.serial_number}", _BODY),
        _line("Drug", common.solution_text(solution, catalog)),
        _line("Daily dose", dose),
        Spacer(1, 1 * mm),
        _line("Next refill", ask if outlook is None else common.day(outlook.refill_due), _BIG),
        _line(alarm_label, ask if outlook is None else common.day(outlook.alarm_at)),
        Spacer(1, 1 * mm),
        Paragraph(text(settings.clinic_name), _BODY),
        _line("Phone", phone, _BIG),
    ]
    signs = common.warning_signs(solution, catalog)
    back: list[Flowable] = [
        Paragraph(
            "Call the clinic at once, or go to an emergency department with this card, "
            "if the pump alarms or you notice:",
            _BACK_BOLD,
        ),
    ]
    for sign in signs:
        back.append(
            Paragraph(
                f"<b>{text(sign.drug)} withdrawal or too little:</b> "
                f"{text('; '.join(sign.withdrawal))}",
                _SMALL,
            )
        )
        back.append(
            Paragraph(
                f"<b>{text(sign.drug)} overdose:</b> {text('; '.join(sign.overdose))}", _SMALL
            )
        )
    back += [
        Spacer(1, 0.8 * mm),
        Paragraph(f"<b>MRI:</b> {text(common.mri_note(pump, catalog))}", _SMALL),
        Spacer(1, 0.8 * mm),
        Paragraph(
            "Never miss a refill: an empty pump can be dangerous. Show this card to any "
            "doctor, nurse or MRI staff.",
            _BACK_BOLD,
        ),
    ]
    return front, back


def card_story(
    chart: PatientChart,
    settings: ClinicSettings,
    *,
    at: datetime,
    catalog: catalogs.Catalogs,
    copies: int = 2,
) -> list[Flowable]:
    library = catalog
    front, back = card_panels(chart, settings, library, at)
    width = frame_width(settings)
    story: list[Flowable] = [
        SectionStart(card_section(chart)),
        title_block(TITLE, settings.clinic_name, width),
        para(
            "Cut along the solid outline, fold along the dashed line, and laminate if you can. "
            "The second copy is for a carer.",
            STYLES.body,
        ),
        Spacer(1, 6 * mm),
    ]
    for _ in range(copies):
        # each copy is its own flowable: one drawn card cannot be laid out twice
        story += [WalletCard(front, back, "INTRATHECAL DRUG PUMP: DO NOT STOP"), Spacer(1, 10 * mm)]
        front, back = card_panels(chart, settings, library, at)
    return story


def build_wallet_card(
    chart: PatientChart,
    settings: ClinicSettings,
    *,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """The wallet card page as PDF bytes: two copies of the folding card, showing what the pump
    holds at ``generated_at``."""
    story = card_story(chart, settings, at=generated_at, catalog=catalog)
    return build_pdf(
        story,
        settings,
        title=card_section(chart).title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
    )
