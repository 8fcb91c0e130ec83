"""``pumpmgr calc``: the JSON contract of every subcommand, and bad input's exit and message."""

import json
import subprocess
import sys
from typing import Any

import pytest

from pumpmgr.cli import main
from pumpmgr.units import Q_


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "calc", *argv, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def physical(value: Any) -> float:
    """A physical JSON value, checked to be {value, unit} with a unit pint parses."""
    assert set(value) == {"value", "unit"}
    return float(Q_(value["value"], value["unit"]).to_base_units().m)


_FORECAST_ARGS = [
    "forecast",
    "--fill-volume",
    "20 mL",
    "--filled-at",
    "2025-03-03",
    "--concentration",
    "2000 mcg/mL",
    "--dose",
    "400 mcg/day",
]
EXAMPLE_1 = [
    "--fill-volume",
    "20 mL",
    "--filled-at",
    "2025-03-03",
    "--concentration",
    "2000 mcg/mL",
    "--dose",
    "400 mcg/day",
]


def test_forecast_example_1(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "forecast", *EXAMPLE_1)
    assert data["daily_dose"] == {"value": 400, "unit": "mcg/day"}
    assert data["daily_volume"] == {"value": 0.2, "unit": "mL/day"}
    assert data["days_to_alarm"] == 90
    assert data["alarm_at"] == "2025-06-01T00:00:00"
    assert data["days_to_empty"] == 100
    # no --accuracy: the worst case assumes 15 %: 18 / (0.2 × 1.15) = 78.3 days, Tue 20 May,
    # before the alarm minus the buffer (Fri 23 May)
    assert data["accuracy_percent"] == 15 and data["accuracy"] == "15 % (assumed)"
    assert data["limits"]["alarm"] == "2025-05-25"
    assert data["refill_due"] == "2025-05-20"
    assert data["refill_due_reason"] == "worst_case"
    assert data["refill_due_because"] == "reservoir may be low if the pump runs fast"
    for key in ("days_to_alarm_with_boluses", "days_to_alarm_worst_case"):
        assert isinstance(data[key], int | float)
    for key in ("alarm_at_with_boluses", "alarm_at_worst_case"):
        assert isinstance(data[key], str)
    assert data["alarm_volume"] == {"value": 2, "unit": "mL"}
    assert data["buffer_days"] == 7


def test_forecast_flex_steps_in_any_order(capsys: pytest.CaptureFixture[str]) -> None:
    """Example 4: 545 mcg/day, alarm 2025-05-08."""
    data = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "2000 mcg/mL",
        "--step",
        "22:00 20 mcg/h",
        "--step",
        "06:00 100 mcg/h",
        "--step",
        "00:00 30 mcg/h",
        "--step",
        "07:00 15 mcg/h",
    )
    assert data["daily_dose"]["value"] == pytest.approx(545)
    assert data["alarm_at"].startswith("2025-05-08")


def test_forecast_mg_input_answers_in_mg(capsys: pytest.CaptureFixture[str]) -> None:
    """Example 3 with morphine: stability 90 days sets the date; doses come back in mg."""
    data = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "40 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "25 mg/mL",
        "--dose",
        "5 mg/day",
        "--stability-days",
        "90",
    )
    assert data["daily_dose"] == {"value": 5, "unit": "mg/day"}
    assert data["refill_due"] == "2025-05-30"
    assert data["refill_due_reason"] == "stability"


def test_forecast_with_boluses(capsys: pytest.CaptureFixture[str]) -> None:
    """Example 5: 52.9 days with every bolus taken."""
    data = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "10 mg/mL",
        "--dose",
        "3 mg/day",
        "--bolus-dose",
        "0.1 mg",
        "--boluses-per-day",
        "4",
        "--accuracy",
        "14.5",
    )
    assert data["days_to_alarm"] == pytest.approx(60)
    assert data["days_to_alarm_with_boluses"] == pytest.approx(52.94, abs=0.01)
    assert data["days_to_alarm_worst_case"] < data["days_to_alarm_with_boluses"]


def test_residual(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "residual",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--at",
        "2025-05-02",
        "--concentration",
        "2000 mcg/mL",
        "--dose",
        "400 mcg/day",
    )
    assert data["elapsed_days"] == 60
    assert data["infused"] == {"value": 12, "unit": "mL"}
    assert data["expected_residual"] == {"value": 8, "unit": "mL"}


def test_discrepancy(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "discrepancy",
        "--fill-volume",
        "20 mL",
        "--expected",
        "8 mL",
        "--actual",
        "6.6 mL",
        "--reservoir-capacity",
        "20 mL",
        "--accuracy",
        "14.5",
    )
    assert data["difference"] == {"value": 1.4, "unit": "mL"}
    assert data["delivery_error_percent"] == pytest.approx(11.67, abs=0.01)
    assert data["threshold"] == {"value": 1, "unit": "mL"}
    assert data["verdict"] == "investigate"
    assert data["direction"] == "less_returned"


