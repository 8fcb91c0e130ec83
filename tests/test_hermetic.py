"""Tests are hermetic: pumpmgr's folders lie in the test run's own home (tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

from pumpmgr import logfile
from pumpmgr.db.clinic_key import default_key_file
from pumpmgr.db.engine import default_database_path
from pumpmgr.units import registry_cache_folder


def test_every_folder_pumpmgr_writes_to_is_the_test_runs_own() -> None:
    home = Path(os.environ["PUMPMGR_TEST_HOME"])
    assert Path.home() == home
    # the unit registry's cache was written at import, under the test home
    assert registry_cache_folder().is_relative_to(home) and registry_cache_folder().exists()
    assert default_database_path().is_relative_to(home)
    # the configuration folder (QSettings, the clinic key's default place) and the log folder
    # are the session's temporary ones (conftest's fixtures), never the real home's
    tmp = Path(os.environ["PYTEST_TMP_ROOT"])
    assert default_key_file().is_relative_to(tmp)
    assert logfile.log_folder().is_relative_to(tmp)
