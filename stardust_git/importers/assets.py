"""The files a release references, checked and brought into ``assets/<UPC>/``.

``copy`` (the default) copies each file, ``link`` makes a hard link (a symbolic link where the
file system refuses one); both check first that every file exists and that its MD5 is the one
the input states. ``none`` checks nothing and brings nothing: the audio lives elsewhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from stardust_git.assets import AssetError, md5_file
from stardust_git.errors import Diagnostic
from stardust_git.importers.model import ImportedRelease, ResourceFile

AssetMode = Literal["copy", "link", "none"]
ASSET_MODES: tuple[AssetMode, ...] = ("copy", "link", "none")
ASSETS_DIR = "assets"


def resource_problems(release: ImportedRelease, mode: AssetMode) -> list[Diagnostic]:
    """Why the release's files cannot be brought in: missing, unreadable, or another MD5."""
    if mode == "none":
        return []
    return [p for resource in release.resources if (p := _problem(release, resource))]


def _problem(release: ImportedRelease, resource: ResourceFile) -> Diagnostic | None:
    if resource.md5 is None:  # nothing to compare: only whether it is there (never read)
        there = resource.source.is_file()
        return None if there else _located(release, resource, f"{resource.source}: not found")
    try:
        actual = md5_file(resource.source)
    except AssetError as exc:
        return _located(release, resource, str(exc))
    if actual != resource.md5:
        return _located(
            release,
            resource,
            f"{resource.source.name}: MD5 {actual} does not match {resource.md5} stated at"
            f" {resource.where}",
        )
    return None


def _located(release: ImportedRelease, resource: ResourceFile, message: str) -> Diagnostic:
    return Diagnostic(release.source, release.line, 0, resource.where, message)


def bring_in(root: Path, release: ImportedRelease, mode: AssetMode) -> list[str]:
    """Copy or link the release's files into ``assets/<UPC>/``; their repository paths."""
    if mode == "none":
        return []
    placed = []
    for resource in release.resources:
        path = f"{ASSETS_DIR}/{release.upc}/{resource.name}"
        _place(resource.source, root / path, mode)
        placed.append(path)
    return placed


def _place(source: Path, target: Path, mode: AssetMode) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.importing")
    temporary.unlink(missing_ok=True)
    if mode == "copy":
        shutil.copyfile(source, temporary)
    else:
        _link(source.resolve(), temporary)
    os.replace(temporary, target)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links refused: a symbolic link still works
        target.symlink_to(source)
