"""Build the one-folder release bundle: ``python3 tools/dev.py bundle`` (or run this file with the
project's virtual environment's Python: ``python tools/bundle.py [--dist DIR] [--work DIR]``).

1. Renders resources/icons/pumpmgr.svg into the PNG sizes desktops want, a Windows ``.ico``
   and a macOS ``.icns`` (Qt's SVG renderer, then Pillow).
2. Runs PyInstaller on packaging/pumpmgr.spec: ``dist/pumpmgr/`` holds ``pumpmgr`` (the
   console program), ``pumpmgr-window`` and ``_internal/`` (Python, Qt, the catalogs, the
   migrations, the styles and icons).
3. Adds what a person or a desktop looks for at the top of the folder: LICENSE,
   THIRD_PARTY_NOTICES.md, CHANGELOG.md, README.md, docs/deployment.md, the manual
   (docs/manual with the pictures it shows, tools/manual.py), ``licenses/`` (each
   bundled package's own licence files, from its installed metadata) and, for Linux,
   ``share/`` (the desktop entry, the AppStream metainfo and the icons) with
   ``install-desktop-entry.sh``, which puts them where the desktop finds them.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "org.pumpmgr.pumpmgr"
#: The sizes desktops look for in the hicolor theme (freedesktop icon theme spec).
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
TOP_FILES = ("LICENSE", "THIRD_PARTY_NOTICES.md", "CHANGELOG.md", "README.md")
#: Licence texts for packages whose wheels carry none (packaging/licenses: the FSF's texts).
#: PySide6's wheels ship no licence file; Qt and PySide6 are used under the LGPL-3.0, which
#: is the GPL-3.0 with additional permissions, so both texts go with them.
MISSING_LICENCES = {
    "PySide6_Essentials": ("LGPL-3.0.txt", "GPL-3.0.txt"),
    "shiboken6": ("LGPL-3.0.txt", "GPL-3.0.txt"),
}

INSTALL_SCRIPT = """#!/bin/sh
# Put pumpmgr's desktop entry, AppStream metainfo and icons where the desktop finds them.
# As a user: into ~/.local/share; as root: into /usr/local/share (every user of the computer).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
share="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "$(id -u)" = 0 ]; then share=/usr/local/share; fi
mkdir -p "$share/applications" "$share/metainfo"
sed "s|^Exec=pumpmgr-window|Exec=\\"$here/pumpmgr-window\\"|" \\
    "$here/share/applications/APP_ID.desktop" > "$share/applications/APP_ID.desktop"
cp "$here/share/metainfo/APP_ID.metainfo.xml" "$share/metainfo/"
cp -R "$here/share/icons" "$share/"
if command -v update-desktop-database >/dev/null; then
    update-desktop-database "$share/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t "$share/icons/hicolor" || true
