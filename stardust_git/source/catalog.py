"""Loading the catalog repository: releases, targets and genre maps, with every error collected.

Layout (relative to the repository root): ``catalog/**/*.yaml`` one release each,
``targets/<name>.yaml``, ``genre-maps/genres.yaml``, ``genre-maps/<map>.yaml`` and
``genre-maps/vocabularies/<vocabulary>.yaml`` (``.yml`` alike). One loader,
:func:`load_catalog_from`, reads them from any :class:`Tree`: the working tree or a commit.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from stardust_git.errors import Diagnostic, Diagnostics, closest, did_you_mean
from stardust_git.models import GenreMap, GenreTaxonomy, GenreVocabulary, Release, Target
from stardust_git.models.common import placeholder_message
from stardust_git.models.defaults import Defaults
from stardust_git.source import defaults as defaults_files
from stardust_git.source.layout import CATALOG_DIR, GENRES_DIR, TARGETS_DIR
from stardust_git.source.layout import RECEIPTS_DIR as RECEIPTS_DIR  # re-exported
from stardust_git.source.tree import Contents, Tree
from stardust_git.source.yamlio import YamlDocument, YamlLoadError, load_yaml_bytes, load_yaml_file

YAML_SUFFIXES = (".yaml", ".yml")
#: A top-level ``upc:`` key at the start of a line (never inside a comment or an indented block):
#: the UPC of a release file read without parsing it.
UPC_LINE = re.compile(rb"^upc:\s*['\"]?(\d{12,13})\b", re.MULTILINE)

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class Loaded(Generic[ModelT]):
    """A model read from a file, with the document it came from (for error positions)."""

    path: str
    document: YamlDocument
    model: ModelT
    defaults: tuple[str, ...] = ()
    """The defaults files the model was resolved with, outermost first (releases only)."""

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
    defaults: dict[str, Loaded[Defaults]] = field(default_factory=dict)  # type: ignore[valid-type]
    """The defaults files the loaded releases use, by path."""
    broken_defaults: set[str] = field(default_factory=set)
    """Defaults files that do not load: the releases below them are not loaded either."""
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    unreadable: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    """Files not read at all: not regular files (a FIFO, a directory...), or too large."""
    release_upcs: set[str] = field(default_factory=set)
    """UPCs of every release file this run has already summarised (loaded or from the facts
    index), so later checks need not read catalog/ again."""
    unsummarised: list[str] | None = None
    """Release files the facts index has no UPC for (None: not known, look at every file)."""

    def refusals(self) -> list[Diagnostic]:
        """Why each of the :attr:`refused` files was not read."""
        return [d for d in self.diagnostics.items if d.path in self.refused]

    def release_by_upc(self, upc: str) -> Loaded[Release] | None:
        for loaded in self.releases.values():
            if loaded.model.upc == upc:
                return loaded
        return None


def relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (how files are named in messages)."""
    text, base = str(path), str(root)
    if text.startswith(base + "/") and "/../" not in text + "/" and os.sep == "/":
        return text[len(base) + 1 :]  # no Path objects either: validate names 100,000 files
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
    return release_paths_in(Tree.working(root))


def release_paths_in(tree: Tree) -> list[str]:
    """Every release file under catalog/ of ``tree`` (defaults files are not releases)."""
    listed = tree.list(CATALOG_DIR)
    return [p for p in listed if p.endswith(YAML_SUFFIXES) and not defaults_files.is_defaults(p)]


def is_release_path(path: str) -> bool:
    """Whether :func:`release_names` would list ``path`` (it exists): a YAML file under
    catalog/, not a defaults file, in no hidden folder."""
    folder, _, name = path.rpartition("/")
    return (
        name.endswith(YAML_SUFFIXES)
        and name not in defaults_files.DEFAULTS_NAMES
        and _release_folder(folder)
    )


@lru_cache(maxsize=4096)
def _release_folder(folder: str) -> bool:
    """Whether release files may be in ``folder``: catalog/ or below, in no hidden folder (once
    per folder: a facts-index refresh asks for every one of 100,000 files)."""
    parts = folder.split("/")
    return parts[0] == CATALOG_DIR and not any(part.startswith(".") for part in parts[1:])


def paths_naming(root: Path, upc: str) -> list[Path]:
    """The release files that say ``upc: <upc>``, and those that cannot be read (to report)."""
    contents = Tree.working(root).fetch(release_names(root))
    named = [
        path
        for path, data in contents.files.items()
        if any(m.group(1).decode() == upc for m in UPC_LINE.finditer(data))
    ]
    return [root / path for path in sorted([*named, *contents.refused])]