#: 14 mL expected without boluses, 11 mL aspirated from a 20 mL pump (domain-rules §4)
_RESIDUAL_WITHOUT_BOLUSES = [
    "discrepancy",
    "--fill-volume",
    "20 mL",
    "--expected",
    "14 mL",
    "--actual",
    "11 mL",
    "--reservoir-capacity",
    "20 mL",
    "--accuracy",
    "14.5",
    "--note",
    "boluses not read",
]
#: 30 days since the fill at 4 boluses a day: 120 possible
_BOLUS_WINDOW = [
    "--filled-at",
    "2025-03-03T09:00",
    "--at",
    "2025-04-02T09:00",
    "--boluses-per-day",
    "4",
]
#: 120 boluses of 50 mcg at 2000 mcg/mL: 0.025 mL each, 3 mL drawn
_BOLUSES_ARGS = [
    *_RESIDUAL_WITHOUT_BOLUSES,
    *_BOLUS_WINDOW,
    "--patient-boluses",
    "120",
    "--bolus-dose",
    "50 mcg",
    "--concentration",
    "2000 mcg/mL",
]


def test_discrepancy_counts_the_patient_boluses(capsys: pytest.CaptureFixture[str]) -> None:
    """3 mL less came back: investigate, until the 120 boluses the programmer counts (3 mL)
    are subtracted from the expected residual: ok."""
    without = run_json(capsys, *_RESIDUAL_WITHOUT_BOLUSES)
    assert without["verdict"] == "investigate" and "patient_boluses" not in without
    data = run_json(capsys, *_BOLUSES_ARGS)
    assert data["patient_boluses"] == 120
    assert data["patient_bolus_volume"] == {"value": 0.025, "unit": "mL"}
    assert data["drawn_by_patient_boluses"] == {"value": 3, "unit": "mL"}
    assert data["expected_with_patient_boluses"] == {"value": 11, "unit": "mL"}
    assert data["difference"] == {"value": 0, "unit": "mL"}
    assert data["verdict"] == "ok"


@pytest.mark.parametrize(
    ("argv", "most"),
    [
        ([*_BOLUSES_ARGS[:-5], "121", *_BOLUSES_ARGS[-4:]], 120),  # 4 a day for 30 days
        ([*_BOLUSES_ARGS, "--bolus-lockout", "8 h"], 91),  # one at the fill, one per 8 h
    ],
)
def test_discrepancy_refuses_more_patient_boluses_than_the_pump_allows(
    capsys: pytest.CaptureFixture[str], argv: list[str], most: int
) -> None:
    """The calculator caps the count as the visit does (patient_boluses.boluses_taken): a
    count the maximum per day or the lockout forbids is a misread, never subtracted."""
    code, err = _exit_code(capsys, ["calc", *argv])
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "--patient-boluses: " in err and f"at most {most}" in err


def test_compound(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "compound",
        "--flow",
        "1 mL/day",
        "--dose",
        "4 mg/day",
        "--stock",
        "25 mg/mL",
        "--fill-volume",
        "20 mL",
        "--extra-volume",
        "2 mL",
    )
    assert data["concentration"] == {"value": 4, "unit": "mg/mL"}
    assert data["stock_volume"] == {"value": 3.52, "unit": "mL"}
    assert data["diluent_volume"] == {"value": 18.48, "unit": "mL"}
    assert data["total_volume"] == {"value": 22, "unit": "mL"}


def test_bridge(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "bridge",
        "--dose",
        "300 mcg/day",
        "--old-concentration",
        "1000 mcg/mL",
        "--new-concentration",
        "2000 mcg/mL",
        "--dead-space",
        "0.35 mL",
    )
    assert data["bridge_volume"] == {"value": 0.35, "unit": "mL"}
    assert data["bridge_rate"] == {"value": 0.3, "unit": "mL/day"}
    assert data["bridge_duration"] == {"value": 28, "unit": "h"}
    assert data["new_rate"] == {"value": 0.15, "unit": "mL/day"}
    assert data["unbridged_dose"] == {"value": 150, "unit": "mcg/day"}
    assert physical(data["unbridged_duration"]) == pytest.approx(2.3333 * 86400, rel=1e-4)


def test_prime(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "prime", "--segment", "80 cm", "0.0026 mL/cm", "--pump-path-volume", "0.1 mL"
    )
    assert data["catheter_volume"] == {"value": 0.208, "unit": "mL"}
    assert data["priming_volume"] == {"value": 0.308, "unit": "mL"}


@pytest.mark.parametrize(
    ("quantity", "unit", "value", "unit_text"),
    [
        ("0.4 mg/d", "mcg/day", 400, "mcg / day"),
        ("20 cc", "mL", 20, "mL"),
        ("16.7 mcg/h", "mcg/day", 400.8, "mcg / day"),
        ("2 mg/mL", "mcg/mL", 2000, "mcg / mL"),
    ],
)
def test_convert(
    capsys: pytest.CaptureFixture[str], quantity: str, unit: str, value: float, unit_text: str
) -> None:
    data = run_json(capsys, "convert", quantity, "--to", unit)
    assert data["value"] == pytest.approx(value)
    assert data["unit"] == unit_text
    Q_(1, data["unit"])  # pint reads it back


