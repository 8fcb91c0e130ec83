"""Orders, incidents and individual maxima in the window (domain-rules §4a, §6, §7): a
prescriber's first screen is the co-signature list, everyone sees its count, the named
prescriber signs or declines with their own password, an incident stands at the top of the
patient's page until a prescriber reviews it, and an individual maximum is raised with a
second prescriber's signature and shown on the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.orders import STATE_TEXT, OrderState, needs_prescriber
from pumpmgr.schedule import Schedule
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import (
    IngredientInput,
    OrderGiven,
    PrescriptionInput,
    Verification,
)
from pumpmgr.units import Q_
from ui.dialogs.prescriber_actions import RaiseMaximumDialog
from ui.dialogs.sign_order import SignOrderDialog
from ui.main_window import MainWindow
from ui.models.due_list import Column


def signed_in(qtbot: QtBot, clinic: ClinicService, username: str) -> MainWindow:
    main = MainWindow(clinic, clinic.sign_in(username, PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    qtbot.waitExposed(main)
    return main


@pytest.fixture
def prescriber_window(qtbot: QtBot, clinic: ClinicService) -> Iterator[MainWindow]:
    main = signed_in(qtbot, clinic, "brandt")
    yield main
    main.idle.stop()


def when_shown(kind: type[QDialog], fill: Callable[[QDialog], None]) -> None:
    """Run ``fill`` on the ``kind`` dialog once it shows (it runs modally)."""

    def look() -> None:
        dialog = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()),
            None,
        )
        if dialog is None:
            QTimer.singleShot(20, look)
            return
        fill(dialog)

    QTimer.singleShot(0, look)


def due_state(window: MainWindow, mrn: str) -> str:
    """The State cell of the patient's row on the window's due list."""
    model = window.dashboard.model
    (number,) = [n for n, row in enumerate(model.rows()) if row.mrn == mrn]
    text: str = model.index(number, int(Column.STATE)).data()
    return text


def test_a_prescribers_first_screen_is_the_orders_to_sign_and_signing_clears_one(
    qtbot: QtBot, prescriber_window: MainWindow
) -> None:
    window = prescriber_window
    assert window.stack.currentWidget() is window.orders
    mine = window.orders.model.rows()
    assert mine and all(o.prescriber == "Dr Brandt" for o in mine)
    before = window.clinic.orders.count_awaiting()
    assert window.orders_action.iconText() == f"Orders to sign ({before})"
    first = mine[0]

    def sign(dialog: QDialog) -> None:
        assert isinstance(dialog, SignOrderDialog)
        assert not dialog.ok_button.isEnabled()  # no password yet
        qtbot.keyClicks(dialog.password, PASSWORD)
        dialog.ok_button.click()

    when_shown(SignOrderDialog, sign)
    assert window.orders.decide(decline=False)
    assert first.prescription_id not in [o.prescription_id for o in window.orders.model.rows()]
    assert window.clinic.orders.count_awaiting() == before - 1
    assert window.orders_action.iconText() == (
        f"Orders to sign ({before - 1})" if before > 1 else "Orders to sign"
    )
    chart = window.clinic.patient_chart(first.patient_id)
    signed = next(p for p in chart.prescriptions if p.id == first.prescription_id)
    assert signed.order_state == "signed"


def test_a_declined_order_puts_the_patient_on_top_of_the_due_list(
    qtbot: QtBot, prescriber_window: MainWindow
) -> None:
    window = prescriber_window
    order = window.orders.model.rows()[0]

    def decline(dialog: QDialog) -> None:
        assert isinstance(dialog, SignOrderDialog)
        qtbot.keyClicks(dialog.password, PASSWORD)
        assert not dialog.ok_button.isEnabled()  # a reason is required
        qtbot.keyClicks(dialog.reason, "dose not agreed; call me")
        dialog.ok_button.click()

    when_shown(SignOrderDialog, decline)
    assert window.orders.decide(decline=True)
    rows = window.clinic.due_list()
    urgent = [r for r in rows if r.state == "urgent"]
    assert [r.patient_id for r in urgent] == [order.patient_id]


def test_a_nurse_sees_the_count_but_cannot_sign(qtbot: QtBot, window: MainWindow) -> None:
    count = window.clinic.orders.count_awaiting()
    assert count > 0 and window.orders_action.iconText() == f"Orders to sign ({count})"
    assert window.stack.currentWidget() is window.dashboard  # a nurse starts on the due list
    window.show_orders()
    assert window.orders.model.rowCount() == count  # every order, not only one prescriber's
    assert not window.orders.only_mine.isVisible()
    assert not window.orders.sign_button.isEnabled()
    assert not window.orders.decline_button.isEnabled()


def test_an_order_awaiting_signature_reads_as_plain_words_once(window: MainWindow) -> None:
    """Tried by hand: the banner showed "prescriber&#x27;s signature" (one alert is no rich
    text, so the escaped quote stood as typed) and said "awaiting the prescriber's
    signature" twice."""
    order = window.clinic.orders.awaiting_signature()[0]
    waiting = replace(
        order,
        state=OrderState.AWAITING_SIGNATURE.value,
        state_text=STATE_TEXT[OrderState.AWAITING_SIGNATURE],
        prescriber="Dr O'Brien <on call>",
    )
    window.open_patient(order.patient_id)
    page = window.patient
    assert page.chart is not None
    page.chart = replace(
        page.chart, open_orders=(waiting,), open_incidents=(), individual_maxima=()
    )
    (text,) = [t for t in page.alert_texts() if t.startswith("ORDER")]
    assert text.count("awaiting the prescriber's signature") == 1
    assert "no pump settings are printed for this order until it is signed" in text
    page._show_alerts(page.chart)
    assert page.alerts_label.textFormat() == Qt.TextFormat.RichText
    document = QTextDocument()
    document.setHtml(page.alerts_label.text())
    assert text in document.toPlainText().splitlines()