fi
echo "pumpmgr is in the desktop's menu (Science)."
""".replace("APP_ID", APP_ID)


def render_icons(svg: Path, out: Path) -> dict[str, Path]:
    """The PNGs (``out/hicolor/NxN/apps/APP_ID.png``), ``out/pumpmgr.ico`` and
    ``out/pumpmgr.icns``, rendered from ``svg``; returns what was made, by name."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not an SVG file Qt can draw")
    made: dict[str, Path] = {}
    images: dict[int, Image.Image] = {}
    for size in (*PNG_SIZES, 1024):  # 1024: the largest of the .icns (512 at 2x)
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = (
            out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
            if size in PNG_SIZES
            else out / f"pumpmgr-{size}.png"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path)):  # the format from the suffix
            raise SystemExit(f"could not write {path}")
        images[size] = Image.open(path)
        made[f"{size}.png"] = path
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    made["svg"] = scalable
    made["ico"] = out / "pumpmgr.ico"
    images[256].save(made["ico"], format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    made["icns"] = out / "pumpmgr.icns"
    images[1024].save(
        made["icns"], format="ICNS", append_images=[images[s] for s in (16, 32, 64, 128, 256, 512)]
    )
    return made


def licence_files(names: list[str]) -> dict[str, list[Path]]:
    """Each installed distribution's licence files (as its metadata lists them, else every
    LICENSE/COPYING/NOTICE-like file of its dist-info), by ``name-version``."""
    found: dict[str, list[Path]] = {}
    for name in names:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        files = [
            Path(str(distribution.locate_file(f)))
            for f in distribution.files or []
            if re.search(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", str(f), re.IGNORECASE)
            and ".dist-info" in str(f)
        ]
        found[f"{distribution.metadata['Name']}-{distribution.version}"] = [
            f for f in files if f.is_file()
        ]
    return found


def runtime_distributions() -> list[str]:
    """The runtime dependencies (and the postgres extra) with everything they pull in, as
    installed here."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    found: dict[str, None] = {}
    pending = [(Requirement(text), "") for text in wanted]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        name = distribution.metadata["Name"]
        if name in found:
            continue
        found[name] = None
        for needed in distribution.requires or []:
            for wanted_extra in ("", *requirement.extras):
                pending.append((Requirement(needed), wanted_extra))
    return sorted(found, key=str.lower)


def finish(folder: Path, icons: dict[str, Path], assets: Path) -> None:
    """What goes beside the programs: the licences, the documents, the desktop files."""
    for name in TOP_FILES:
        shutil.copyfile(ROOT / name, folder / name)
    (folder / "docs").mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "docs" / "deployment.md", folder / "docs" / "deployment.md")
    from manual import shipped_files  # tools/manual.py: the guide, its pictures, the PDF

    shutil.rmtree(folder / "docs" / "manual", ignore_errors=True)
    for relative in shipped_files():  # Help → Manual opens them from here
        target = folder / "docs" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "docs" / relative, target)
    licences = folder / "licenses"
    shutil.rmtree(licences, ignore_errors=True)
    for package, files in licence_files(runtime_distributions()).items():
        target = licences / package
        target.mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copyfile(file, target / file.name)
        for text in MISSING_LICENCES.get(package.rsplit("-", 1)[0], ()):
            shutil.copyfile(ROOT / "packaging" / "licenses" / text, target / text)
        if not any(target.iterdir()):
            raise SystemExit(
                f"{package} brings no licence file: add its licence text to "
                "packaging/licenses and MISSING_LICENCES in tools/bundle.py"
            )
    share = folder / "share"
    shutil.rmtree(share, ignore_errors=True)
    linux = ROOT / "packaging" / "linux"
    (share / "applications").mkdir(parents=True)
    (share / "metainfo").mkdir(parents=True)
    shutil.copyfile(linux / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop")
    shutil.copyfile(linux / f"{APP_ID}.metainfo.xml", share / "metainfo" / f"{APP_ID}.metainfo.xml")
    shutil.copytree(assets / "hicolor", share / "icons" / "hicolor")
    for kind in ("ico", "icns"):
        shutil.copyfile(icons[kind], share / icons[kind].name)
    script = folder / "install-desktop-entry.sh"
    script.write_text(INSTALL_SCRIPT, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def build(dist: Path, work: Path) -> Path:
    """Build the bundle into ``dist/pumpmgr`` and return that folder."""
    assets = work / "assets"
    shutil.rmtree(assets, ignore_errors=True)
    icons = render_icons(ROOT / "resources" / "icons" / "pumpmgr.svg", assets)
    env = dict(os.environ, PUMPMGR_BUNDLE_ASSETS=str(assets))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(ROOT / "packaging" / "pumpmgr.spec"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    folder = dist / "pumpmgr"
    finish(folder, icons, assets)
    return folder


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tools/bundle.py", description=__doc__.split("\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build" / "bundle", help="default: build/bundle/"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder = build(args.dist.absolute(), args.work.absolute())
    print(
        f"built {folder} ({folder_size(folder) / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