def test_readable_output_is_ismp_formatted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "calc", "forecast", *EXAMPLE_1)
    assert code == 0
    assert "daily volume:" in out and "0.2 mL/day" in out
    assert "400 mcg/day" in out
    assert "Sun 1 Jun 2025" in out and "Tue 20 May 2025" in out
    assert "reservoir may be low if the pump runs fast" in out
    assert "µg" not in out and " cc" not in out


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (
            [
                "forecast",
                "--fill-volume",
                "20",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
            ],
            "--fill-volume",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mg",
            ],
            "--dose",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "03/03/2025",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
            ],
            "--filled-at",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "2 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
            ],
            "--fill-volume",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
            ],
            "--dose",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--step",
                "06:00 1 mcg/h",
                "--step",
                "06:00 2 mcg/h",
            ],
            "--step",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
                "--buffer-days",
                "x",
            ],
            "--buffer-days",
        ),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
                "--bolus-dose",
                "50 mcg",
            ],
            "--boluses-per-day",
        ),
        (["forecast", "--filled-at", "2025-03-03"], "--fill-volume"),
        (
            [
                "residual",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--at",
                "2025-01-01",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
            ],
            "--at",
        ),
        (
            [
                "discrepancy",
                "--fill-volume",
                "20 mL",
                "--expected",
                "8 mL",
                "--actual",
                "30 mL",
                "--reservoir-capacity",
                "20 mL",
            ],
            "--note",
        ),
        (
            [
                "compound",
                "--flow",
                "0.5 mL/day",
                "--dose",
                "20 mg/day",
                "--stock",
                "25 mg/mL",
                "--fill-volume",
                "20 mL",
            ],
            "--stock",
        ),
        (
            [
                "bridge",
                "--dose",
                "300 mcg/day",
                "--old-concentration",
                "0,5 mg/mL",
                "--new-concentration",
                "2 mg/mL",
                "--dead-space",
                "0.35 mL",
            ],
            "--old-concentration",
        ),
        (["prime", "--segment", "80 cm", "0.0026 mL"], "--segment"),
        (["convert", "20 mL", "--to", "mcg"], "--to"),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "400 mcg/day",
                "--open-days",
                "xyz",
            ],
            "--open-days",
        ),
        ([*_FORECAST_ARGS, "--expires", "2025-03-02"], "--expires"),
        ([*_FORECAST_ARGS, "--expires", "March 2025"], "--expires"),
        ([*_FORECAST_ARGS, "--closed", "2025-13-01"], "--closed"),
        ([*_FORECAST_ARGS, "--max-interval-days", "0"], "--max-interval-days"),
        ([*_FORECAST_ARGS, "--measured-error", "lots"], "--measured-error"),
        ([*_FORECAST_ARGS, "--tz", "Mars/Olympus"], "--tz"),
        ([*_FORECAST_ARGS, "--drug", "aspirin"], "--drug"),
        ([*_BOLUSES_ARGS[:-2]], "--concentration"),
        ([*_RESIDUAL_WITHOUT_BOLUSES, *_BOLUS_WINDOW[2:], *_BOLUSES_ARGS[-6:]], "--filled-at"),
        (
            [
                *_RESIDUAL_WITHOUT_BOLUSES,
                *_BOLUS_WINDOW[:2],
                *_BOLUS_WINDOW[4:],
                *_BOLUSES_ARGS[-6:],
            ],
            "--at",
        ),
        ([*_BOLUSES_ARGS[:-5], "twelve", *_BOLUSES_ARGS[-4:]], "--patient-boluses"),
        (
            [*_RESIDUAL_WITHOUT_BOLUSES, "--patient-boluses=-1", *_BOLUSES_ARGS[-4:]],
            "--patient-boluses",
        ),
        ([*_RESIDUAL_WITHOUT_BOLUSES, "--bolus-dose", "50 mcg"], "--bolus-dose"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], option: str
) -> None:
    with_exit = _exit_code(capsys, ["calc", *argv])
    code, err = with_exit
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert option in lines[0]
    assert "Traceback" not in err


def _exit_code(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own refusals
        code = int(stop.code or 0)
    _, err = capsys.readouterr()
    return code, err


def test_console_script_runs_as_a_process() -> None:
    """The real entry point, in a child process: JSON on stdout, exit 0."""
    done = subprocess.run(
        [sys.executable, "-m", "pumpmgr", "calc", "forecast", *EXAMPLE_1, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["refill_due"] == "2025-05-20"


def test_no_arguments_show_a_demo_forecast(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    assert "refill due:" in out and "pumpmgr calc --help" in out


def test_check_dose_blocks_a_mg_mcg_slip_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "check-dose", "--drug", "baclofen", "--dose", "12 mg/day")
    assert data["verdict"] == "blocked"
    assert "dose.ten_times_typical" in {f["code"] for f in data["findings"]}
    assert all(
        set(f) == {"level", "code", "message", "sources", "unconfirmed"} for f in data["findings"]
    )


def test_check_dose_titration_and_timing(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "520 mcg/day",
        "--previous-dose",
        "400 mcg/day",
        "--hours-since-change",
        "48",
        "--origin",
        "spinal",
    )
    assert data["verdict"] == "ok"  # exactly +30 %, spinal origin
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "520 mcg/day",
        "--previous-dose",
        "400 mcg/day",
        "--hours-since-change",
        "12",
        "--origin",
        "cerebral",
    )
    assert data["verdict"] == "warning"
    assert {"titration.above_percent", "titration.within_24h"} <= {
        f["code"] for f in data["findings"]
    }


def test_check_dose_readable_uses_the_drug_unit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "calc",
        "check-dose",
        "--drug",
        "morphine",
        "--dose",
        "30 mg/day",
        "--pain",
        "cancer",
    )
    assert code == 0
    assert "30 mg/day" in out and "verdict:" in out


def test_check_dose_unknown_drug_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(
        capsys, ["calc", "check-dose", "--drug", "aspirin", "--dose", "1 mg/day"]
    )
    assert code == 2 and "--drug" in err and "baclofen" in err


# ---------------------------------------------------------------------------------------------
# check-dose: the revised rules of domain-rules §6, and doses in the drug's unit (§1)


def codes(data: dict[str, Any]) -> set[str]:
    return {f["code"] for f in data["findings"]}


def test_check_dose_tenfold_stop_shows_both_doses(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "1320 mcg/day",
        "--previous-dose",
        "132 mcg/day",
    )
    assert data["verdict"] == "stop"
    (stop,) = [f for f in data["findings"] if f["code"] == "dose.possible_tenfold_error"]
    assert "1,320 mcg/day" in stop["message"] and "132 mcg/day" in stop["message"]
    assert stop["level"] == "stop"


def test_check_dose_pump_flow_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "ziconotide",
        "--dose",
        "0.5 mcg/day",
        "--concentration",
        "25 mcg/mL",
        "--pump",
        "synchromed2-20",
    )
    assert data["verdict"] == "blocked" and "pump.below_min_flow" in codes(data)
    steps = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--step",
        "00:00 400 mcg/day",
        "--step",
        "12:00 40 mcg/day",
        "--concentration",
        "2000 mcg/mL",
        "--pump",
        "synchromed2-20",
    )
    assert steps["daily_dose"] == {"value": 220, "unit": "mcg/day"}
    assert "pump.below_min_flow" in codes(steps)
    (flow,) = [f for f in steps["findings"] if f["code"] == "pump.below_min_flow"]
    assert flow["sources"] == ["S33"] and "[S33]" not in flow["message"]