def test_an_incident_stands_on_the_page_until_a_prescriber_reviews_it(
    qtbot: QtBot, clinic: ClinicService, dialogs: Dialogs
) -> None:
    patient = clinic.find_patient("100004")
    pump_id = clinic.patient_chart(patient.id).pump.id  # type: ignore[union-attr]
    nurse = clinic.sign_in("nina", PASSWORD)
    clinic.change_prescription(
        nurse,
        Verification("otto", PASSWORD),
        pump_id,
        PrescriptionInput(
            ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
            schedule=Schedule.simple(Q_("2500 mcg/day")),
            effective_at=clinic.clock.now(),
            prescriber="Dr Brandt",
            already_programmed=True,
            order=OrderGiven("telephone", clinic.clock.now(), read_back_confirmed=True),
        ),
    )
    window = signed_in(qtbot, clinic, "brandt")
    window.dashboard.refresh()
    assert due_state(window, patient.mrn).startswith("Urgent · incident")  # the due list too
    window.open_patient(patient.id)
    page = window.patient
    assert page.alerts_label.isVisible()
    (incident,) = [t for t in page.alert_texts() if t.startswith("INCIDENT")]
    assert "programmed outside limits" in incident
    assert page.alerts_label.property("role") == "alert"
    assert page.prescriber_button.isVisible()
    actions = [
        a
        for a in page.prescriber_button.menu().actions()
        if a.text().startswith("Review the incident")
    ]
    dialogs.text_answer = "pump reprogrammed to 400 mcg/day"
    actions[0].trigger()
    assert not [t for t in page.alert_texts() if t.startswith("INCIDENT")]
    assert clinic.orders.incidents(patient.id) == []
    window.dashboard.refresh()
    assert "incident" not in due_state(window, patient.mrn)
    window.idle.stop()


def test_the_selected_orders_dose_checks_are_shown_whole(
    qtbot: QtBot, clinic: ClinicService
) -> None:
    """The table's column elides a long finding; under it the selected order's dose checks
    stand whole (what the prescriber signs)."""
    patient = clinic.find_patient("100004")
    pump_id = clinic.patient_chart(patient.id).pump.id  # type: ignore[union-attr]
    nurse = clinic.sign_in("nina", PASSWORD)
    clinic.change_prescription(
        nurse,
        Verification("otto", PASSWORD),
        pump_id,
        PrescriptionInput(
            ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
            schedule=Schedule.simple(Q_("2500 mcg/day")),
            effective_at=clinic.clock.now(),
            prescriber="Dr Brandt",
            already_programmed=True,
            order=OrderGiven("telephone", clinic.clock.now(), read_back_confirmed=True),
        ),
    )
    window = signed_in(qtbot, clinic, "brandt")
    screen = window.orders
    rows = screen.model.rows()
    flagged = next(n for n, o in enumerate(rows) if o.findings)
    screen.table.selectRow(flagged)
    order = rows[flagged]
    assert screen.checks.isVisible() and screen.checks.property("role") == "error"
    assert screen.checks.text() == (
        f"Dose checks of {order.patient}'s order: " + "; ".join(order.findings)
    )
    assert "above the hard maximum" in screen.checks.text()
    plain = next((n for n, o in enumerate(rows) if not o.findings), None)
    if plain is not None:
        screen.table.selectRow(plain)
        assert screen.checks.text().endswith("'s order: ok")
        assert screen.checks.property("role") == "muted"
    window.idle.stop()


