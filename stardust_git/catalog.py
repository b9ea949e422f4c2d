"""Loading the catalog repository: releases, targets and genre maps, with every error collected.

Layout (relative to the repository root): ``catalog/**/*.yaml`` one release each,
``targets/<name>.yaml``, ``genre-maps/genres.yaml``, ``genre-maps/<map>.yaml`` and
``genre-maps/vocabularies/<vocabulary>.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from stardust_git.errors import Diagnostic, Diagnostics, closest, did_you_mean
from stardust_git.models import GenreMap, GenreTaxonomy, GenreVocabulary, Release, Target
from stardust_git.yamlio import YamlDocument, YamlLoadError, load_yaml_file

CATALOG_DIR = "catalog"
TARGETS_DIR = "targets"
GENRES_DIR = "genre-maps"
RECEIPTS_DIR = "receipts"
YAML_SUFFIXES = (".yaml", ".yml")

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class Loaded(Generic[ModelT]):
    """A model read from a file, with the document it came from (for error positions)."""

    path: str
    document: YamlDocument
    model: ModelT

    def diagnostic(self, loc: tuple[str | int, ...], message: str, **kwargs: Any) -> Diagnostic:
        return self.document.diagnostic(loc, message, **kwargs)


@dataclass
class Catalog:
    """Everything loaded from a catalog repository."""

    root: Path
    releases: dict[str, Loaded[Release]] = field(default_factory=dict)
    targets: dict[str, Loaded[Target]] = field(default_factory=dict)
    taxonomy: Loaded[GenreTaxonomy] | None = None
    vocabularies: dict[str, Loaded[GenreVocabulary]] = field(default_factory=dict)
    genre_maps: dict[str, Loaded[GenreMap]] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    unreadable: set[str] = field(default_factory=set)
    release_upcs: set[str] = field(default_factory=set)
    """UPCs of every release file this run has already summarised (loaded or from the facts
    index), so later checks need not read catalog/ again."""

    def release_by_upc(self, upc: str) -> Loaded[Release] | None:
        for loaded in self.releases.values():
            if loaded.model.upc == upc:
                return loaded
        return None


def find_root(start: Path | None = None) -> Path:
    """The catalog repository root: the nearest folder with catalog/ or targets/ (or .git)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CATALOG_DIR).is_dir() or (folder / TARGETS_DIR).is_dir():
            return folder
        if (folder / ".git").exists():
            return folder
    return here


def relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (how files are named in messages)."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    if ".." not in absolute.parts and absolute.is_relative_to(root):
        return absolute.relative_to(root).as_posix()  # no file system calls: 10,000 files
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: name the file as it was given
        resolved = path.absolute()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def release_files(root: Path) -> list[Path]:
    """Every release file under catalog/, sorted."""
    return [root / name for name in release_names(root)]


def release_names(root: Path) -> list[str]:
    """Every release file under catalog/ as a sorted POSIX path relative to ``root``.

    Plain strings: building and sorting 10,000 Path objects costs more than reading the files.
    """
    names: list[str] = []
    for folder, dirs, files in os.walk(root / CATALOG_DIR):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        prefix = Path(folder).relative_to(root).as_posix()
        names.extend(f"{prefix}/{name}" for name in files if name.endswith(YAML_SUFFIXES))
    return sorted(names)


def target_files(root: Path) -> list[Path]:
    base = root / TARGETS_DIR
    return sorted(p for p in base.iterdir() if p.suffix in YAML_SUFFIXES) if base.is_dir() else []


def load_model(
    path: Path, shown: str, model: type[ModelT], diagnostics: Diagnostics
) -> Loaded[ModelT] | None:
    """Parse and validate one file; problems go to ``diagnostics`` and ``None`` is returned."""
    try:
        document = load_yaml_file(path, shown)
    except YamlLoadError as exc:
        diagnostics.extend(exc.diagnostics)
        return None
    return validate_document(document, model, diagnostics)