def test_check_dose_start_options(capsys: pytest.CaptureFixture[str]) -> None:
    naive = run_json(capsys, "check-dose", "--drug", "morphine", "--dose", "15 mg/day", "--start")
    assert "start.above_range" in codes(naive)
    tolerant = run_json(
        capsys,
        "check-dose",
        "--drug",
        "morphine",
        "--dose",
        "10 mg/day",
        "--start",
        "--opioid-status",
        "tolerant",
    )
    assert "start.above_range" not in codes(tolerant)
    baclofen = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "150 mcg/day",
        "--start",
        "--screening-bolus",
        "75 mcg",
        "--screening-effect-hours",
        "6",
    )
    assert baclofen["verdict"] == "ok"
    longer = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "150 mcg/day",
        "--start",
        "--screening-bolus",
        "75 mcg",
        "--screening-effect-hours",
        "9",
    )
    assert "start.above_range" in codes(longer)


def test_check_dose_previous_steps_give_the_slip(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--step",
        "00:00 100 mcg/day",
        "--step",
        "22:00 500 mcg/day",
        "--previous-step",
        "00:00 100 mcg/day",
        "--hours-since-change",
        "48",
        "--origin",
        "spinal",
    )
    assert "schedule.step_slip" in codes(data)


def test_check_dose_readable_in_the_drug_unit_with_separators(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys,
        "calc",
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "1.32 mg/day",
        "--previous-dose",
        "0.132 mg/day",
    )
    assert code == 0
    assert "1,320 mcg/day" in out and "(dose.possible_tenfold_error)" in out
    assert " mg/day" not in out


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["check-dose", "--drug", "baclofen", "--dose", "0 mcg/day"], "--dose"),
        (["check-dose", "--drug", "baclofen", "--step", "00:00 0 mcg/day"], "--step"),
        (
            [
                "check-dose",
                "--drug",
                "baclofen",
                "--dose",
                "400 mcg/day",
                "--pump",
                "synchromed2-20",
            ],
            "--concentration",
        ),
        (
            [
                "check-dose",
                "--drug",
                "baclofen",
                "--dose",
                "400 mcg/day",
                "--concentration",
                "500 mcg/mL",
                "--pump",
                "nopump",
            ],
            "--pump",
        ),
        (
            ["check-dose", "--drug", "morphine", "--dose", "1 mg/day", "--opioid-status", "naive"],
            "--opioid-status",
        ),
        (
            [
                "check-dose",
                "--drug",
                "morphine",
                "--dose",
                "1 mg/day",
                "--start",
                "--previous-dose",
                "2 mg/day",
            ],
            "--previous-dose",
        ),
        (
            [
                "check-dose",
                "--drug",
                "baclofen",
                "--dose",
                "100 mcg/day",
                "--start",
                "--screening-bolus",
                "75 mcg/mL",
            ],
            "--screening-bolus",
        ),
        (
            [
                "check-dose",
                "--drug",
                "baclofen",
                "--dose",
                "100 mcg/day",
                "--start",
                "--screening-bolus",
                "75 mcg",
                "--screening-effect-hours",
                "0",
            ],
            "--screening-effect-hours",
        ),
        (["check-dose", "--drug", "aspirin", "--dose", "1 mg/day"], "--drug"),
        (
            [
                "forecast",
                "--fill-volume",
                "20 mL",
                "--filled-at",
                "2025-03-03",
                "--concentration",
                "2000 mcg/mL",
                "--dose",
                "0 mcg/day",
            ],
            "--dose",
        ),
    ],
)
def test_check_dose_bad_input_names_the_option_given(
    capsys: pytest.CaptureFixture[str], argv: list[str], option: str
) -> None:
    code, err = _exit_code(capsys, ["calc", *argv])
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"pumpmgr calc {argv[0]}: {option}:"), line
    if option == "--dose":
        assert "--step" not in line