def target_files(root: Path) -> list[Path]:
    return [root / name for name in support_files(Tree.working(root)) if _kind(name) == "target"]


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


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
"""The form dates are written in; a date of that form that does not exist keeps pydantic's
message (it says which part is out of range)."""
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
    unfilled = isinstance(error["input"], str) and placeholder_message(error["input"])
    if unfilled:
        return unfilled
    if kind in ("missing", "union_tag_not_found"):
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"'{error['ctx']['tag']}' is not one of {error['ctx']['expected_tags']}"
    if kind == "extra_forbidden":
        return "unknown field" + _field_hint(model, loc)
    if kind.startswith("date_") and not ISO_DATE.fullmatch(str(error["input"])):
        return f"'{error['input']}' is not a date: write it as YYYY-MM-DD (e.g. 2025-03-14)"
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


# --- one loader for the working tree and any revision ------------------------------------------

PARALLEL_FROM = 500
"""Release files parsed in worker processes from this many on (when asked to)."""

_GENRE_MODELS: dict[str, type[BaseModel]] = {
    "taxonomy": GenreTaxonomy,
    "vocabulary": GenreVocabulary,
    "genre-map": GenreMap,
}


def _kind(path: str) -> str:
    """What a file of the repository holds, from its path alone (the same for every tree)."""
    parts = path.split("/")
    if not path.endswith(YAML_SUFFIXES):
        return ""
    if parts[0] == TARGETS_DIR and len(parts) == 2:
        return "target"
    if parts[0] == GENRES_DIR and len(parts) == 2:
        return "taxonomy" if Path(path).stem == "genres" else "genre-map"
    if parts[0] == GENRES_DIR and len(parts) == 3 and parts[1] == "vocabularies":
        return "vocabulary"
    if parts[0] == CATALOG_DIR and defaults_files.is_defaults(path):
        return "defaults"
    return "release"


def support_files(tree: Tree) -> list[str]:
    """Targets and genre-map files: what every release is checked against."""
    listed = tree.list(TARGETS_DIR) + tree.list(GENRES_DIR)
    return sorted(p for p in listed if _kind(p) not in ("", "release", "defaults"))


def load_catalog(root: Path, release_paths: Iterable[Path] | None = None) -> Catalog:
    """Load targets, genre maps and releases (all of catalog/, or just ``release_paths``) from
    the working tree."""
    if release_paths is None:
        return load_catalog_from(Tree.working(root), release_names(root))
    on_disk = {relative(root, path): path for path in release_paths}
    return load_catalog_from(Tree.working(root, on_disk), list(on_disk))


def load_catalog_from(
    tree: Tree,
    release_paths: list[str],
    digests: dict[str, str] | None = None,
    parallel: bool = False,
) -> Catalog:
    """Targets, genre maps and the given releases, as they are in ``tree`` (a commit or the
    working tree: one code path, so both read the same files the same way).

    ``digests`` receives a content digest of every file read. With ``parallel``, many release
    files are parsed on every CPU; their documents then keep no positions.
    """
    catalog = Catalog(root=tree.root)
    asked = [p for p in release_paths if _kind(p) == "defaults"]  # checked on their own too
    release_paths = [p for p in release_paths if p not in asked]
    candidates = defaults_files.all_candidates(release_paths)
    support = support_files(tree) + list(dict.fromkeys([*candidates, *asked]))
    contents = tree.fetch([*support, *release_paths])
    _report_unread(catalog, contents, [*support, *release_paths])
    _load_support_files(catalog, support, contents.files)
    _load_release_files(catalog, release_paths, contents.files, parallel)
    _digest(contents.files, digests)
    return catalog


def load_releases_into(
    catalog: Catalog,
    tree: Tree,
    release_paths: list[str],
    digests: dict[str, str] | None = None,
    parallel: bool = False,
) -> None:
    """More releases into a catalog :func:`load_catalog_from` made (a plan over a large catalog
    loads a share at a time), with the defaults files they use that it has not loaded yet."""
    known = catalog.defaults.keys() | catalog.broken_defaults
    candidates = defaults_files.all_candidates(release_paths)  # the parallel parsers need all
    contents = tree.fetch([*candidates, *release_paths])
    new = [path for path in candidates if path not in known]
    _report_unread(catalog, contents, [*new, *release_paths])
    _load_support_files(catalog, new, contents.files)
    _load_release_files(catalog, release_paths, contents.files, parallel)
    _digest(contents.files, digests)


