"""Where each imported release goes, how it compares with a file already there, and the writing.

A new release goes to ``<label dir>/<slug of the title>.yaml`` (``<slug>-<UPC>.yaml`` when that
name is taken by another release). A release whose UPC the catalog already holds is compared
with that file: the same data is "unchanged"; other data is reported field by field and only
written over the file with ``overwrite``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stardust_git.fileio import slug, write_text_atomic
from stardust_git.importers.emit import release_yaml
from stardust_git.importers.model import Loc
from stardust_git.source.catalog import CATALOG_DIR, UPC_LINE, release_names
from stardust_git.source.tree import Tree
from stardust_git.source.yamlio import YamlLoadError, load_yaml_bytes

SCHEMA_FILE = "schemas/release.schema.json"


@dataclass(frozen=True)
class Difference:
    """One value that differs between the release file and the input."""

    field: str
    """Its path: ``title``, ``tracks[1].duration``."""
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": _jsonable(self.old), "new": _jsonable(self.new)}


def file_slug(text: str) -> str:
    """The slug of ``text`` cut to 80 characters, or ``release`` when it has none."""
    return slug(text)[:80].rstrip("-") or "release"


class ExistingCatalog:
    """The release files already in the catalog, read once: which UPC each holds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        contents = Tree.working(root).fetch(release_names(root))
        self.data = contents.files
        self.by_upc: dict[str, str] = {}
        for path, data in sorted(contents.files.items()):
            for match in UPC_LINE.finditer(data):
                self.by_upc.setdefault(match.group(1).decode(), path)
        self.taken = set(release_names(root))

    def release_data(self, path: str) -> Any:
        """The data of the release file at ``path`` (None when it does not parse)."""
        try:
            return load_yaml_bytes(self.data[path], path).data
        except (YamlLoadError, KeyError):
            return None


def new_path(label_dir: str, data: dict[str, Any], taken: set[str]) -> str:
    """The path for a new release file (and marks it taken)."""
    name = file_slug(str(data.get("title", "")))
    path = f"{label_dir}/{name}.yaml"
    if path in taken:
        path = f"{label_dir}/{name}-{data['upc']}.yaml"
    taken.add(path)
    return path


def default_label_dir(data: dict[str, Any]) -> str:
    """``catalog/<slug of the label>``."""
    return f"{CATALOG_DIR}/{file_slug(str(data.get('label', '')))}"


def differences(old: Any, new: Any, where: str = "") -> Iterator[Difference]:
    """The values that differ between ``old`` and ``new`` (mappings and equal-length lists are
    compared item by item; anything else as a whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from differences(old.get(key), new.get(key), f"{where}.{key}" if where else key)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from differences(before, after, f"{where}[{index}]")
    elif old != new:
        yield Difference(where or "(release)", old, new)


def write_release(root: Path, path: str, data: dict[str, Any], guessed: dict[Loc, str]) -> None:
    """Write the release file at ``path`` (relative to ``root``) atomically; the caller syncs
    once all are written (:func:`os.sync`), not each file."""
    target = root / path
    schema = os.path.relpath(root / SCHEMA_FILE, target.parent)
    modeline = f"# yaml-language-server: $schema={Path(schema).as_posix()}"
    write_text_atomic(target, release_yaml(data, guessed, modeline), durable=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value