def test_a_dose_shows_in_mcg_whatever_the_concentration_was_typed_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys,
        "calc",
        "forecast",
        "--concentration",
        "2 mg/mL",
        "--dose",
        "400 mcg/day",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2026-01-01",
    )
    assert code == 0
    assert "daily dose:" in out and "400 mcg/day" in out and "0.4 mg" not in out


def test_the_compounding_refusal_shows_morphine_in_mg(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(
        capsys,
        [
            "calc",
            "compound",
            "--flow",
            "1 mL/day",
            "--dose",
            "30 mg/day",
            "--stock",
            "25 mg/mL",
            "--fill-volume",
            "20 mL",
        ],
    )
    assert code == 2
    assert "30 mg/mL" in err and "25 mg/mL" in err and "mcg" not in err


# --- issue 11: the refill-due date's limits on the command line ------------------------------


def test_forecast_with_the_labelled_accuracy_zero_is_due_by_the_alarm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, "forecast", *EXAMPLE_1, "--accuracy", "0")
    assert (data["refill_due"], data["refill_due_reason"]) == ("2025-05-23", "alarm")


def test_forecast_drug_sets_display_unit_and_baclofens_interval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 11: 40 mL of 2 mg/mL baclofen at 100 mcg/day; 180 days [S72] from Mon 3 Mar 2025
    is Sat 30 Aug; doses in mcg whatever the concentration was typed in."""
    data = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "40 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "2 mg/mL",
        "--dose",
        "100 mcg/day",
        "--drug",
        "baclofen",
        "--accuracy",
        "14.5",
    )
    assert data["daily_dose"] == {"value": 100, "unit": "mcg/day"}
    assert data["max_interval_days"] == 180
    assert (data["refill_due"], data["refill_due_reason"]) == ("2025-08-29", "max_interval")
    assert data["refill_due_because"] == "longest refill interval"
    code, out, _ = run(
        capsys,
        "calc",
        "forecast",
        "--fill-volume",
        "40 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "2 mg/mL",
        "--dose",
        "100 mcg/day",
        "--drug",
        "baclofen",
    )
    assert code == 0 and "100 mcg/day" in out and "mg/day" not in out.replace("mcg/day", "")


def test_forecast_drug_without_an_interval_takes_the_clinics_90_days(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "40 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "25 mg/mL",
        "--dose",
        "1 mg/day",
        "--drug",
        "morphine",
        "--accuracy",
        "14.5",
    )
    # morphine's stability (90 days) and the interval (90) tie on Sun 1 Jun: named stability
    assert data["stability_days"] == 90 and data["max_interval_days"] == 90
    assert (data["refill_due"], data["refill_due_reason"]) == ("2025-05-30", "stability")
    shorter = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "40 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "25 mg/mL",
        "--dose",
        "1 mg/day",
        "--drug",
        "morphine",
        "--accuracy",
        "14.5",
        "--max-interval-days",
        "60",
    )
    # 2025-03-03 + 60 days = Fri 2 May
    assert (shorter["refill_due"], shorter["refill_due_reason"]) == ("2025-05-02", "max_interval")


def test_forecast_expiry_of_month_and_year_and_closed_days(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, *_FORECAST_ARGS, "--accuracy", "14.5", "--expires", "2025-04")
    assert data["expires"] == "2025-04-30"
    assert (data["refill_due"], data["refill_due_reason"]) == ("2025-04-30", "expiry")
    assert data["refill_due_because"] == "solution expires"
    closed = run_json(
        capsys,
        *_FORECAST_ARGS,
        "--accuracy",
        "14.5",
        "--expires",
        "2025-04",
        "--closed",
        "2025-04-30",
        "--closed",
        "2025-04-29",
    )
    assert closed["refill_due"] == "2025-04-28"
    assert closed["closed"] == ["2025-04-29", "2025-04-30"]


def test_forecast_measured_error_widens_the_worst_case(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, *_FORECAST_ARGS, "--accuracy", "14.5", "--measured-error", "25")
    assert data["accuracy_percent"] == 25
    assert data["days_to_alarm_worst_case"] == pytest.approx(18 / (0.2 * 1.25))
    assert data["refill_due"] == "2025-05-14"  # 72 days after Mon 3 Mar: Wed 14 May


def test_forecast_tz_counts_real_days_across_a_clock_change(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A fill at 00:30 on the Saturday before Berlin's fall-back: 90 days of real time end at
    23:30 the day before the wall-clock 90 days. With --tz the CLI gives the services' date."""
    argv = [
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2026-10-24T00:30",
        "--concentration",
        "2000 mcg/mL",
        "--dose",
        "50 mcg/day",
        "--accuracy",
        "0",
        "--stability-days",
        "90",
    ]
    naive = run_json(capsys, *argv)
    zoned = run_json(capsys, *argv, "--tz", "Europe/Berlin")
    assert naive["limits"]["stability"] == "2027-01-22"
    assert zoned["limits"]["stability"] == "2027-01-21"
    assert zoned["refill_due"] == "2027-01-21" and zoned["refill_due_reason"] == "stability"