def _load_support_files(catalog: Catalog, paths: list[str], files: dict[str, bytes]) -> None:
    for path in paths:
        if path in files:
            _load_into(catalog, path, files[path])


def _load_release_files(
    catalog: Catalog, release_paths: list[str], files: dict[str, bytes], parallel: bool
) -> None:
    releases = [(p, files[p]) for p in release_paths if p in files]
    if parallel and len(releases) >= PARALLEL_FROM:
        defaults_bytes = {path: files[path] for path in catalog.defaults if path in files}
        with no_cyclic_gc():  # the models coming back are thousands of acyclic objects
            _load_releases_in_parallel(catalog, releases, defaults_bytes)
    else:
        for path, data in releases:
            _load_into(catalog, path, data)


def _digest(files: dict[str, bytes], digests: dict[str, str] | None) -> None:
    if digests is not None:
        for path, data in files.items():
            digests[path] = hashlib.blake2b(data, digest_size=16).hexdigest()


READ_AHEAD = 16
"""Releases a :class:`ReleaseCache` reads at once on a miss (one git process for them all)."""
READ_HELD = 1024
"""Release files a :class:`ReleaseCache` keeps as read (bytes, a few KiB each): one asked for
again after its parsed model was let go is parsed again without another git process."""


@dataclass(frozen=True)
class ReleaseSource:
    """Where a :class:`ReleaseCache` reads release files (many at once) and how it parses one."""

    read: Callable[[list[str]], dict[str, bytes]]
    parse: Callable[[str, bytes], Loaded[Release] | None]


class ReleaseCache(dict[str, "Loaded[Release]"]):
    """Releases by path, at most ``limit`` of them held parsed (the oldest let go first); one
    asked for by ``cache[path]`` after it was let go is parsed again. A miss reads the file
    with the next few of the order :meth:`expect` gave, but parses only the one asked for: the
    lanes of a target ask for a share of those others, and parsing is most of the cost of
    loading a release. Plan and deliver over a large catalog hold a share of the releases this
    way, not every one (thread-safe: a target's lanes render from it at once).
    """

    def __init__(self, source: ReleaseSource, limit: int) -> None:
        super().__init__()
        self._source = source
        self.limit = limit
        self._lock = threading.Lock()
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._read: dict[str, bytes] = {}
        """Release files read (ahead), by path: at most :data:`READ_HELD`, the oldest let go."""

    def expect(self, paths: list[str]) -> None:
        """The order the releases will be asked for in (read ahead along it)."""
        self._order = list(dict.fromkeys(paths))
        self._index = {path: index for index, path in enumerate(self._order)}

    def __missing__(self, path: str) -> Loaded[Release]:
        data = self._read.get(path)
        if data is None:
            data = self._read_along(path)
        loaded = self._source.parse(path, data) if data is not None else None
        if loaded is None:
            raise KeyError(path)
        with self._lock:
            super().__setitem__(path, loaded)
            while len(self) > self.limit:
                super().__delitem__(next(iter(self)))
        return loaded

    def _read_along(self, path: str) -> bytes | None:
        """Read ``path`` and the next few of the expected order not held; its bytes."""
        start = self._index.get(path)
        ahead = self._order[start + 1 : start + READ_AHEAD] if start is not None else []
        wanted = [p for p in ahead if p not in self and p not in self._read]
        found = self._source.read([path, *wanted])
        with self._lock:
            self._read.update(found)
            while len(self._read) > READ_HELD:
                del self._read[next(iter(self._read))]
        return found.get(path)


def release_loader(catalog: Catalog, tree: Tree) -> ReleaseSource:
    """Reads release files of ``tree`` again, and parses one resolved with the catalog's
    defaults files."""
    present = catalog.defaults.keys() | catalog.broken_defaults

    def parse(path: str, data: bytes) -> Loaded[Release] | None:
        chain = defaults_files.chain(path, present)
        documents = [catalog.defaults[p].document for p in chain if p in catalog.defaults]
        return parse_release(path, data, documents, Diagnostics())

    return ReleaseSource(tree.read, parse)


