"""Signing in (good and bad password), the first start's administrator, and how ``ui.app``
chooses between them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.services import ClinicService
from ui import app
from ui.dialogs.sign_in import FirstAdministratorDialog, SignInDialog
from ui.wizards.first_run import FirstRunWizard


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


def test_first_start_creates_the_administrator(qtbot: QtBot, empty_clinic: ClinicService,
                                               ) -> None:
    dialog = FirstAdministratorDialog(empty_clinic)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.full_name, "Ada Admin")
    qtbot.keyClicks(dialog.username, "ada")
    qtbot.keyClicks(dialog.password, "short")
    qtbot.keyClicks(dialog.repeat, "short")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.actor is None
    assert "at least 8 characters" in dialog.message.text()
    assert not empty_clinic.has_users()
    dialog.password.setText(PASSWORD)
    dialog.repeat.setText(PASSWORD + "x")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text().startswith("The two passwords differ")
    dialog.repeat.setText(PASSWORD)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.actor is not None and dialog.actor.role == "administrator"
    assert empty_clinic.sign_in("ada", PASSWORD).full_name == "Ada Admin"


def test_app_offers_the_administrator_only_on_a_clinic_without_accounts(
        monkeypatch: pytest.MonkeyPatch, clinic: ClinicService, empty_clinic: ClinicService,
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(FirstRunWizard, "ask",
                        classmethod(lambda cls, c, parent=None: asked.append("first run")))
    monkeypatch.setattr(SignInDialog, "ask", classmethod(
        lambda cls, c, parent=None, hint="", username="": asked.append(f"sign in {hint}")))
    app.sign_in(empty_clinic)
    app.sign_in(clinic, "demo")
    assert asked == ["first run", "sign in demo"]