def test_residual_keeps_the_unfloored_value(capsys: pytest.CaptureFixture[str]) -> None:
    """110 days of 0.2 mL/day from 20 mL: shown 0 mL, kept as −2 mL for Δ and e."""
    data = run_json(
        capsys,
        "residual",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--at",
        "2025-06-21",
        "--concentration",
        "2000 mcg/mL",
        "--dose",
        "400 mcg/day",
    )
    assert data["expected_residual"] == {"value": 0, "unit": "mL"}
    assert data["expected_residual_unfloored"] == {"value": -2, "unit": "mL"}


def test_discrepancy_found_empty_and_above_capacity(capsys: pytest.CaptureFixture[str]) -> None:
    empty = run_json(
        capsys,
        "discrepancy",
        "--fill-volume",
        "20 mL",
        "--expected",
        "0 mL",
        "--actual",
        "0 mL",
        "--reservoir-capacity",
        "20 mL",
    )
    assert empty["verdict"] == "found_empty"
    above = run_json(
        capsys,
        "discrepancy",
        "--fill-volume",
        "20 mL",
        "--expected",
        "8 mL",
        "--actual",
        "25 mL",
        "--reservoir-capacity",
        "20 mL",
        "--note",
        "needle checked",
    )
    assert above["verdict"] == "investigate"
    assert above["warnings"] == [
        "this cannot have come from the reservoir: check the needle position"
    ]


# --- issue 11: every dose check reachable from check-dose, the measured flow from calc flow ---


@pytest.mark.parametrize(
    ("dose", "child", "warned"),
    [
        ("115 mcg/day", True, False),
        ("115.1 mcg/day", True, True),  # +15 % for a child
        ("130 mcg/day", False, False),
        ("130.1 mcg/day", False, True),  # +30 % spinal, adult
    ],
)
def test_check_dose_child_picks_the_childrens_titration_row(
    capsys: pytest.CaptureFixture[str],
    dose: str,
    child: bool,
    warned: bool,
) -> None:
    argv = [
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        dose,
        "--previous-dose",
        "100 mcg/day",
        "--origin",
        "spinal",
        *(["--child"] if child else []),
    ]
    assert ("titration.above_percent" in codes(run_json(capsys, *argv))) is warned


@pytest.mark.parametrize(("already", "warned"), [("2", False), ("3", True)])
def test_check_dose_counts_the_weeks_ziconotide_steps(
    capsys: pytest.CaptureFixture[str],
    already: str,
    warned: bool,
) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "ziconotide",
        "--dose",
        "4.8 mcg/day",
        "--previous-dose",
        "2.4 mcg/day",
        "--increases-past-7-days",
        already,
    )
    assert ("titration.too_many_steps" in codes(data)) is warned


@pytest.mark.parametrize(("per_day", "warned"), [("4", False), ("5", True)])
def test_check_dose_compares_d_max_with_the_patients_boluses(
    capsys: pytest.CaptureFixture[str],
    per_day: str,
    warned: bool,
) -> None:
    # 900 mcg/day + 4 x 25 mcg is exactly the 1,000 mcg/day soft maximum; a fifth bolus is over
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        "900 mcg/day",
        "--bolus-dose",
        "25 mcg",
        "--boluses-per-day",
        per_day,
    )
    assert physical(data["daily_dose"]) == pytest.approx(
        physical({"value": 900 + 25 * int(per_day), "unit": "mcg/day"})
    )
    assert ("dose.above_soft_max" in codes(data)) is warned


def test_check_dose_boluses_on_a_constant_flow_pump_are_blocked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = [
        "check-dose",
        "--drug",
        "morphine",
        "--concentration",
        "10 mg/mL",
        "--pump",
        "isomed-20",
    ]
    assert run_json(capsys, *common, "--dose", "3 mg/day")["verdict"] == "ok"
    patient = run_json(
        capsys, *common, "--dose", "3 mg/day", "--bolus-dose", "0.1 mg", "--boluses-per-day", "4"
    )
    scheduled = run_json(capsys, *common, "--dose", "3 mg/day", "--scheduled-bolus", "07:00 0.5 mg")
    for data in (patient, scheduled):
        assert data["verdict"] == "blocked" and "pump.schedule_not_offered" in codes(data)
    assert physical(scheduled["daily_dose"]) == pytest.approx(
        physical({"value": 3.5, "unit": "mg/day"})
    )
    code, err = _exit_code(
        capsys, ["calc", *common, "--dose", "3 mg/day", "--bolus-dose", "0.1 mg"]
    )
    assert code == 2 and err.startswith("pumpmgr calc check-dose: --boluses-per-day:")


def test_flow_example_9(capsys: pytest.CaptureFixture[str]) -> None:
    """20 mL filled, 4.2 mL aspirated 17 days later: 0.929 mL/day, -7.1 % against 1.0."""
    data = run_json(
        capsys,
        "flow",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--aspirated",
        "4.2 mL",
        "--at",
        "2025-03-20",
        "--nominal-flow",
        "1 mL/day",
    )
    assert physical(data["measured_flow"]) == pytest.approx(0.9294e-6 / 86400, rel=1e-3)
    assert data["deviation_percent"] == pytest.approx(-7.06, abs=0.01)
    code, err = _exit_code(
        capsys,
        [
            "calc",
            "flow",
            "--fill-volume",
            "20 mL",
            "--filled-at",
            "2025-03-03",
            "--aspirated",
            "21 mL",
            "--at",
            "2025-03-20",
        ],
    )
    assert code == 2 and err.startswith("pumpmgr calc flow: --aspirated: more came back")