def _report_unread(catalog: Catalog, contents: Contents, wanted: list[str]) -> None:
    """Files refused (not regular, too large) and releases asked for that are not there."""
    for path in dict.fromkeys(wanted):
        why = contents.refused.get(path)
        if why is not None:
            catalog.refused.add(path)
        elif path not in contents.files and _kind(path) == "release":
            why = "cannot read file: No such file or directory"
        if why is not None:
            catalog.diagnostics.error(path, why, line=1, col=1)
            catalog.unreadable.add(path)


def load_targets(root: Path, catalog: Catalog) -> None:
    """Only the targets of the working tree (commands that need nothing else)."""
    _load_support(Tree.working(root), catalog, {"target"})


def load_genres(root: Path, catalog: Catalog) -> None:
    """Only the genre taxonomy, vocabularies and maps of the working tree."""
    _load_support(Tree.working(root), catalog, set(_GENRE_MODELS))


def _load_support(tree: Tree, catalog: Catalog, kinds: set[str]) -> None:
    paths = [p for p in support_files(tree) if _kind(p) in kinds]
    contents = tree.fetch(paths)
    _report_unread(catalog, contents, paths)
    for path in paths:
        if path in contents.files:
            _load_into(catalog, path, contents.files[path])


def _load_into(catalog: Catalog, path: str, data: bytes) -> None:
    kind = _kind(path)
    if kind in _GENRE_MODELS:
        _load_genre_file(catalog, path, kind, data)
    elif kind == "defaults":
        _load_defaults_file(catalog, path, data)
    elif kind == "target":
        loaded = parse_model(path, data, Target, catalog.diagnostics)
        if loaded is None:
            catalog.unreadable.add(path)
        else:
            catalog.targets[Path(path).stem] = loaded
    else:
        _load_release(catalog, path, data)


def _load_defaults_file(catalog: Catalog, path: str, data: bytes) -> None:
    loaded = parse_model(path, data, Defaults, catalog.diagnostics)
    if loaded is None:
        catalog.broken_defaults.add(path)
    else:
        catalog.defaults[path] = loaded


def _load_release(catalog: Catalog, path: str, data: bytes) -> None:
    """A release file resolved with its defaults; not loaded below a broken defaults file (that
    file's own errors say why)."""
    chain = defaults_files.chain(path, catalog.defaults.keys() | catalog.broken_defaults)
    if catalog.broken_defaults.intersection(chain):
        catalog.unreadable.add(path)
        return
    documents = [catalog.defaults[p].document for p in chain]
    loaded = parse_release(path, data, documents, catalog.diagnostics)
    if loaded is None:
        catalog.unreadable.add(path)
    else:
        catalog.releases[path] = loaded


def parse_release(
    path: str, data: bytes, defaults: list[YamlDocument], diagnostics: Diagnostics
) -> Loaded[Release] | None:
    """Parse a release file's bytes and validate it resolved with ``defaults`` (outermost
    first); problems go to ``diagnostics``, located in the file each value came from."""
    try:
        document = load_yaml_bytes(data, path)
    except YamlLoadError as exc:
        diagnostics.extend(exc.diagnostics)
        return None
    loaded = validate_document(defaults_files.resolve(document, defaults), Release, diagnostics)
    if loaded is not None:
        loaded.defaults = tuple(source.path for source in defaults)
    return loaded


def _load_genre_file(catalog: Catalog, path: str, kind: str, data: bytes) -> None:
    loaded = parse_model(path, data, _GENRE_MODELS[kind], catalog.diagnostics)
    if kind == "taxonomy":
        catalog.taxonomy = loaded  # type: ignore[assignment]
    elif loaded and kind == "vocabulary":
        catalog.vocabularies[Path(path).stem] = loaded  # type: ignore[assignment]
    elif loaded:
        catalog.genre_maps[Path(path).stem] = loaded  # type: ignore[assignment]


PRIMED_HELD = 512
PRIMED_MAX_BYTES = 4 * 1024 * 1024
_PRIMED: dict[tuple[str, type, bytes], tuple[Loaded[Any] | None, tuple[Diagnostic, ...]]] = {}
"""Targets and genre files the warm validate server parsed before forking a call's child, by
path, model and exact bytes (empty in every other process): the child takes a file's result,
diagnostics included, when its bytes are the same."""


