"""The console script opens the window unless a command is named."""

import pytest

from ui.launcher import wants_window


@pytest.mark.parametrize(
    ("argv", "window"),
    [([], True), (["--demo"], True), (["--db", "clinic.db"], True),
     (["calc", "forecast"], False), (["--db", "clinic.db", "due"], False),
     (["--help"], False), (["--version"], False), (["nonsense"], False)],
)
def test_window_or_command_line(argv: list[str], window: bool) -> None:
    assert wants_window(argv) is window
