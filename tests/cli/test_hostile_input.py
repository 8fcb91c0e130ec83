"""Hostile and unlucky input on the command line (issue 12, group 4): every case that was an
"internal error" (exit 70) is a clear refusal, exit 2 with one line naming what the user gave,
and nothing is written; an import from a pipe or a device never hangs or eats the memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run

LONG_NAME = "a" * 300
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "clinic.db"
    assert run("--db", str(path), "demo", "--patients", "2", "--seed", "3").code == 0
    return path


@pytest.fixture(scope="module")
def export(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("export") / "clinic.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUMPMGR_PASSWORD", "demo-admin-pass")
        assert run("--db", str(demo_db), "export", "--user", "admin", "--out", str(out)).code == 0
    document: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.fixture
def clinic(demo_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copyfile(demo_db, path)
    return path


def _refused(*argv: str, option: str, words: str) -> str:
    result = run(*argv)
    error = result.one_line_error  # exit 2, one line, no traceback
    assert f": {option}: " in error and words in error, error
    assert "internal error" not in error
    return error


def test_a_date_at_the_end_of_the_calendar(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "day.pdf"
    _refused(
        "--db",
        str(clinic),
        "print",
        "day",
        "--date",
        "9999-12-31",
        "--out",
        str(out),
        option="argument --date",
        words="give a date from 1900-01-01 to 2999-12-31",
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "log", "--user", "admin", "--since"],
        ["bookings", "--week"],
        ["book", "D000001", "--on"],
        ["print", "due", "--to", "2026-03-31", "--from"],
        ["export", "--fhir", "--since"],
    ],
)
def test_every_date_option_reads_a_date_alike(tmp_path: Path, argv: list[str]) -> None:
    """One reader behind every command's date option: the same words for a malformed date,
    led by the option as typed."""
    option = argv[-1]
    _refused(
        "--db",
        str(tmp_path / "never.db"),
        *argv,
        "2026-13-01",
        option=f"argument {option}",
        words="'2026-13-01' is not a date; write ISO 8601, for example 2026-03-01",
    )
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("case", ["long", "file-parent", "folder"])
def test_database_paths(tmp_path: Path, case: str) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    db, words = {
        "long": (tmp_path / f"{LONG_NAME}.db", "longer than this system allows"),
        "file-parent": (tmp_path / "afile" / "x.db", "is a file, not a folder"),
        "folder": (tmp_path / "adir", "is a folder"),
    }[case]
    for command in (["due"], ["demo", "--patients", "1"]):
        _refused("--db", str(db), *command, option="--db", words=words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]


@pytest.mark.parametrize("case", ["long", "file-parent"])
@pytest.mark.parametrize("command", ["backup", "export", "print"])
def test_output_paths(clinic: Path, tmp_path: Path, case: str, command: str) -> None:
    (tmp_path / "afile").write_text("x")
    target = tmp_path / f"{LONG_NAME}.out" if case == "long" else tmp_path / "afile" / "x.out"
    words = "longer than this system allows" if case == "long" else "is a file, not a folder"
    argv, option = {
        "backup": (["backup", str(target)], "PATH"),
        "export": (["export", "--user", "admin", "--out", str(target)], "--out"),
        "print": (
            ["print", "due", "--from", "2026-01-01", "--to", "2026-02-01", "--out", str(target)],
            "--out",
        ),
    }[command]
    _refused("--db", str(clinic), *argv, option=option, words=words)


def test_restore_into_a_folder(clinic: Path, tmp_path: Path) -> None:
    backup = tmp_path / "b.db"
    assert run("--db", str(clinic), "backup", str(backup)).code == 0
    folder = tmp_path / "adir"
    folder.mkdir()
    _refused("--db", str(folder), "restore", str(backup), option="--db", words="is a folder")
    assert list(folder.iterdir()) == []


def _import(document: dict[str, object] | str, tmp_path: Path) -> tuple[str, Path]:
    source = tmp_path / "hostile.json"
    source.write_text(
        document if isinstance(document, str) else json.dumps(document), encoding="utf-8"
    )
    target = tmp_path / "imported.db"
    error = _refused("--db", str(target), "import", str(source), option="FILE", words="")
    assert not target.exists()
    return error, target


def _patient(document: dict[str, object], **values: object) -> dict[str, object]:
    changed = json.loads(json.dumps(document))
    changed["tables"]["patients"][0].update(values)
    return changed


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"id": 2**63}, "outside the range a database stores"),
        ({"id": -(2**63) - 1}, "outside the range a database stores"),
        ({"family_name": "\ud800"}, "lone surrogate"),
        ({"family_name": "Me\x00yer"}, "NUL character"),
        ({"mrn": "D" * 65}, "at most 64 characters"),
    ],
)
def test_import_values_no_database_can_store(
    export: dict[str, object],
    tmp_path: Path,
    values: dict[str, object],
    words: str,
) -> None:
    error, _ = _import(_patient(export, **values), tmp_path)
    assert words in error and "patients row 1" in error


def test_import_of_deep_nesting_and_huge_numbers(export: dict[str, object], tmp_path: Path) -> None:
    error, _ = _import("[" * 100_000 + "]" * 100_000, tmp_path)
    assert "nests its values too deeply" in error
    text = json.dumps(export).replace('"id": 1,', '"id": ' + "1" * 5001 + ",", 1)
    error, _ = _import(text, tmp_path)
    assert "number too long" in error


def _limited_run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``pumpmgr ARGV`` in a child with 1.5 GB of address space and 60 s: a reader that never
    ends fails instead of taking the machine with it."""

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    return subprocess.run(
        [sys.executable, "-m", "pumpmgr", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        preexec_fn=limit,
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX pipes")
def test_import_from_a_pipe_or_device_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = tmp_path / "imported.db"
    for source in (fifo, Path("/dev/zero")):
        done = _limited_run(["--db", str(target), "import", str(source)])
        assert done.returncode == 2, done.stderr
        assert f"FILE: {source} is not a file (a pipe, device or folder)" in done.stderr
    assert not target.exists()


def test_errors_name_only_options_the_user_typed(clinic: Path) -> None:
    """A field no typed option supplied is named in words (``user``), never as an option the
    user did not give (``--user``)."""
    from pumpmgr.cli import _option_message
    from pumpmgr.errors import Code, PumpMgrError

    error = PumpMgrError("user: nina may not do that", code=Code.AUTH_NOT_PERMITTED, field="user")
    assert _option_message(error, ["restore", "x.db"]) == "user: nina may not do that"
    assert _option_message(error, ["user", "add", "--user", "nina"]).startswith("--user: ")
    volume = PumpMgrError("a volume: '3' has no unit", code=Code.NO_UNIT, field="a volume")
    assert _option_message(volume, ["import", "x.json"]) == "a volume: '3' has no unit"
    buffer = PumpMgrError("give a whole number", code=Code.OUT_OF_RANGE, field="buffer days")
    assert _option_message(buffer, ["due"]) == "buffer days: give a whole number"
