"""The catalog as it stands at a git revision: targets, genre maps and chosen releases, read from
git objects (not the working tree), the release files parsed on every CPU when they are many."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from stardust_git.catalog import (
    GENRES_DIR,
    TARGETS_DIR,
    YAML_SUFFIXES,
    Catalog,
    Loaded,
    validate_document,
)
from stardust_git.errors import Diagnostic
from stardust_git.gitio import Tree
from stardust_git.models import GenreMap, GenreTaxonomy, GenreVocabulary, Release, Target
from stardust_git.yamlio import YamlDocument, YamlLoadError, decode_utf8, load_yaml_text

PARALLEL_FROM = 500
"""Release files parsed in worker processes from this many on."""


def load_catalog_from(
    tree: Tree, release_paths: list[str], digests: dict[str, str] | None = None
) -> Catalog:
    """Targets, genre maps and the given releases, as they are in ``tree``.

    ``digests`` receives a content digest of every file read.
    """
    catalog = Catalog(root=tree.root)
    contents = tree.read(
        [p for p in tree.list(TARGETS_DIR) if p.count("/") == 1 and p.endswith(YAML_SUFFIXES)]
        + [p for p in tree.list(GENRES_DIR) if p.endswith(YAML_SUFFIXES)]
        + release_paths
    )
    releases = [(p, contents[p]) for p in release_paths if p in contents]
    for path in sorted(set(contents) - set(release_paths)):
        _load_into(catalog, path, contents[path])
    if len(releases) >= PARALLEL_FROM:
        _load_releases_in_parallel(catalog, releases)
    else:
        for path, data in releases:
            _load_into(catalog, path, data)
    if digests is not None:
        for path, data in contents.items():
            digests[path] = hashlib.blake2b(data, digest_size=16).hexdigest()
    return catalog


def _load_releases_in_parallel(catalog: Catalog, releases: list[tuple[str, bytes]]) -> None:
    """Parse and validate release files on every CPU (YAML parsing is the slow part of a plan
    over a whole catalog). Only the models come back: their documents keep no positions."""
    workers = max(1, min(os.cpu_count() or 1, 8))
    size = max(1, len(releases) // (workers * 4) + 1)
    chunks = [releases[i : i + size] for i in range(0, len(releases), size)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for results in pool.map(_parse_releases, chunks):
            for path, model, problems in results:
                catalog.diagnostics.extend(problems)
                if model is None:
                    catalog.unreadable.add(path)
                else:
                    catalog.releases[path] = Loaded(path, YamlDocument(path, None), model)


def _parse_releases(
    releases: list[tuple[str, bytes]],
) -> list[tuple[str, Release | None, list[Diagnostic]]]:
    found = []
    for path, data in releases:
        scratch = Catalog(root=Path("."))
        loaded = _parse(path, data, Release, scratch)
        found.append((path, loaded.model if loaded else None, scratch.diagnostics.items))
    return found


def _load_into(catalog: Catalog, path: str, data: bytes) -> None:
    parts = path.split("/")
    if parts[0] == TARGETS_DIR:
        model, store = Target, catalog.targets
    elif parts[0] == GENRES_DIR:
        _load_genre_file(catalog, path, data)
        return
    else:
        model, store = Release, catalog.releases
    loaded = _parse(path, data, model, catalog)
    if loaded is None:
        catalog.unreadable.add(path)
    else:
        store[Path(path).stem if model is Target else path] = loaded  # type: ignore[index]


def _load_genre_file(catalog: Catalog, path: str, data: bytes) -> None:
    parts = path.split("/")
    if parts[1:] == ["genres.yaml"]:
        catalog.taxonomy = _parse(path, data, GenreTaxonomy, catalog)
    elif len(parts) == 3 and parts[1] == "vocabularies":
        loaded = _parse(path, data, GenreVocabulary, catalog)
        if loaded:
            catalog.vocabularies[Path(path).stem] = loaded
    elif len(parts) == 2:
        loaded = _parse(path, data, GenreMap, catalog)
        if loaded:
            catalog.genre_maps[Path(path).stem] = loaded


def _parse(path: str, data: bytes, model: type, catalog: Catalog) -> Loaded[Any] | None:
    try:
        document = load_yaml_text(decode_utf8(data, path), path)
    except YamlLoadError as exc:
        catalog.diagnostics.extend(exc.diagnostics)
        return None
    return validate_document(document, model, catalog.diagnostics)
