"""Where the shipped ``resources/`` folder (the TOML catalogs) lives; the only module that knows.

Layer: infrastructure helper of the domain core. Imports the standard library (``importlib``,
``pathlib``) and :mod:`pumpmgr.errors` only; nothing happens at import time.

Two layouts exist:
- an installed wheel: ``pyproject.toml`` force-includes ``resources`` as ``pumpmgr/resources``,
  so the folder sits inside the package;
- a source tree (a checkout, or an editable install that points into it): ``resources`` sits
  beside the ``pumpmgr`` package, at the repository root.

The package-internal location is tried first, so that an installed copy never reads a
``resources`` folder that merely happens to lie next to ``site-packages/pumpmgr``. Both are
found from the package actually imported (``importlib.resources.files("pumpmgr")``): an
editable install also leaves a copy of the catalogs in ``site-packages/pumpmgr/resources``
(hatchling applies the force-include), but the package imported is the checkout's, so the
live ``<repo>/resources`` is read, never that stale copy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pumpmgr.errors import CatalogError, Code

#: The folder, under the resources folder, that holds the catalog files.
CATALOG_FOLDER = "catalogs"


def _package_dir() -> Path:
    root = resources.files("pumpmgr")
    # A regular (unzipped) install gives a real folder; catalogs are read with ordinary
    # file access, so an import from a zip file is not supported.
    if not isinstance(root, Path):
        raise CatalogError(
            f"pumpmgr is imported from {root!s}, which is not a folder on disk; install it "
            "as an ordinary (unzipped) package so its catalogs can be read",
            code=Code.CATALOG,
        )
    return root


def resources_dir() -> Path:
    """The folder holding pumpmgr's shipped resources (it contains ``catalogs/``)."""
    package = _package_dir()
    candidates = (
        package / "resources",  # installed wheel
        package.parent / "resources",  # source tree or editable install
    )
    for candidate in candidates:
        if (candidate / CATALOG_FOLDER).is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise CatalogError(
        f"pumpmgr's resources folder is missing (looked in {tried}); reinstall pumpmgr",
        code=Code.CATALOG,
    )


def catalogs_dir() -> Path:
    """The folder of the shipped TOML catalogs."""
    return resources_dir() / CATALOG_FOLDER


def catalog_path(name: str) -> Path:
    """The path of one shipped catalog file, for example ``catalog_path("drugs.toml")``.

    ``name`` is a bare file name: a path that could climb out of the catalogs folder is refused.
    """
    if not name or Path(name).name != name or name in {".", ".."}:
        raise CatalogError(
            f"'{name}' is not a catalog file name (expected something like 'drugs.toml')",
            code=Code.CATALOG,
        )
    path = catalogs_dir() / name
    if not path.is_file():
        raise CatalogError(f"catalog file {path} does not exist", code=Code.CATALOG)
    return path
