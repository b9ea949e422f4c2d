"""Rules within one release: references to the rest of the repository (targets, genres), dates,
ISRCs within the release, and the business rules the rendered message cannot show."""

from __future__ import annotations

from pathlib import Path

from stardust_git import rules
from stardust_git.errors import Diagnostics, closest, did_you_mean
from stardust_git.models import Release
from stardust_git.source.catalog import Catalog, Loaded


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


def check_business_rules(loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    """The release-level business rules (:func:`stardust_git.rules.check_release`)."""
    for problem in rules.check_release(loaded.model):
        diagnostics.add(loaded.diagnostic(problem.loc, problem.message, rule=problem.rule))
