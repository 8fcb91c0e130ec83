"""Records → Audit as a clinic uses it (issue 13): the patient named on every entry, filters by
patient, user, action and days, a nurse's own patients only; chart views, prints and unlocks on
the record; the administrator's password reset and "Change my password" (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from focus_order import assert_tab_follows_reading, tab_order
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.services import ClinicService
from ui.dialogs import print_preview
from ui.dialogs.password import RESET_NOTE, ChangePasswordDialog
from ui.main_window import MainWindow
from ui.screens.records import RecordsTab
from ui.screens.records_models import AuditColumn


@pytest.fixture
def admin_window(qtbot: QtBot, clinic: ClinicService) -> Iterator[MainWindow]:
    main = MainWindow(clinic, clinic.sign_in("admin", PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    yield main
    main.idle.stop()


def _column(window: MainWindow, column: AuditColumn) -> list[str]:
    model = window.records.audit.model
    return [model.index(row, int(column)).data() for row in range(model.rowCount())]


def test_filter_by_patient_names_the_patient_on_every_row(
    admin_window: MainWindow, qtbot: QtBot
) -> None:
    window = admin_window
    window.show_records(RecordsTab.AUDIT)
    audit = window.records.audit
    everything = audit.total
    patient = window.clinic.search_patients("", 1)[0]
    qtbot.keyClicks(audit.patient_filter, patient.mrn)
    qtbot.keyClick(audit.patient_filter, Qt.Key.Key_Return)
    assert 0 < audit.total < everything
    assert set(_column(window, AuditColumn.PATIENT)) == {patient.name_and_mrn}
    assert "matching the filter" in audit.page_label.text()
    audit.table.selectRow(0)
    assert f"Patient: {patient.name_and_mrn}" in audit.detail.toPlainText()
    audit.clear_button.click()
    assert audit.total == everything and audit.patient_filter.text() == ""


def test_bad_filter_text_is_named_and_changes_nothing(
    admin_window: MainWindow, qtbot: QtBot
) -> None:
    window = admin_window
    window.show_records(RecordsTab.AUDIT)
    audit = window.records.audit
    shown = audit.total
    audit.patient_filter.setText("NO-SUCH-MRN")
    assert not audit.apply_filter()
    assert audit.filter_message.text().startswith("Patient (MRN): ")
    audit.patient_filter.clear()
    qtbot.keyClicks(audit.since_filter.line_edit, "12/04/2027")
    assert not audit.apply_filter()
    assert "from" in audit.filter_message.text()
    audit.since_filter.set_value(None)
    audit.since_filter.line_edit.setText("2025-10-20")
    audit.until_filter.line_edit.setText("2025-10-01")
    assert not audit.apply_filter() and "To:" in audit.filter_message.text()
    assert audit.total == shown


def test_filter_by_user_action_and_days(admin_window: MainWindow) -> None:
    window = admin_window
    window.show_records(RecordsTab.AUDIT)
    audit = window.records.audit
    audit.user_filter.setCurrentIndex(audit.user_filter.findData("nina"))
    audit.action_filter.setCurrentIndex(audit.action_filter.findData("refill"))
    assert audit.action_filter.currentText() == "refill (all)"
    assert audit.apply_filter()
    assert audit.total > 0
    assert set(_column(window, AuditColumn.USER)) == {"nina"}
    assert all(a.startswith("refill.") for a in _column(window, AuditColumn.ACTION))
    audit.clear_filter()
    audit.since_filter.line_edit.setText("2025-10-20")  # the sample clinic's today
    audit.until_filter.line_edit.setText("2025-10-20")
    assert audit.apply_filter()
    today = {
        e.recorded_at.astimezone(window.clinic.tz).date().isoformat() for e in audit.model.rows()
    }
    assert today == {"2025-10-20"}


def test_a_nurse_reads_her_patients_entries_not_the_accounts(
    window: MainWindow, admin_window: MainWindow
) -> None:
    window.show_records(RecordsTab.AUDIT)
    admin_window.show_records(RecordsTab.AUDIT)
    assert 0 < window.records.audit.total < admin_window.records.audit.total
    assert "user.create" in _column(admin_window, AuditColumn.ACTION) or (
        admin_window.records.audit.total > 200
    )
    assert "user.create" not in _column(window, AuditColumn.ACTION)


def test_opening_a_chart_and_printing_are_on_the_record(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = window.clinic
    patient = clinic.search_patients("", 1)[0]
    window.open_patient(patient.id)
    viewed = clinic.audit_entries(0, 1)[0]
    assert (viewed.action, viewed.username, viewed.patient) == ("patient.view", "nina", patient)
    window.refresh()  # F5 on the same chart reads it again; it is not another view
    assert clinic.audit_entries(0, 1)[0].seq == viewed.seq
    monkeypatch.setattr(print_preview, "preview", lambda *args, **kw: None)
    assert window.patient.print_sheet("card") is not None
    printed = clinic.audit_entries(0, 1)[0]
    assert (printed.action, printed.username, printed.patient) == ("sheet.print", "nina", patient)


def test_unlock_is_recorded(window: MainWindow, qtbot: QtBot) -> None:
    window.lock()
    form = window.lock_screen.form
    form.username.setText("nina")
    qtbot.keyClicks(form.password, PASSWORD)
    qtbot.keyClick(form.password, Qt.Key.Key_Return)
    assert not window.is_locked()
    assert window.clinic.audit_entries(0, 1)[0].action == "user.unlock"


def test_reset_then_the_user_must_choose_her_own(
    admin_window: MainWindow, qtbot: QtBot, clinic: ClinicService
) -> None:
    admin_window.show_records(RecordsTab.USERS)
    users = admin_window.records.users
    row = next(i for i, u in enumerate(users.model.rows()) if u.username == "otto")
    users.table.selectRow(row)
    users.reset_password.setText("temporary 123")
    users.reset_repeat.setText("temporary 321")
    assert not users.reset() and "differ" in users.reset_message.text()
    users.reset_password.setText("temporary 123")
    users.reset_repeat.setText("temporary 123")
    assert users.reset(), users.reset_message.text()
    assert "otto is reset" in users.reset_message.text()
    assert clinic.audit_entries(0, 1)[0].action == "user.password_reset"

    otto = MainWindow(clinic, clinic.sign_in("otto", "temporary 123"))
    qtbot.addWidget(otto)
    otto.show()
    qtbot.waitUntil(lambda: _password_dialog(otto) is not None)
    dialog = _password_dialog(otto)
    assert dialog is not None and dialog.note.isVisible() and dialog.note.text() == RESET_NOTE
    qtbot.keyClicks(dialog.old, "temporary 123")
    qtbot.keyClicks(dialog.new, "ottos own passphrase")
    qtbot.keyClicks(dialog.repeat, "ottos own passphrase")
    assert dialog.change()
    assert not clinic.users.must_change_password(otto.actor)  # type: ignore[arg-type]
    assert clinic.sign_in("otto", "ottos own passphrase").username == "otto"
    otto.idle.stop()


def _password_dialog(window: MainWindow) -> ChangePasswordDialog | None:
    found = window.findChildren(ChangePasswordDialog)
    return found[0] if found else None


def test_change_my_password_from_the_menu(window: MainWindow, qtbot: QtBot) -> None:
    window.password_action.trigger()
    dialog = _password_dialog(window)
    assert dialog is not None and not dialog.note.isVisible()
    qtbot.keyClicks(dialog.old, "not my password")
    qtbot.keyClicks(dialog.new, "nina new passphrase")
    qtbot.keyClicks(dialog.repeat, "nina new passphrase")
    assert not dialog.change()
    assert dialog.message.text().startswith("Not changed: Old password")
    assert dialog.old.hasFocus() or dialog.old.text() == ""
    qtbot.keyClicks(dialog.old, PASSWORD)
    dialog.new.setText("nina new passphrase")
    dialog.repeat.setText("nina new passphrase")
    assert dialog.change()
    assert window.clinic.audit_entries(0, 1)[0].action == "user.password_change"
    assert window.clinic.sign_in("nina", "nina new passphrase").username == "nina"


def test_tab_follows_reading_in_the_password_dialog_and_the_filters(
    window: MainWindow, admin_window: MainWindow, qtbot: QtBot
) -> None:
    window.password_action.trigger()
    dialog = _password_dialog(window)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert_tab_follows_reading(dialog)
    admin_window.show_records(RecordsTab.AUDIT)
    audit = admin_window.records.audit
    filters = [
        audit.patient_filter,
        audit.user_filter,
        audit.action_filter,
        audit.since_filter.line_edit,
        audit.until_filter.line_edit,
        audit.filter_button,
        audit.clear_button,
        audit.verify_button,
    ]
    assert tab_order(audit, filters) == filters
