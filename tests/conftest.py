"""Shared test set-up: Qt runs offscreen before any QApplication exists; a fresh database per
test on each backend (SQLite always, PostgreSQL when ``PUMPMGR_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _hermetic_home() -> Path:
    """A home and XDG folders of the test run's own, set before pumpmgr is imported (the unit
    registry writes its cache at import), and inherited by the programs the tests start: no
    test writes to the real home, cache, configuration or data folders. The package managers'
    download caches (pip, uv: the slow tests build environments) stay where they were."""
    real = Path.home()
    for variable, tool in (("PIP_CACHE_DIR", "pip"), ("UV_CACHE_DIR", "uv")):
        os.environ.setdefault(
            variable, str(Path(os.environ.get("XDG_CACHE_HOME", real / ".cache")) / tool)
        )
    root = Path(tempfile.mkdtemp(prefix="pumpmgr-tests-home-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    os.environ["HOME"] = str(root)
    for variable, name in (
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
    ):
        os.environ[variable] = str(root / name)
    os.environ["PUMPMGR_TEST_HOME"] = str(root)
    return root


def _keep_bytecode() -> None:
    """Let this run and the programs it starts write Python's bytecode caches (``__pycache__``
    folders, which git ignores) even where PYTHONDONTWRITEBYTECODE is set: otherwise every
    pytest-xdist worker rewrites the asserts of all the test modules again at each run (some
    15 s of CPU per worker), and every program a test starts compiles pumpmgr again."""
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


TEST_HOME = _hermetic_home()
_keep_bytecode()

import pytest  # noqa: E402
from database_targets import (  # noqa: E402
    DbTarget,
    copy_sqlite_template,
    create_schema,
    drop_kept_schemas,
    fill_postgres_schema,
    keep_or_drop_schema,
    make_sqlite_template,
    postgres_schema_url,
    postgres_template_sql,
    postgres_unavailable,
    take_kept_schema,
    use_worker_database,
)

from pumpmgr import logfile  # noqa: E402
from pumpmgr.db.engine import Database, open_database  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
use_worker_database()


@pytest.fixture(scope="session", autouse=True)
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary root, where the session's folders below are made."""
    root = tmp_path_factory.getbasetemp()
    os.environ["PYTEST_TMP_ROOT"] = str(root)
    return root


@pytest.fixture(scope="session", autouse=True)
def clinic_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Backups are signed with a clinic key of the test session's own, never the user's keyring
    or configuration folder (child processes inherit the variable)."""
    path = tmp_path_factory.mktemp("clinic-key") / "clinic-backup.key"
    before = os.environ.get("PUMPMGR_KEY_FILE")
    os.environ["PUMPMGR_KEY_FILE"] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop("PUMPMGR_KEY_FILE", None)
        else:
            os.environ["PUMPMGR_KEY_FILE"] = before


@pytest.fixture(autouse=True, scope="session")
def log_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pumpmgr's log folder for the whole run (and the programs tests start): a temporary one,
    never the real home's."""
    folder = tmp_path_factory.mktemp("log")
    before = os.environ.get(logfile.ENV_VAR)
    os.environ[logfile.ENV_VAR] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(logfile.ENV_VAR, None)
    else:
        os.environ[logfile.ENV_VAR] = before


@pytest.fixture(autouse=True, scope="session")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The window keeps each user's size and columns with QSettings: in the tests, and in the
    programs they start (the benchmark's window), under a temporary folder, not the home."""
    folder = tmp_path_factory.mktemp("config")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbTarget]:
    """Where a fresh database for this test lives (nothing is created yet)."""
    if request.param == "sqlite":
        path = tmp_path / "clinic.db"
        yield DbTarget("sqlite", str(path), path, None)
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
    create_schema(schema)
    try:
        yield DbTarget("postgresql", postgres_schema_url(schema), None, schema)
    finally:
        keep_or_drop_schema(schema)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the head once per session, for ``database`` to copy."""
    return make_sqlite_template(tmp_path_factory.mktemp("template") / "clinic.db")


@pytest.fixture
def database(db_target: DbTarget, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A freshly created and migrated database on each backend: a copy of the session's migrated
    template (see ``database_targets``), opened as the program opens a database but for the
    daily backup of a SQLite file (some 25 ms of CPU and five times that in fsync per test;
    ``tests/db/test_db_backup.py`` opens databases that take it)."""
    if db_target.path is not None:
        copy_sqlite_template(request.getfixturevalue("sqlite_template"), db_target.path)
    elif (
        db_target.schema is not None
        and (template := postgres_template_sql()) is not None
        and not take_kept_schema(db_target.schema)  # a schema an earlier test left as new
    ):
        fill_postgres_schema(db_target.schema, template)
    db = open_database(db_target.url, daily_backup_keep=None)
    try:
        yield db
    finally:
        db.dispose()


# --- Reliability harnesses (tests/reliability): small in the suite, large with --full --------

_HARNESS_LINES: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run the reliability harnesses at full size and print one line per harness",
    )


@pytest.fixture
def full_size(request: pytest.FixtureRequest) -> bool:
    """True when the harnesses run at full size (``pytest tests/reliability --full``)."""
    return bool(request.config.getoption("--full"))


_HARNESS_PROPERTY = "harness line"


@pytest.fixture
def harness_note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line of measured figures (printed at the end with the harnesses'). The line
    travels in the test's report, so it reaches the summary from a pytest-xdist worker too."""

    def note(line: str) -> None:
        request.node.user_properties.append((_HARNESS_PROPERTY, line))

    return note


@pytest.fixture
def harness_report(harness_note: Callable[[str], None]) -> Callable[[str, int, int, float], None]:
    """Record one harness's figures: name, trials, failures, seconds (printed at the end)."""

    def report(name: str, trials: int, failures: int, seconds: float) -> None:
        harness_note(
            f"{name:<36} trials {trials:>8}  failures {failures:>4}  time {seconds:8.1f} s"
        )

    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":  # the last report of a test carries all its properties
        _HARNESS_LINES.extend(
            str(line) for name, line in report.user_properties if name == _HARNESS_PROPERTY
        )


#: Per-test limit of pytest-timeout (pyproject's ``timeout``) for the tests marked slow, which
#: build wheels, virtual environments and the bundle: a hung test fails with its stack instead
#: of stopping the whole run at CI's limit.
SLOW_TIMEOUT_S = 1800


@pytest.hookimpl
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: its order is the schedule's
        items.sort(key=_schedule_key(items))
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist (--dist loadfile) hands out whole files in the order the workers collected
    # them, not re-sorted by its own count of tests (which put the one-test packaging files,
    # minutes each, last: one worker built the bundle while the other idled).
    if config.pluginmanager.hasplugin("xdist"):
        config.option.loadscopereorder = False


def _schedule_key(items: list[pytest.Item]) -> Callable[[pytest.Item], tuple[int, int]]:
    """Files marked ``slow`` first, then those marked ``long``, then the rest; within each,
    files of more tests first (a file's tests stay together and in their order): the longest
    work starts first and short files fill the workers' time at the end."""
    counts = Counter(item.path for item in items)
    rank: dict[Path, int] = {}
    for item in items:
        mine = 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("long") else 2
        rank[item.path] = min(rank.get(item.path, 2), mine)
    return lambda item: (rank.get(item.path, 2), -counts[item.path])


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_kept_schemas()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _HARNESS_LINES:
        terminalreporter.section("reliability harnesses")
        for line in _HARNESS_LINES:
            terminalreporter.write_line(line)