def test_an_individual_maximum_is_raised_with_a_second_prescriber_shown_and_ended(
    qtbot: QtBot, prescriber_window: MainWindow, dialogs: Dialogs
) -> None:
    window = prescriber_window
    patient = window.clinic.find_patient("100004")
    window.open_patient(patient.id)
    page = window.patient

    def fill(dialog: QDialog) -> None:
        assert isinstance(dialog, RaiseMaximumDialog)
        qtbot.keyClicks(dialog.maximum.line_edit, "3 mg/day")
        qtbot.keyClicks(dialog.reason, "dystonia, failed 2000 mcg/day")
        qtbot.keyClicks(dialog.second_user, "roth")
        assert not dialog.ok_button.isEnabled()
        qtbot.keyClicks(dialog.second_password, PASSWORD)
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()

    when_shown(RaiseMaximumDialog, fill)
    raise_action = next(
        a for a in page.prescriber_button.menu().actions() if a.text().startswith("Raise")
    )
    raise_action.trigger()
    (shown,) = [t for t in page.alert_texts() if t.startswith("INDIVIDUAL MAXIMUM")]
    assert "baclofen up to 3,000 mcg/day" in shown and "signed by Dr Roth" in shown
    assert "review by" in shown

    # the menu, filled again for the new maximum, ends that drug's maximum
    end_action = next(
        a
        for a in page.prescriber_button.menu().actions()
        if a.text() == "End the baclofen maximum…"
    )
    dialogs.text_answer = "dystonia settled on 1,800 mcg/day"
    end_action.trigger()
    assert not [t for t in page.alert_texts() if t.startswith("INDIVIDUAL MAXIMUM")]


def test_an_unsigned_high_risk_order_is_first_to_sign_and_on_the_banner(
    qtbot: QtBot, clinic: ClinicService
) -> None:
    """Domain-rules §7: a change that needed the prescriber, programmed all the same on a
    spoken order, heads the prescriber's list and stands on the patient's banner."""
    patient = clinic.find_patient("100004")
    pump_id = clinic.patient_chart(patient.id).pump.id  # type: ignore[union-attr]
    nurse = clinic.sign_in("nina", PASSWORD)
    now = clinic.clock.now()
    data = PrescriptionInput(
        ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
        schedule=Schedule.simple(Q_("540 mcg/day")),
        effective_at=now,  # +50 % of 360
        prescriber="Dr Brandt",
        already_programmed=True,
        order=OrderGiven("spoken", now, read_back_confirmed=True),
    )
    check = clinic.check_prescription(pump_id, data)
    assert needs_prescriber(check.verdict, check.codes, starts=()) and not check.blocked
    data = replace(
        data,
        reasons={
            str(f.code): "as ordered on the ward round"
            for f in check.findings
            if f.level == "warning"
        },
    )
    clinic.change_prescription(nurse, Verification("otto", PASSWORD), pump_id, data)
    window = signed_in(qtbot, clinic, "brandt")
    first = window.orders.model.rows()[0]
    assert (first.patient_id, first.state) == (patient.id, "unsigned_high_risk")
    # the nurse's reason for each warning is what the prescriber signs for (tried by hand: the
    # sign dialog did not show it)
    assert any(f.endswith("(reason: as ordered on the ward round)") for f in first.findings)
    window.open_patient(patient.id)
    (banner,) = [t for t in window.patient.alert_texts() if "unsigned high-risk order" in t]
    assert banner.startswith("ORDER of ") and "Dr Brandt" in banner
    assert window.patient.alerts_label.property("role") == "alert"
    window.idle.stop()


def test_the_prescriber_records_the_opioid_status_from_the_page(
    qtbot: QtBot, prescriber_window: MainWindow, dialogs: Dialogs
) -> None:
    """Domain-rules §6: the patient record holds the opioid status (not recorded counts as
    naive); the prescriber records it from the patient's page and the flag follows."""
    window = prescriber_window
    patient = window.clinic.find_patient("100005")  # on morphine
    window.open_patient(patient.id)
    page = window.patient
    assert "Opioid status not recorded" in page.flag_texts()
    (action,) = [
        a
        for a in page.prescriber_button.menu().actions()
        if a.text().replace("&", "") == "Record the opioid status…"
    ]
    dialogs.choice = 1  # opioid-tolerant
    action.trigger()
    assert "Opioid-tolerant (the FDA's definition)" in dialogs.shown[-1][1]
    assert page.flag_texts()[0] == "Opioid tolerant"
    assert window.clinic.find_patient("100005").opioid_status == "tolerant"
    dialogs.choice = None  # cancelled: nothing changes
    action = next(
        a
        for a in page.prescriber_button.menu().actions()
        if a.text().replace("&", "") == "Record the opioid status…"
    )
    action.trigger()
    assert window.clinic.find_patient("100005").opioid_status == "tolerant"
