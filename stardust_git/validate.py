"""Everything checkable offline, collected into one report.

``validate_catalog`` loads the repository (or just the given release files, with the rest of the
catalog summarised by the facts index), then runs the cross-file rules, the asset checks and the
render checks, and returns every diagnostic found.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stardust_git import assets
from stardust_git.catalog import (
    CATALOG_DIR,
    Catalog,
    Loaded,
    iter_yaml_paths,
    load_catalog,
    relative,
    release_files,
)
from stardust_git.errors import Diagnostic, Diagnostics, closest, did_you_mean
from stardust_git.index import ReleaseFacts, collect_facts, facts_of
from stardust_git.models import Release
from stardust_git.models.common import party_id_check_character
from stardust_git.workflows import check_workflows

AUDIO_KINDS = {"wav", "flac", "mp3"}
IMAGE_KINDS = {"jpeg", "png"}
DURATION_TOLERANCE = 1.0
DEFAULT_COVER_SIZE = 1400

#: Extra checks run per release after loading (rendering and XSD validation register here).
ReleaseCheck = Callable[[Catalog, Loaded[Release], Diagnostics], None]
RELEASE_CHECKS: list[ReleaseCheck] = []
CatalogCheck = Callable[[Catalog, Diagnostics], None]
CATALOG_CHECKS: list[CatalogCheck] = []


@dataclass
class ValidationOptions:
    """What to check."""

    check_assets: bool = True
    check_render: bool = True
    strict: bool = False


@dataclass
class ValidationReport:
    """The outcome of a validation run."""

    diagnostics: list[Diagnostic]
    files: int
    releases: int
    strict: bool = False
    catalog: Catalog | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors and not (self.strict and self.warnings)


def validate_catalog(
    root: Path, paths: Iterable[Path] | None = None, options: ValidationOptions | None = None
) -> ValidationReport:
    """Validate the whole catalog, or only the release files among ``paths`` against the rest.

    Large catalogs are split across the machine's cores: each worker loads and checks a share of
    the release files; cross-file rules then run here on what the workers found.
    """
    options = options or ValidationOptions()
    root = root.resolve()
    selected = _selected_releases(root, paths) if paths is not None else release_files(root)
    workers = _worker_count(len(selected))
    if workers > 1:
        catalog = load_catalog(root, [])
        shares = [selected[index::workers] for index in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_check_share, [(root, share, options) for share in shares]))
    else:
        with _no_cyclic_gc():
            catalog = load_catalog(root, selected)
        results = [_check_loaded(catalog, options)]
    diagnostics = catalog.diagnostics
    checked: list[CheckedRelease] = []
    for share in results:
        diagnostics.extend(share.diagnostics)
        checked.extend(share.releases)
        catalog.unreadable |= share.unreadable
    loaded_facts = {release.facts.path: release.facts for release in checked}
    others = collect_facts(root, loaded_facts, catalog.unreadable)
    diagnostics.extend(check_cross_file(checked, others))
    catalog.release_upcs = {facts.upc for facts in [*loaded_facts.values(), *others]}
    check_targets(catalog, diagnostics)
    check_genre_maps(catalog, diagnostics)
    check_workflows(catalog, diagnostics)  # delivery secrets handed to the workflows by name
    for catalog_check in CATALOG_CHECKS:
        catalog_check(catalog, diagnostics)
    files = len(checked) + len(catalog.unreadable) + len(catalog.targets)
    return ValidationReport(diagnostics.sorted(), files, len(checked), options.strict, catalog)


PARALLEL_MIN_RELEASES = 500


def _worker_count(releases: int) -> int:
    if releases < PARALLEL_MIN_RELEASES:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True)
class CheckedRelease:
    """What cross-file rules need of a loaded release: its facts and where they are written."""

    facts: ReleaseFacts
    upc_at: tuple[int, int]
    isrcs_at: tuple[tuple[int, int], ...]


@dataclass
class ShareResult:
    """What checking one share of the release files found."""

    diagnostics: list[Diagnostic]
    releases: list[CheckedRelease]
    unreadable: set[str]


def _check_share(job: tuple[Path, list[Path], ValidationOptions]) -> ShareResult:
    root, share, options = job
    with _no_cyclic_gc():
        catalog = load_catalog(root, share)
    result = _check_loaded(catalog, options)
    # Target and genre-map problems are reported once, by the parent process.
    load_problems = [d for d in catalog.diagnostics.items if d.path.startswith(CATALOG_DIR)]
    result.diagnostics = load_problems + result.diagnostics
    return result


def _check_loaded(catalog: Catalog, options: ValidationOptions) -> ShareResult:
    """Per-release rules, assets and render checks of every loaded release."""
    diagnostics = Diagnostics()
    for loaded in catalog.releases.values():
        check_release_rules(catalog, loaded, diagnostics)
        if options.check_assets:
            check_assets(catalog, loaded, diagnostics)
        if options.check_render:
            for check in RELEASE_CHECKS:
                check(catalog, loaded, diagnostics)
    releases = [checked_release(loaded) for loaded in catalog.releases.values()]
    return ShareResult(diagnostics.items, releases, set(catalog.unreadable))


def checked_release(loaded: Loaded[Release]) -> CheckedRelease:
    """The facts of a loaded release with the positions cross-file errors point at."""
    tracks = loaded.model.tracks
    locate = loaded.document.locate
    isrcs_at = tuple(locate(("tracks", index, "isrc")) for index in range(len(tracks)))
    return CheckedRelease(facts_of(loaded.path, loaded.model), locate(("upc",)), isrcs_at)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Loading builds millions of acyclic objects; each full collection would walk them all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _selected_releases(root: Path, paths: Iterable[Path]) -> list[Path]:
    """The release files among ``paths`` (directories expanded); other files load anyway."""
    selected = []
    for path in iter_yaml_paths(paths):
        shown = relative(root, path if path.is_absolute() else Path.cwd() / path)
        if shown.startswith(CATALOG_DIR + "/"):
            selected.append(root / shown)
    return selected


def check_cross_file(checked: list[CheckedRelease], others: list[ReleaseFacts]) -> list[Diagnostic]:
    """Unique UPCs; an ISRC on two releases carries the same title and duration."""
    # Only the checked releases' codes are looked up: a one-file run indexes 1 release, not all.
    upcs = {release.facts.upc for release in checked}
    isrcs = {isrc for release in checked for isrc, _, _ in release.facts.tracks}
    by_upc: dict[str, list[str]] = defaultdict(list)
    by_isrc: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for fact in [release.facts for release in checked] + others:
        if fact.upc in upcs:
            by_upc[fact.upc].append(fact.path)
        for isrc, title, duration in fact.tracks:
            if isrc in isrcs:
                by_isrc[isrc].append((fact.path, title, duration))
    found: list[Diagnostic] = []
    for release in checked:
        path, upc = release.facts.path, release.facts.upc
        duplicates = [p for p in by_upc[upc] if p != path]
        if duplicates:
            message = f"UPC {upc} is also used by {', '.join(sorted(duplicates))}"
            found.append(Diagnostic(path, *release.upc_at, "upc", message))
        for index, track in enumerate(release.facts.tracks):
            field_name = f"tracks[{index}].isrc"
            for message in _isrc_conflicts(path, track, by_isrc[track[0]]):
                found.append(Diagnostic(path, *release.isrcs_at[index], field_name, message))
    return found


def _isrc_conflicts(
    path: str, track: tuple[str, str, float], uses: list[tuple[str, str, float]]
) -> list[str]:
    isrc, title, duration = track
    conflicts = []
    for other_path, other_title, other_duration in uses:
        if other_path == path:
            continue
        if other_title != title:
            conflicts.append(
                f"ISRC {isrc} is titled '{other_title}' in {other_path}, not '{title}'"
            )
        elif abs(other_duration - duration) > DURATION_TOLERANCE:
            conflicts.append(
                f"ISRC {isrc} lasts {other_duration:g} s in {other_path}, not {duration:g} s"
            )
    return conflicts


def check_release_rules(
    catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics
) -> None:
    """Rules within one release that need the rest of the repository (targets, genres)."""
    release = loaded.model
    _check_targets(catalog, loaded, diagnostics)
    _check_genres(catalog, loaded, diagnostics)
    _check_dates(loaded, diagnostics)
    seen: dict[str, int] = {}
    for index, track in enumerate(release.tracks):
        if track.isrc in seen:
            message = f"ISRC {track.isrc} is already used by track {seen[track.isrc] + 1}"
            diagnostics.add(loaded.diagnostic(("tracks", index, "isrc"), message))
        seen.setdefault(track.isrc, index)


def _check_targets(catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    broken = {Path(path).stem for path in catalog.unreadable if path.startswith("targets/")}
    for index, name in enumerate(loaded.model.targets):
        if name in catalog.targets or name in broken:
            continue
        hint = did_you_mean(closest(name, catalog.targets))
        message = f"unknown target '{name}' (no targets/{name}.yaml){hint}"
        diagnostics.add(loaded.diagnostic(("targets", index), message))
    if len(set(loaded.model.targets)) != len(loaded.model.targets):
        diagnostics.add(loaded.diagnostic(("targets",), "a target is listed twice"))


def _check_genres(catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    if catalog.taxonomy is None:
        return
    known = catalog.taxonomy.model.genres
    uses: list[tuple[tuple[str | int, ...], str]] = [(("genre",), loaded.model.genre)]
    for index, track in enumerate(loaded.model.tracks):
        if track.genre:
            uses.append((("tracks", index, "genre"), track.genre))
    for loc, code in uses:
        if code not in known:
            hint = did_you_mean(closest(code, known))
            message = f"unknown genre '{code}' (not in genre-maps/genres.yaml){hint}"
            diagnostics.add(loaded.diagnostic(loc, message))


def _check_dates(loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    release = loaded.model
    original = release.original_release_date
    if original and original > release.release_date:
        message = "original_release_date is after release_date"
        diagnostics.add(loaded.diagnostic(("original_release_date",), message))
    for key in ("p_line", "c_line"):
        year = getattr(release, key).year
        if year > release.release_date.year + 1:
            message = f"year {year} is after the release date ({release.release_date})"
            diagnostics.add(loaded.diagnostic((key, "year"), message))


def check_assets(catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    """Files exist inside the repository, are what they claim, and match the metadata."""
    release = loaded.model
    cover = _asset_path(catalog.root, loaded, ("cover",), release.cover, diagnostics)
    if cover:
        _check_cover(catalog, loaded, cover, diagnostics)
    for index, track in enumerate(release.tracks):
        loc = ("tracks", index, "audio")
        audio = _asset_path(catalog.root, loaded, loc, track.audio, diagnostics)
        if audio:
            _check_audio(loaded, index, audio, diagnostics)


def _asset_path(
    root: Path,
    loaded: Loaded[Release],
    loc: tuple[str | int, ...],
    value: str,
    diagnostics: Diagnostics,
) -> Path | None:
    def fail(message: str) -> None:
        diagnostics.add(loaded.diagnostic(loc, message))

    candidate = Path(value)
    if candidate.is_absolute() or value.startswith(("/", "\\")):
        return fail(f"'{value}' must be a path relative to the repository root")
    if ".." in candidate.parts:
        return fail(f"'{value}' must not contain '..'")
    path = root / candidate
    if not path.exists():
        return fail(f"'{value}' does not exist")
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return fail(f"'{value}' is a link that leads outside the repository")
    if not resolved.is_file():
        return fail(f"'{value}' is not a file")
    return resolved


def _check_cover(
    catalog: Catalog, loaded: Loaded[Release], path: Path, diagnostics: Diagnostics
) -> None:
    loc = ("cover",)
    kind = assets.sniff_type(path)
    if kind not in IMAGE_KINDS:
        found = f"a {kind.upper()} file" if kind else "not a JPEG or PNG image"
        diagnostics.add(loaded.diagnostic(loc, f"'{loaded.model.cover}' is {found}, not an image"))
        return
    try:
        image = assets.probe_image(path)
    except assets.AssetError as exc:
        diagnostics.add(loaded.diagnostic(loc, exc.reason))
        return
    if image.width != image.height:
        message = f"cover art must be square, it is {image.width}x{image.height}"
        diagnostics.add(loaded.diagnostic(loc, message))
    needed, who = _cover_size_needed(catalog, loaded.model)
    if min(image.width, image.height) < needed:
        message = (
            f"cover art is {image.width}x{image.height}, {who} needs at least {needed}x{needed}"
        )
        diagnostics.add(loaded.diagnostic(loc, message))


def _cover_size_needed(catalog: Catalog, release: Release) -> tuple[int, str]:
    sizes = [
        (catalog.targets[name].model.cover_min_size, f"target '{name}'")
        for name in release.targets
        if name in catalog.targets
    ]
    return max(sizes, default=(DEFAULT_COVER_SIZE, "the default"))


def _check_audio(loaded: Loaded[Release], index: int, path: Path, diagnostics: Diagnostics) -> None:
    track = loaded.model.tracks[index]
    loc = ("tracks", index, "audio")
    kind = assets.sniff_type(path)
    if kind not in AUDIO_KINDS:
        found = f"a {kind.upper()} file" if kind else "not a WAV, FLAC or MP3 file"
        diagnostics.add(loaded.diagnostic(loc, f"'{track.audio}' is {found}, not audio"))
        return
    extension = path.suffix.lower().lstrip(".")
    if extension and extension not in _EXTENSIONS[kind]:
        message = f"'{track.audio}' holds {kind.upper()} audio but its name ends in .{extension}"
        diagnostics.add(loaded.diagnostic(loc, message, severity="warning"))
    try:
        audio = assets.probe_audio(path)
    except assets.AssetError as exc:
        diagnostics.add(loaded.diagnostic(loc, exc.reason))
        return
    if abs(audio.duration - track.duration) > DURATION_TOLERANCE:
        message = (
            f"declared duration {track.duration:g} s but the audio lasts {audio.duration:.2f} s"
        )
        diagnostics.add(loaded.diagnostic(("tracks", index, "duration"), message))


_EXTENSIONS = {"wav": {"wav", "wave"}, "flac": {"flac"}, "mp3": {"mp3"}}


def check_targets(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """Party id check characters and genre map references of every target."""
    for loaded in catalog.targets.values():
        target = loaded.model
        for role in ("sender", "recipient"):
            party = getattr(target, role)
            expected = party and party_id_check_character(party.party_id)
            if expected:
                message = (
                    f"{party.party_id}: the check character should be '{expected}' "
                    "(ISO 7064 Mod 37,36); is the id right?"
                )
                diagnostics.add(loaded.diagnostic((role, "party_id"), message, severity="warning"))
        if target.genre_map and target.genre_map not in catalog.genre_maps:
            message = (
                f"unknown genre map '{target.genre_map}' (no genre-maps/{target.genre_map}.yaml)"
            )
            diagnostics.add(loaded.diagnostic(("genre_map",), message))


def check_genre_maps(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """Every map points at a vocabulary, maps known genres to known vocabulary values."""
    known_genres = catalog.taxonomy.model.genres if catalog.taxonomy else None
    for loaded in catalog.genre_maps.values():
        genre_map = loaded.model
        vocabulary = catalog.vocabularies.get(genre_map.vocabulary)
        if vocabulary is None:
            message = f"unknown vocabulary '{genre_map.vocabulary}'"
            diagnostics.add(loaded.diagnostic(("vocabulary",), message))
            continue
        entries = vocabulary.model.entries
        if genre_map.fallback and genre_map.fallback not in entries:
            message = f"'{genre_map.fallback}' is not in vocabulary '{genre_map.vocabulary}'"
            diagnostics.add(loaded.diagnostic(("fallback",), message))
        for code, value in genre_map.mappings.items():
            if known_genres is not None and code not in known_genres:
                message = f"'{code}' is not a genre in genre-maps/genres.yaml"
                diagnostics.add(loaded.diagnostic(("mappings", code), message))
            if value not in entries:
                message = f"'{value}' is not in vocabulary '{genre_map.vocabulary}'"
                diagnostics.add(loaded.diagnostic(("mappings", code), message))


# Rendering checks register themselves in RELEASE_CHECKS; they import this module, hence the end.
from stardust_git.receipts import check_deleted_releases  # noqa: E402
from stardust_git.render import apple as _apple_check  # noqa: E402, F401
from stardust_git.render import check as _render_check  # noqa: E402, F401

CATALOG_CHECKS.append(check_deleted_releases)
