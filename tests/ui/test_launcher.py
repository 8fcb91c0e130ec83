"""The console script opens the window unless a command is named."""

import pytest

from ui.launcher import console, wants_window


@pytest.mark.parametrize(
    ("argv", "window"),
    [
        ([], True),
        (["--demo"], True),
        (["--db", "clinic.db"], True),
        (["--db", "clinic.db", "--self-test"], True),
        (["calc", "forecast"], False),
        (["--db", "clinic.db", "due"], False),
        (["--help"], False),
        (["--version"], False),
        (["nonsense"], False),
    ],
)
def test_window_or_command_line(argv: list[str], window: bool) -> None:
    assert wants_window(argv) is window


def test_the_console_script_opens_the_window_for_its_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ui.app

    seen: list[list[str]] = []
    monkeypatch.setattr(ui.app, "main", lambda args: seen.append(args) or 0)
    with pytest.raises(SystemExit) as ended:
        console(["--demo"])
    assert ended.value.code == 0 and seen == [["--demo"]]


def test_the_gui_script_opens_the_window_whatever_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``pumpmgr-window``: the window even with a command's words, and a stdout to write to
    where Windows gives a GUI script none (so --help and --version cannot fail)."""
    import sys

    import ui.app
    from ui.launcher import window

    seen: list[list[str]] = []
    monkeypatch.setattr(ui.app, "main", lambda args: seen.append(args) or 0)
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(SystemExit) as ended:
        window(["due"])
    assert ended.value.code == 0 and seen == [["due"]]
    assert sys.stdout is not None and sys.stdout.write("nowhere") == 7
    sys.stdout.close()