def prime_support_files(root: Path) -> None:
    """Parse the work tree's targets and genre files of ``root`` into :data:`_PRIMED` (the warm
    server, before each fork: a file parsed once serves every later call while unchanged)."""
    if len(_PRIMED) > PRIMED_HELD:
        _PRIMED.clear()
    for folder in (TARGETS_DIR, GENRES_DIR, f"{GENRES_DIR}/vocabularies"):
        for file in sorted((root / folder).glob("*")):
            path = f"{folder}/{file.name}"
            kind = _kind(path)
            model = Target if kind == "target" else _GENRE_MODELS.get(kind)
            if model is not None and file.is_file() and file.stat().st_size <= PRIMED_MAX_BYTES:
                data = file.read_bytes()
                if (path, model, data) not in _PRIMED:
                    found = Diagnostics()
                    loaded = _parsed_model(path, data, model, found)
                    _PRIMED[(path, model, data)] = (loaded, tuple(found.items))


def parse_model(
    path: str, data: bytes, model: type[ModelT], diagnostics: Diagnostics
) -> Loaded[ModelT] | None:
    """Parse and validate one file's bytes; problems go to ``diagnostics``."""
    primed = _PRIMED.get((path, model, data)) if _PRIMED else None
    if primed is not None:
        diagnostics.items.extend(primed[1])
        return primed[0]
    return _parsed_model(path, data, model, diagnostics)


def _parsed_model(
    path: str, data: bytes, model: type[ModelT], diagnostics: Diagnostics
) -> Loaded[ModelT] | None:
    try:
        document = load_yaml_bytes(data, path)
    except YamlLoadError as exc:
        diagnostics.extend(exc.diagnostics)
        return None
    return validate_document(document, model, diagnostics)


def _load_releases_in_parallel(
    catalog: Catalog,
    releases: list[tuple[str, bytes]],
    defaults_bytes: dict[str, bytes] | None = None,
) -> None:
    """Parse and validate release files on every CPU (YAML parsing is the slow part of a plan
    over a whole catalog). Only the models come back: their documents keep no positions.
    ``defaults_bytes`` holds the defaults files already loaded into ``catalog``."""
    defaults_bytes = defaults_bytes or {}
    present = catalog.defaults.keys() | catalog.broken_defaults
    jobs = []
    for path, data in releases:
        chain = defaults_files.chain(path, present)
        if catalog.broken_defaults.intersection(chain):
            catalog.unreadable.add(path)
        else:
            jobs.append((path, data, chain))
    workers = max(1, min(os.cpu_count() or 1, 8))
    size = max(1, len(jobs) // (workers * 4) + 1)
    chunks = [(jobs[i : i + size], defaults_bytes) for i in range(0, len(jobs), size)]
    import multiprocessing  # here: most loads never fork (and the import costs ~30 ms)
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for results in pool.map(_parse_releases, chunks):
            for path, model, chain, problems in results:
                catalog.diagnostics.extend(problems)
                if model is None:
                    catalog.unreadable.add(path)
                else:
                    document = YamlDocument(path, None)
                    catalog.releases[path] = Loaded(path, document, model, chain)


ReleaseJob = tuple[str, bytes, tuple[str, ...]]
"""A release file's path, bytes and the defaults files that apply to it."""


def _parse_releases(
    chunk: tuple[list[ReleaseJob], dict[str, bytes]],
) -> list[tuple[str, Release | None, tuple[str, ...], list[Diagnostic]]]:
    jobs, defaults_bytes = chunk
    with no_cyclic_gc():
        documents = {path: load_yaml_bytes(data, path) for path, data in defaults_bytes.items()}
        return [_parse_job(job, documents) for job in jobs]


def _parse_job(
    job: ReleaseJob, documents: dict[str, YamlDocument]
) -> tuple[str, Release | None, tuple[str, ...], list[Diagnostic]]:
    path, data, chain = job
    problems = Diagnostics()
    loaded = parse_release(path, data, [documents[p] for p in chain], problems)
    return path, loaded.model if loaded else None, chain, problems.items


def iter_yaml_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand directories into the YAML files below them."""
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from sorted(Path(folder) / f for f in files if f.endswith(YAML_SUFFIXES))
        else:
            yield path


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Loading builds millions of acyclic objects; each full collection would walk them all.

    No collection runs while loading, and what was loaded is frozen afterwards: the checks that
    follow allocate a tuple or two per track, and every collection they trigger would otherwise
    walk the whole loaded catalog (half the time of a 10,000-release run went there). Frozen
    objects are still freed when nothing refers to them; only cycles among them are kept.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
