"""The console script opens the window unless a command is named."""

import pytest

from ui.launcher import console, wants_window


@pytest.mark.parametrize(
    ("argv", "window"),
    [([], True), (["--demo"], True), (["--db", "clinic.db"], True),
     (["calc", "forecast"], False), (["--db", "clinic.db", "due"], False),
     (["--help"], False), (["--version"], False), (["nonsense"], False)],
)
def test_window_or_command_line(argv: list[str], window: bool) -> None:
    assert wants_window(argv) is window


def test_the_window_starts_with_the_collector_held_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held off before the window's imports (ui.app turns it on after the first paint)."""
    import gc

    import ui.app

    seen: list[bool] = []
    monkeypatch.setattr(ui.app, "main", lambda args: seen.append(gc.isenabled()) or 0)
    try:
        with pytest.raises(SystemExit) as ended:
            console(["--demo"])
    finally:
        gc.enable()
    assert ended.value.code == 0 and seen == [False]