@pytest.mark.parametrize(
    ("dose", "code"),
    [
        ("500 mcg/day", None),
        ("499.9 mcg/day", "withdrawal.cut_below_half"),  # exactly half
    ],
)
def test_check_dose_warns_of_withdrawal_below_half(
    capsys: pytest.CaptureFixture[str],
    dose: str,
    code: str | None,
) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        dose,
        "--previous-dose",
        "1000 mcg/day",
        "--hours-since-change",
        "72",
    )
    assert ("withdrawal.cut_below_half" in codes(data)) is (code is not None)


@pytest.mark.parametrize(
    ("dose", "verdict"), [("3000 mcg/day", "warning"), ("3000.1 mcg/day", "blocked")]
)
def test_check_dose_individual_maximum_at_its_boundary(
    capsys: pytest.CaptureFixture[str],
    dose: str,
    verdict: str,
) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--dose",
        dose,
        "--individual-max",
        "3000 mcg/day",
    )
    assert data["verdict"] == verdict
    assert ("dose.above_individual_max" in codes(data)) is (verdict == "blocked")
    assert "dose.above_hard_max" not in codes(data)


@pytest.mark.parametrize(("concentration", "warned"), [("25 mcg/mL", False), ("100 mcg/mL", True)])
def test_check_dose_a_ziconotide_naive_pump(
    capsys: pytest.CaptureFixture[str],
    concentration: str,
    warned: bool,
) -> None:
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "ziconotide",
        "--dose",
        "2.4 mcg/day",
        "--concentration",
        concentration,
        "--naive-pump",
    )
    assert ("pump.naive_pump_solution" in codes(data)) is warned


@pytest.mark.parametrize(("bolus", "warned"), [("49.9 mcg", False), ("50 mcg", True)])
def test_check_dose_a_scheduled_bolus_slip(
    capsys: pytest.CaptureFixture[str],
    bolus: str,
    warned: bool,
) -> None:
    """The 07:00 bolus to 5 times what it was (exactly 5 times warns)."""
    data = run_json(
        capsys,
        "check-dose",
        "--drug",
        "baclofen",
        "--step",
        "00:00 100 mcg/day",
        "--scheduled-bolus",
        f"07:00 {bolus}",
        "--previous-step",
        "00:00 100 mcg/day",
        "--previous-scheduled-bolus",
        "07:00 10 mcg",
        "--hours-since-change",
        "48",
        "--origin",
        "spinal",
    )
    assert ("schedule.step_slip" in codes(data)) is warned
    code, err = _exit_code(
        capsys,
        [
            "calc",
            "check-dose",
            "--drug",
            "baclofen",
            "--dose",
            "100 mcg/day",
            "--previous-scheduled-bolus",
            "07:00 10 mcg",
        ],
    )
    assert code == 2 and "--previous-scheduled-bolus: give the steps" in err


_RESIDUAL_OK = [
    "discrepancy",
    "--fill-volume",
    "20 mL",
    "--expected",
    "2.1 mL",
    "--actual",
    "2 mL",
    "--reservoir-capacity",
    "20 mL",
]


