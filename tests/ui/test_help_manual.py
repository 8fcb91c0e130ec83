"""Help → Manual and Help → Quick reference open files that exist, from the source tree and
from the release bundle's layout (issue 15)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from ui import manual
from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    urls: list[Path] = []

    def open_url(url: QUrl) -> bool:
        urls.append(Path(url.toLocalFile()))
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return urls


def test_the_help_menu_opens_the_guide_and_the_quick_reference_from_the_source_tree(
    window: MainWindow, opened: list[Path]
) -> None:
    titles = [a.text() for a in window.help_menu.actions()]
    assert titles[:2] == ["&Manual", "&Quick reference (PDF)"]
    window.manual_action.trigger()
    window.quick_reference_action.trigger()
    assert opened == [ROOT / "docs/manual/guide.html", ROOT / "docs/manual/quick-reference.pdf"]
    assert all(path.is_file() for path in opened)


def test_the_bundle_layout_is_found_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: list[Path]
) -> None:
    """The bundle: the programs at the top of the folder, docs/manual beside them (as
    tools/bundle.py copies it)."""
    folder = tmp_path / "pumpmgr"
    (folder / "docs").mkdir(parents=True)
    shutil.copytree(ROOT / "docs" / "manual", folder / "docs" / "manual")
    (folder / "pumpmgr").write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(folder / "pumpmgr"))
    assert manual.manual_folders()[0] == folder / "docs" / "manual"
    assert manual.open_manual(None, manual.QUICK_REFERENCE)
    assert opened == [folder / "docs" / "manual" / "quick-reference.pdf"]


def test_without_a_manual_the_message_says_where_it_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialogs: Dialogs, opened: list[Path]
) -> None:
    monkeypatch.setattr(manual, "manual_folders", lambda: [tmp_path / "none"])
    assert not manual.open_manual(None, manual.GUIDE)
    assert opened == [] and "installed without its manual" in dialogs.texts("info")[0]
