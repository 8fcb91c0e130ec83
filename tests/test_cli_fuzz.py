"""No text typed into any option makes ``pumpmgr calc`` fail with anything but exit 0 or 2."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpmgr.cli import EXIT_BAD_INPUT, main

typed = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "400 mcg/day",
            "0,5 mL",
            "1e3 mcg/day",
            "½ mL",
            "-5 mL",
            "nan mL",
            "inf mcg/mL",
            "1e308 mL",
            "0 mL",
            "2025-02-30",
            "25:00 1 mcg/h",
            "",
        ]
    ),
    st.builds(
        lambda n, u: f"{n} {u}",
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["mL", "mcg/day", "mg/mL", "mL/day", "cm", "mL/cm", "h", "mg"]),
    ),
)

COMMANDS = {
    "forecast": [
        "--fill-volume",
        "--filled-at",
        "--concentration",
        "--dose",
        "--alarm-volume",
        "--accuracy",
        "--buffer-days",
        "--stability-days",
        "--open-days",
    ],
    "residual": ["--fill-volume", "--filled-at", "--at", "--concentration", "--dose"],
    "discrepancy": [
        "--fill-volume",
        "--expected",
        "--actual",
        "--reservoir-capacity",
        "--accuracy",
    ],
    "compound": ["--flow", "--dose", "--stock", "--fill-volume", "--extra-volume"],
    "bridge": ["--dose", "--old-concentration", "--new-concentration", "--dead-space"],
    "check-dose": [
        "--drug",
        "--dose",
        "--previous-dose",
        "--hours-since-change",
        "--concentration",
        "--bolus-dose",
        "--boluses-per-day",
        "--increases-past-7-days",
    ],
    "flow": ["--fill-volume", "--filled-at", "--aspirated", "--at", "--nominal-flow"],
}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(COMMANDS)), st.data())
def test_any_option_text_gives_a_result_or_a_one_line_refusal(
    command: str, data: st.DataObject
) -> None:
    argv = ["calc", command]
    for option in COMMANDS[command]:
        argv += [option, data.draw(typed, label=option)]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refusing, e.g. a value that looks like an option
        code = int(stop.code or 0)
    assert code in (0, EXIT_BAD_INPUT)


@pytest.mark.parametrize("text", ["0,5 mL", "0 mL", "½ mL", "1e3 mcg", "x" * 10_000])
def test_odd_fill_volumes(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code = main(
        [
            "calc",
            "forecast",
            "--fill-volume",
            text,
            "--filled-at",
            "2025-03-03",
            "--concentration",
            "2000 mcg/mL",
            "--dose",
            "400 mcg/day",
        ]
    )
    _, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert err.count("\n") == 1 and "--fill-volume" in err
