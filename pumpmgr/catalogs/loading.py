"""The catalog files, and the shipped catalogs read once per process (pure layer, as
:mod:`pumpmgr.catalogs`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from pumpmgr import resources_locator
from pumpmgr.catalogs.model import (
    CATHETERS_FILE,
    DRUGS_FILE,
    PUMPS_FILE,
    Catalogs,
    CatheterModel,
    Drug,
    DrugLibrary,
    PumpModel,
)
from pumpmgr.catalogs.reader import (
    load_catheters,
    load_drugs,
    load_pumps,
)
from pumpmgr.errors import CatalogError, Code

# --------------------------------------------------------------------------------------------
# Files


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}", code=Code.CATALOG) from None


def load_pumps_file(path: Path) -> Mapping[str, PumpModel]:
    return load_pumps(_read(path), file=str(path))


def load_catheters_file(path: Path) -> Mapping[str, CatheterModel]:
    return load_catheters(_read(path), file=str(path))


def load_drugs_file(path: Path) -> DrugLibrary:
    return load_drugs(_read(path), file=str(path))


def load_catalogs(directory: Path | None = None) -> Catalogs:
    """The three catalogs from ``directory`` (the shipped ``resources/catalogs`` by default)."""
    folder = resources_locator.catalogs_dir() if directory is None else directory
    return Catalogs(
        pumps=load_pumps_file(folder / PUMPS_FILE),
        catheters=load_catheters_file(folder / CATHETERS_FILE),
        drugs=load_drugs_file(folder / DRUGS_FILE),
    )


@functools.cache
def default_catalogs() -> Catalogs:
    """The shipped catalogs, read once per process."""
    return load_catalogs()


def pump_model(key: str) -> PumpModel:
    """A shipped pump model by key; :class:`CatalogError` (``UNKNOWN_PUMP``) lists the keys."""
    return default_catalogs().pump_model(key)


def catheter_model(key: str) -> CatheterModel:
    """A shipped catheter model by key (``UNKNOWN_CATHETER`` when there is none)."""
    return default_catalogs().catheter_model(key)


def drug(name: str) -> Drug:
    """A shipped drug by key or name, ignoring case (``UNKNOWN_DRUG`` when there is none)."""
    return default_catalogs().drug(name)
