"""Everything checkable offline, collected into one report.

``validate_catalog`` loads the repository (or just the given release files, with the rest of the
catalog summarised by the facts index) and runs the gate (:mod:`stardust_git.checks`) on it: the
per-release checks in worker processes when the catalog is large, the cross-file and catalog
checks here, on what the workers found.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stardust_git.checks import GateRun, run_catalog_checks, run_release_checks
from stardust_git.checks.cross_file import CheckedRelease, check_cross_file, checked_release
from stardust_git.checks.release import check_release_rules
from stardust_git.errors import Diagnostic, Diagnostics
from stardust_git.index import FactsCollector, ReleaseFacts
from stardust_git.models import Release
from stardust_git.source.catalog import (
    CATALOG_DIR,
    GENRES_DIR,
    RECEIPTS_DIR,
    TARGETS_DIR,
    YAML_SUFFIXES,
    Catalog,
    Loaded,
    iter_yaml_paths,
    load_catalog,
    load_releases_into,
    no_cyclic_gc,
    relative,
    release_files,
    release_names,
)
from stardust_git.source.defaults import below, is_defaults
from stardust_git.source.tree import Tree
from stardust_git.source.yamlio import YamlDocument

__all__ = [
    "ValidationOptions",
    "ValidationReport",
    "check_cross_file",
    "check_release_rules",
    "checked_release",
    "validate_catalog",
]


@dataclass
class ValidationOptions:
    """What to check."""

    check_assets: bool = True
    check_render: bool = True
    strict: bool = False

    @property
    def needs(self) -> frozenset[str]:
        """What the gate may use: history always; assets and rendering unless turned off."""
        wanted = {"history"}
        if self.check_assets:
            wanted.add("assets")
        if self.check_render:
            wanted.add("render")
        return frozenset(wanted)


@dataclass
class ValidationReport:
    """The outcome of a validation run."""

    diagnostics: list[Diagnostic]
    files: int
    releases: int
    strict: bool = False
    catalog: Catalog | None = field(default=None, repr=False)
    skipped: list[str] = field(default_factory=list)
    """Files given that validate does not check (not a release, target, genre map or message)."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors and not (self.strict and self.warnings)


_PRELOADED: dict[str, Any] = {}
"""``"models"``: the ``models`` of the run under way; ``"support"``: the catalog of its targets
and genre maps (forked workers inherit both unpickled)."""


def validate_catalog(
    root: Path,
    paths: Iterable[Path] | None = None,
    options: ValidationOptions | None = None,
    models: Mapping[str, Release] | None = None,
) -> ValidationReport:
    """Validate the whole catalog, or only the release files among ``paths`` against the rest.

    Large catalogs are split across the machine's cores: each worker loads and checks a share of
    the release files; cross-file rules then run here on what the workers found. ``models``
    (release path -> the model its file holds, as an import just wrote it) are checked as they
    are instead of reading their files again; their diagnostics then carry no line positions.
    """
    _PRELOADED["models"] = models or {}
    try:
        return _validate(root.resolve(), paths, options or ValidationOptions())
    finally:
        _PRELOADED.clear()


def _validate(
    root: Path, paths: Iterable[Path] | None, options: ValidationOptions
) -> ValidationReport:
    paths = list(paths) if paths is not None else None
    given = _given_files(root, paths or [])
    messages, skipped = given.messages, given.skipped
    selected = given.releases if paths is not None else release_files(root)
    workers = _worker_count(len(selected))
    receipts = (root / RECEIPTS_DIR).is_dir()
    everything = "assets" in options.needs  # duplicate recordings compare with every track
    with ExitStack() as stack:
        if workers > 1:
            catalog = load_catalog(root, [])
            _PRELOADED["support"] = catalog  # the workers' targets and genre maps: parsed once
            results, collector = _check_in_workers(stack, root, selected, options, workers)
        else:
            with no_cyclic_gc():
                catalog = _load_releases(root, selected)
            results = [_check_loaded(catalog, options)]
            collector = stack.enter_context(FactsCollector(root, _shown(root, selected)))
            collector.add(_facts(results[0]))
        diagnostics = catalog.diagnostics
        checked: list[CheckedRelease] = []
        for share in results:
            diagnostics.extend(share.diagnostics)
            checked.extend(share.releases)
            catalog.unreadable |= share.unreadable
        indexed = collector.finish(catalog.unreadable, all_upcs=receipts, everything=everything)
    loaded_facts = collector.loaded
    catalog.release_upcs = {facts.upc for facts in loaded_facts.values()} | indexed.upcs
    catalog.unsummarised = indexed.unsummarised
    run = GateRun(catalog, options.needs, checked=checked, others=indexed.sharing)
    with no_cyclic_gc():
        diagnostics.extend(_catalog_checks(run, root))
    diagnostics.extend(_check_messages(messages))
    files = len(checked) + len(catalog.unreadable) + len(catalog.targets) + len(messages)
    report = ValidationReport(diagnostics.sorted(), files, len(checked), options.strict, catalog)
    report.skipped = skipped
    return report


def _check_messages(messages: dict[str, Path]) -> list[Diagnostic]:
    """The ERN and Apple message files given (lxml and both renderers' schemas: imported only
    when there are some)."""
    if not messages:
        return []
    from stardust_git.checks.messages import check_message_file

    return [found for shown, path in messages.items() for found in check_message_file(path, shown)]


PARALLEL_MIN_RELEASES = 500
SHARE_SIZE = 250
"""Release files a worker loads and checks at a time: its models are freed before the next
share, so a worker's memory does not grow with the catalog."""
CHECKED_FOLDERS = tuple(f"{folder}/" for folder in (CATALOG_DIR, TARGETS_DIR, GENRES_DIR))