def test_discrepancy_restart_time_without_drug_and_over_infusion_risk(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """domain-rules §3: the time without drug from --worst-case-empty to --at; exactly 48 h is
    no over-infusion risk, a minute more is; an empty-reservoir alarm always is."""

    def restart(at: str, *extra: str) -> dict[str, Any]:
        return run_json(
            capsys, *_RESIDUAL_OK, "--worst-case-empty", "2025-05-08T09:00", "--at", at, *extra
        )

    assert restart("2025-05-10T09:00")["restart"] == "no"
    at_48 = restart("2025-05-10T09:00", "--withdrawal")
    assert at_48["restart"].startswith("yes: the patient shows withdrawal; up to 2 days")
    assert at_48["without_drug_hours"] == 48 and at_48["over_infusion_risk"] is False
    over = restart("2025-05-10T09:01", "--pump-log", "stopped")
    assert over["over_infusion_risk"] is True
    assert restart("2025-05-08T10:00", "--pump-log", "empty-alarm")["over_infusion_risk"]
    code, _, err = run(capsys, "calc", *_RESIDUAL_OK, "--at", "2025-05-10T09:00")
    assert code == 2 and "--worst-case-empty" in err


@pytest.mark.parametrize(
    ("accuracy", "at", "state"),
    [
        ("0", "2025-05-31T23:59", "none"),
        ("0", "2025-06-01T00:00", "alarm passed"),  # 18 mL / 0.2 mL/day = 90 days
        ("14.5", "2025-06-10T23:59", "may be empty"),  # the worst case ran empty on 29 May
        ("14.5", "2025-06-11T00:00", "computed empty"),  # 20 mL / 0.2 mL/day = 100 days
    ],
)
def test_forecast_state_before_a_refill_at_a_visit(
    capsys: pytest.CaptureFixture[str], accuracy: str, at: str, state: str
) -> None:
    """domain-rules §3: each state from the moment it is reached, not a minute before."""
    result = run_json(capsys, *_FORECAST_ARGS, "--accuracy", accuracy, "--at", at)
    assert result["state"] == state
    assert (result["state_advice"] == "") is (state == "none")


def test_forecast_admixture_gives_each_drug_in_its_unit(capsys: pytest.CaptureFixture[str]) -> None:
    """domain-rules §2: one volume rate, each drug's daily dose Vd × C_drug, in the drug's
    display unit (§1)."""
    result = run_json(
        capsys,
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "10 mg/mL",
        "--dose",
        "3 mg/day",
        "--drug",
        "morphine",
        "--admixture",
        "clonidine 100 mcg/mL",
        "--admixture",
        "bupivacaine 20000 mcg/mL",
    )
    assert result["admixture_doses"] == ["Clonidine 30 mcg/day", "Bupivacaine 6 mg/day"]
    code, _, err = run(capsys, "calc", *_FORECAST_ARGS, "--admixture", "saline 1 mg/mL")
    assert code == 2 and "--admixture" in err


def test_forecast_ziconotide_is_undiluted_only_when_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """domain-rules §3: 25 mcg/mL is not taken as undiluted from its strength: 40 days (Fri
    11 Apr 2025) without --undiluted, 84 (Mon 26 May) with it; refused for baclofen."""
    args = (
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03T10:00",
        "--concentration",
        "25 mcg/mL",
        "--dose",
        "1.2 mcg/day",
        "--drug",
        "ziconotide",
    )
    diluted = run_json(capsys, *args)
    assert diluted["stability_days"] == 40 and diluted["refill_due"] == "2025-04-11"
    assert diluted["refill_due_reason"] == "stability"
    assert "diluted solution" in diluted["stability_source"]
    undiluted = run_json(capsys, *args, "--undiluted")
    assert undiluted["stability_days"] == 84 and undiluted["refill_due"] == "2025-05-26"
    assert undiluted["stability_source"] == "drug library: Ziconotide"
    code, _, err = run(
        capsys,
        "calc",
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "2000 mcg/mL",
        "--dose",
        "100 mcg/day",
        "--drug",
        "baclofen",
        "--undiluted",
    )
    assert code != 0 and "--undiluted" in err


def test_forecast_ziconotide_first_fill_and_undiluted_refusals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """domain-rules §3: --first-fill-of-drug (the pump's first ziconotide fill) is stable 14
    days (Mon 17 Mar 2025), undiluted or not; --undiluted is refused for 50 mcg/mL (not a stock
    strength) and for an admixture, naming the option."""
    args = (
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03T10:00",
        "--dose",
        "1.2 mcg/day",
        "--drug",
        "ziconotide",
    )
    first = run_json(capsys, *args, "--concentration", "25 mcg/mL", "--first-fill-of-drug")
    assert first["stability_days"] == 14 and first["refill_due"] == "2025-03-17"
    assert first["stability_source"] == (
        "drug library: Ziconotide; the pump's first ziconotide fill"
    )
    code, _, err = run(capsys, "calc", *args, "--concentration", "50 mcg/mL", "--undiluted")
    assert code != 0
    assert "--undiluted: ziconotide 50 mcg/mL is not a stock strength" in err
    code, _, err = run(
        capsys,
        "calc",
        *args,
        "--concentration",
        "25 mcg/mL",
        "--admixture",
        "clonidine 500 mcg/mL",
        "--undiluted",
    )
    assert code != 0 and "--undiluted: an admixture is diluted by definition" in err
    code, _, err = run(
        capsys, "calc", *args[:-2], "--concentration", "25 mcg/mL", "--first-fill-of-drug"
    )
    assert code != 0 and "--first-fill-of-drug: give it with --drug" in err


def test_forecast_counts_the_limits_of_every_drug_of_an_admixture(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """domain-rules §3: the shortest stability and refill interval of the solution's drugs, as
    the visit counts them; baclofen alone has no stability limit and a 180-day interval, the
    morphine beside it 90 days of each (its stability; the clinic's interval)."""
    alone = run_json(capsys, *_FORECAST_ARGS, "--drug", "baclofen")
    assert alone["stability_days"] is None and alone["max_interval_days"] == 180
    mixed = run_json(
        capsys, *_FORECAST_ARGS, "--drug", "baclofen", "--admixture", "morphine 10 mg/mL"
    )
    assert mixed["stability_days"] == 90 and mixed["max_interval_days"] == 90
    assert mixed["stability_source"] == "drug library: Morphine"


def test_check_dose_says_what_the_dose_was_compared_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """domain-rules §6: a first dose of a drug is a start unless it continues a dose from
    before the record. check-dose holds no record, so it says which it checked and, with
    neither --start nor --previous-dose, how to give one (never a silent default)."""
    base = ("check-dose", "--drug", "morphine", "--dose", "10 mg/day")
    neither = run_json(capsys, *base)
    assert "start.above_range" not in codes(neither)
    assert "--start" in neither["checked_as"] and "--previous-dose" in neither["checked_as"]
    assert "continues a dose from before this record" in neither["checked_as"]
    assert run_json(capsys, *base, "--start")["checked_as"].startswith("a start")
    changed = run_json(capsys, *base, "--previous-dose", "9 mg/day")
    assert changed["checked_as"] == "a change from --previous-dose"
    code, out, _ = run(capsys, "calc", *base)
    assert code == 0 and "checked as:" in out and "give --start" in out
