"""The patient's reminder letter (issue 16): the booked refill visit, the pump's alarm date,
what to do if the alarm sounds, and the warning signs of withdrawal, in plain words.

Reports layer: imports reportlab and the pure pumpmgr modules (records, booking, catalogs);
never SQLAlchemy, :mod:`pumpmgr.db` or Qt. Written for the patient and their carers: the
clinic's name and phone on top and again where to call. Paper handouts carry "what to do if an
alarm sounds" and the alarm and refill-by dates (field.md, the ITB discharge information);
the withdrawal signs are the drug library's, as on the wallet card.
"""

from __future__ import annotations

from datetime import datetime

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, Spacer  # type: ignore[import-untyped]

from pumpmgr import catalogs
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.records import BookingRecord, ClinicSettings, PatientChart
from pumpmgr.visit import is_constant_flow

from . import common
from .handoff import WITHDRAWAL_DANGER
from .styles import (
    STYLES,
    Section,
    SectionStart,
    build_pdf,
    fields,
    frame_width,
    framed,
    markup,
    para,
    section,
    text,
    title_block,
)
from .wallet_card import in_pump

TITLE = "Your pump refill appointment"


def letter_section(chart: PatientChart) -> Section:
    return Section(
        f"Reminder letter: {chart.patient.display_name}, MRN {chart.patient.mrn}",
        f"pumpmgr:patient:{chart.patient.mrn}:reminder",
    )


def _bullets(lines: list[str]) -> list[Flowable]:
    return [markup(f"&bull; {text(line)}", STYLES.body) for line in lines]


def letter_story(
    chart: PatientChart,
    booking: BookingRecord,
    settings: ClinicSettings,
    *,
    at: datetime,
    catalog: catalogs.Catalogs,
) -> list[Flowable]:
    """The letter's pages. Refused without the clinic's phone: a letter that cannot say whom
    to call when the alarm sounds must not go out."""
    phone = settings.clinic_phone.strip()
    if not phone:
        raise ImpossibleInput(
            "clinic phone: the clinic's phone is not set (Records, Settings); the reminder "
            "letter must tell the patient whom to call",
            code=Code.NO_VALUE,
            field="clinic phone",
        )
    pump, _rx, solution = in_pump(chart, at, "reminder letter")
    width = frame_width(settings)
    patient = chart.patient
    when = common.day(booking.day) + ("" if booking.at is None else f" at {booking.at:%H:%M}")
    where = (
        "A nurse visits you at home."
        if booking.place == "home"
        else f"At the clinic: {settings.clinic_name}."
    )
    nurse = f" Your nurse: {booking.nurse}." if booking.nurse else ""
    outlook = chart.forecast
    constant = is_constant_flow(pump)
    dates = [("Refill visit", when)]
    if outlook is not None:
        dates += [
            ("Refill due by", common.day(outlook.refill_due)),
            ("Reservoir low" if constant else "Pump alarm", common.day(outlook.alarm_at)),
        ]
    story: list[Flowable] = [
        SectionStart(letter_section(chart)),
        title_block(TITLE, f"{settings.clinic_name}   Phone {phone}", width),
        para(
            f"For {patient.given_name} {patient.family_name}, born "
            f"{common.day(patient.date_of_birth)} (MRN {patient.mrn})",
            STYLES.body,
        ),
        Spacer(1, 4 * mm),
        framed(
            [
                para("Your pump refill visit", STYLES.heading),
                para(when, STYLES.huge),
                para(f"{where}{nurse}", STYLES.body),
            ],
            width,
            warning=False,
        ),
        Spacer(1, 3 * mm),
        para(
            "Please keep this appointment: your pump must be refilled before it runs low. "
            f"If you cannot come, call {phone} at once to book another day"
            + ("" if outlook is None else f" on or before {common.day(outlook.refill_due)}")
            + ".",
            STYLES.body,
        ),
        Spacer(1, 2 * mm),
        fields(dates, (40 * mm, width - 40 * mm)),
    ]
    if constant:
        alarm = [
            f"Your pump ({pump.model_name}) has no low-reservoir alarm: it does not warn "
            "you when it runs low. Come on the booked day even if you feel well."
        ]
    else:
        alarm = [
            f"The alarm (a beeping sound from the pump) means the reservoir is running low or "
            f"the pump needs checking. Call the clinic at {phone} the same day: do not wait "
            "for your appointment.",
            "If you cannot reach the clinic, or you notice any of the signs below, go to the "
            "nearest emergency department and take this letter and your pump card.",
        ]
    story += section(
        "If the pump alarm sounds" if not constant else "Your pump has no alarm",
        width,
        _bullets(alarm),
    )
    signs: list[Flowable] = []
    for sign in common.warning_signs(solution, catalog):
        signs.append(
            markup(
                f"<b>{text(sign.drug.capitalize())}:</b> {text('; '.join(sign.withdrawal))}",
                STYLES.body,
            )
        )
    dangerous = [common.drug_name(i.drug, catalog) for i in solution if i.drug in WITHDRAWAL_DANGER]
    if dangerous:
        # the baclofen label's boxed warning on abrupt withdrawal [S48][S58]
        signs.append(
            para(
                f"Stopping {' and '.join(dangerous).lower()} suddenly can be life-threatening: "
                f"never let the pump run empty. Call {phone}, or go to an emergency department, "
                "at the first of these signs.",
                STYLES.warning,
            )
        )
    story += section("Warning signs of withdrawal (too little drug)", width, signs)
    story += [Spacer(1, 3 * mm), para(f"{settings.clinic_name}   Phone {phone}", STYLES.bold)]
    return story


def build_reminder_letter(
    chart: PatientChart,
    booking: BookingRecord,
    settings: ClinicSettings,
    *,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """The reminder letter of the patient's booked visit as PDF bytes."""
    story = letter_story(chart, booking, settings, at=generated_at, catalog=catalog)
    return build_pdf(
        story,
        settings,
        title=letter_section(chart).title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
    )