def _worker_count(releases: int) -> int:
    if releases < PARALLEL_MIN_RELEASES:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass
class ShareResult:
    """What checking one share of the release files found."""

    diagnostics: list[Diagnostic]
    releases: list[CheckedRelease]
    unreadable: set[str]


def _check_in_workers(
    stack: ExitStack, root: Path, selected: list[Path], options: ValidationOptions, workers: int
) -> tuple[list[ShareResult], FactsCollector]:
    """Every share checked in worker processes; the facts index's rows of each share are worked
    out here as it arrives, while the workers go on (the serial part of a large run)."""
    shares = [selected[i : i + SHARE_SIZE] for i in range(0, len(selected), SHARE_SIZE)]
    # No collection while 100,000 acyclic results arrive (each full one would walk them all);
    # the workers collect as usual.
    stack.enter_context(no_cyclic_gc())
    # Imported here: a one-file run never forks (and the pool's imports cost ~30 ms).
    from stardust_git.workers import forked_pool

    pool = stack.enter_context(forked_pool(workers, initializer=gc.enable))
    arriving = pool.map(_check_share, [(root, share, options) for share in shares])
    # Opened once the workers are forked (they must not inherit its connection).
    collector = stack.enter_context(FactsCollector(root, _shown(root, selected)))
    results = []
    for share in arriving:
        collector.add(_facts(share))
        results.append(share)
    return results, collector


def _shown(root: Path, paths: list[Path]) -> list[str]:
    return [relative(root, path) for path in paths]


def _facts(share: ShareResult) -> dict[str, ReleaseFacts]:
    return {release.facts.path: release.facts for release in share.releases}


def _check_share(job: tuple[Path, list[Path], ValidationOptions]) -> ShareResult:
    root, share, options = job
    with no_cyclic_gc():
        catalog = _load_releases(root, share, _PRELOADED.get("support"))
    result = _check_loaded(catalog, options)
    # Target and genre-map problems are reported once, by the parent process.
    load_problems = [d for d in catalog.diagnostics.items if d.path.startswith(CATALOG_DIR)]
    result.diagnostics = load_problems + result.diagnostics
    return result


def _load_releases(root: Path, paths: list[Path], support: Catalog | None = None) -> Catalog:
    """The catalog with the release files at ``paths``: preloaded models as they are, the other
    files read and parsed; with the targets and genre maps of ``support`` (a catalog the parent
    loaded) instead of reading them again."""
    models = _PRELOADED.get("models", {})
    shown = {path: relative(root, path) for path in paths}
    wanted = [path for path in paths if shown[path] not in models]
    if support is not None:
        catalog = _with_support(support)
        on_disk = {shown[path]: path for path in wanted}
        load_releases_into(catalog, Tree.working(root, on_disk), list(on_disk))
    else:
        catalog = load_catalog(root, wanted)
    for name in shown.values():
        if name in models:
            catalog.releases[name] = Loaded(name, YamlDocument(name, None), models[name])
    return catalog


def _with_support(support: Catalog) -> Catalog:
    """A catalog of no releases yet, sharing the targets and genre maps of ``support``."""
    catalog = Catalog(root=support.root, targets=support.targets, taxonomy=support.taxonomy)
    catalog.vocabularies, catalog.genre_maps = support.vocabularies, support.genre_maps
    return catalog


def _check_loaded(catalog: Catalog, options: ValidationOptions) -> ShareResult:
    """The gate's per-release checks of every loaded release."""
    diagnostics = Diagnostics()
    run_release_checks(GateRun(catalog, options.needs), catalog.releases.values(), diagnostics)
    releases = [checked_release(loaded) for loaded in catalog.releases.values()]
    return ShareResult(diagnostics.items, releases, set(catalog.unreadable))


def _catalog_checks(run: GateRun, root: Path) -> list[Diagnostic]:
    """The gate's catalog checks; the releases they find wrong that were checked in a worker
    (whose positions stayed there) are loaded again and the checks run again, to place them."""
    found = Diagnostics()
    run_catalog_checks(run, found)
    unplaced = {release.facts.path for release in run.checked if not release.placed}
    wrong = sorted({d.release or d.path for d in found.items} & unplaced)
    if not wrong:
        return found.items
    with no_cyclic_gc():
        again = load_catalog(root, [root / path for path in wrong])
    placed = {path: checked_release(loaded) for path, loaded in again.releases.items()}
    run.checked = [placed.get(release.facts.path, release) for release in run.checked]
    found = Diagnostics()
    run_catalog_checks(run, found)
    return found.items


@dataclass
class GivenFiles:
    """The files named on the command line (directories expanded), sorted by what checks them."""

    releases: list[Path] = field(default_factory=list)
    """Release files; a defaults file stands for itself and every release below it."""
    messages: dict[str, Path] = field(default_factory=dict)
    """ERN or Apple message files (.xml), by shown path."""
    skipped: list[str] = field(default_factory=list)
    """Files validate does not check (not a release, target, genre map or message)."""


def _given_files(root: Path, paths: list[Path]) -> GivenFiles:
    """One walk over ``paths``; other catalog files load anyway."""
    given = GivenFiles()
    selected: dict[Path, None] = {}
    for path in iter_yaml_paths(paths):
        shown = relative(root, path if path.is_absolute() else Path.cwd() / path)
        if shown.startswith(CATALOG_DIR + "/"):
            selected[root / shown] = None
        if is_defaults(shown):
            selected.update((root / name, None) for name in below(shown, release_names(root)))
        if path.suffix.lower() == ".xml":
            given.messages[shown] = path
        elif not (path.suffix in YAML_SUFFIXES and shown.startswith(CHECKED_FOLDERS)):
            given.skipped.append(shown)
    given.releases = list(selected)
    return given