def validate_document(
    document: YamlDocument, model: type[ModelT], diagnostics: Diagnostics
) -> Loaded[ModelT] | None:
    if not isinstance(document.data, dict):
        diagnostics.error(
            document.path, "expected a mapping of fields at the top level", line=1, col=1
        )
        return None
    try:
        instance = model.model_validate(document.data)
    except ValidationError as exc:
        diagnostics.extend(pydantic_diagnostics(exc, document, model))
        return None
    return Loaded(document.path, document, instance)


def pydantic_diagnostics(
    exc: ValidationError, document: YamlDocument, model: type[BaseModel]
) -> list[Diagnostic]:
    """Turn a ValidationError into diagnostics pointing at file, line and field."""
    found = []
    for error in exc.errors(include_url=False):
        loc = _data_loc(document.data, error["loc"], keep_missing=error["type"] == "missing")
        if error["type"] in _TAG_ERRORS:
            loc = (*loc, error["ctx"]["discriminator"].strip("'"))
        message = _message(error, model, loc)
        found.append(document.diagnostic(loc, message))
    return found


_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


def _data_loc(data: Any, loc: tuple[Any, ...], keep_missing: bool = False) -> tuple[str | int, ...]:
    """The part of a pydantic location that exists in the data.

    Pydantic inserts union tags and validator names into locations; they are skipped. With
    ``keep_missing`` a missing field's name is kept as the last part (its position falls back to
    the parent mapping).
    """
    cleaned: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            cleaned.append(part)
            node = node[part]
        elif keep_missing and index == len(loc) - 1 and isinstance(node, dict):
            cleaned.append(part)
    return tuple(cleaned)


def _message(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind = error["type"]
    if kind in ("missing", "union_tag_not_found"):
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"'{error['ctx']['tag']}' is not one of {error['ctx']['expected_tags']}"
    if kind == "extra_forbidden":
        return "unknown field" + _field_hint(model, loc)
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field_hint(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    name = loc[-1] if loc else ""
    fields = _fields_at(model, loc[:-1])
    return did_you_mean(closest(str(name), fields))


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not hasattr(current, "model_fields"):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _model_in(info.annotation)
        if current is None:
            return []
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside an annotation such as ``list[Track] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def load_targets(root: Path, catalog: Catalog) -> None:
    for path in target_files(root):
        shown = relative(root, path)
        loaded = load_model(path, shown, Target, catalog.diagnostics)
        if loaded:
            catalog.targets[path.stem] = loaded
        else:
            catalog.unreadable.add(shown)


def load_genres(root: Path, catalog: Catalog) -> None:
    base = root / GENRES_DIR
    taxonomy_path = base / "genres.yaml"
    if taxonomy_path.is_file():
        catalog.taxonomy = load_model(
            taxonomy_path, relative(root, taxonomy_path), GenreTaxonomy, catalog.diagnostics
        )
    for path in sorted((base / "vocabularies").glob("*.yaml")):
        loaded = load_model(path, relative(root, path), GenreVocabulary, catalog.diagnostics)
        if loaded:
            catalog.vocabularies[path.stem] = loaded
    for path in sorted(base.glob("*.yaml")) if base.is_dir() else []:
        if path.name == "genres.yaml":
            continue
        loaded = load_model(path, relative(root, path), GenreMap, catalog.diagnostics)
        if loaded:
            catalog.genre_maps[path.stem] = loaded


def load_releases(root: Path, paths: Iterable[Path], catalog: Catalog) -> None:
    for path in paths:
        shown = relative(root, path)
        loaded = load_model(path, shown, Release, catalog.diagnostics)
        if loaded:
            catalog.releases[shown] = loaded
        else:
            catalog.unreadable.add(shown)


def load_catalog(root: Path, release_paths: Iterable[Path] | None = None) -> Catalog:
    """Load targets, genre maps and releases (all of catalog/, or just ``release_paths``)."""
    catalog = Catalog(root=root)
    load_targets(root, catalog)
    load_genres(root, catalog)
    paths = list(release_paths) if release_paths is not None else release_files(root)
    load_releases(root, paths, catalog)
    return catalog


def iter_yaml_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand directories into the YAML files below them."""
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from sorted(Path(folder) / f for f in files if f.endswith(YAML_SUFFIXES))
        else:
            yield path
