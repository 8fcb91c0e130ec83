"""Signing in (good and bad password, before the clinic is open), the first start's
administrator (which ``ui.app`` offers: tests/ui/test_startup.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.services import ClinicService
from ui.dialogs.sign_in import OPENING, SignInDialog


def test_good_password_signs_in(qtbot: QtBot, clinic: ClinicService) -> None:
    dialog = SignInDialog(clinic)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.form.username, "Nina")
    qtbot.keyClicks(dialog.form.password, PASSWORD)
    qtbot.mouseClick(dialog.form.submit, Qt.MouseButton.LeftButton)
    assert dialog.actor is not None and dialog.actor.username == "nina"
    assert dialog.result() == SignInDialog.DialogCode.Accepted


def test_bad_password_is_refused_and_keeps_the_name(qtbot: QtBot, clinic: ClinicService) -> None:
    dialog = SignInDialog(clinic)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.form.username, "nina")
    qtbot.keyClicks(dialog.form.password, "wrong password")
    qtbot.keyClick(dialog.form.password, Qt.Key.Key_Return)
    assert dialog.actor is None
    assert dialog.isVisible()
    assert dialog.form.message.text() == "Not signed in: unknown user name or wrong password."
    assert dialog.form.username.text() == "nina"
    assert dialog.form.password.text() == ""


def test_empty_fields_ask_for_both(qtbot: QtBot, clinic: ClinicService) -> None:
    dialog = SignInDialog(clinic)
    qtbot.addWidget(dialog)
    assert dialog.form.try_sign_in() is None
    assert dialog.form.message.text() == "Enter your user name and password."


def test_a_sign_in_asked_for_before_the_clinic_is_open_is_checked_when_it_is(
    qtbot: QtBot, clinic: ClinicService
) -> None:
    """The start-up's sign-in window is up before the database is open: Sign in waits (and
    says so), and is checked as soon as the clinic is given."""
    dialog = SignInDialog(None, username="nina", stay_open=True)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.title.text() == "pumpmgr"
    qtbot.keyClicks(dialog.form.password, PASSWORD)
    qtbot.keyClick(dialog.form.password, Qt.Key.Key_Return)
    assert dialog.actor is None and dialog.form.waiting
    assert dialog.form.message.text() == OPENING
    assert dialog.form.message.property("role") == "muted"  # news, not an error
    with qtbot.waitSignal(dialog.form.signed_in):
        dialog.set_clinic(clinic, "Pump clinic")
    assert dialog.actor is not None and dialog.actor.username == "nina"
    assert dialog.title.text() == "Pump clinic"
    assert dialog.isVisible() and not dialog.form.isEnabled()  # up until the window is ready
    assert dialog.form.message.text() == (
        f"Signed in as {dialog.actor.full_name}: opening the due list…"
    )
