"""The registry of checks and :func:`run_gate`, the one entry point validate, plan and deliver use.

Every check is listed here, by hand, with what it needs; nothing registers itself on import.
A caller says what it can afford (``needs``): ``validate --no-assets`` drops the checks that
need assets, ``--no-render`` those that need rendering, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from stardust_git.checks import cross_file, likely, release, repository, workflows
from stardust_git.checks.cross_file import CheckedRelease
from stardust_git.errors import Diagnostics
from stardust_git.index import ReleaseFacts
from stardust_git.models import Release
from stardust_git.render import Package, RenderContext
from stardust_git.source.catalog import Catalog, Loaded

# The checks that need rendering, assets, receipts or shop profiles (lxml, the renderers, PIL,
# mutagen, the profile rules) are imported by their wrapper below, when one runs: a one-file
# validate starts in a fraction of the time. The wrappers stay the only way to them.

Need = Literal["assets", "render", "history"]
ALL_NEEDS: frozenset[Need] = frozenset({"assets", "render", "history"})


@dataclass
class GateRun:
    """What one run of the gate works on, besides the releases."""

    catalog: Catalog
    needs: frozenset[str] = ALL_NEEDS
    context: RenderContext | None = None
    """The context packages were rendered in (business rules judge dates by it)."""
    packages: Mapping[str, Sequence[Package]] | None = None
    """Release path -> the packages about to be sent; the render checks check these instead of
    rendering the release themselves (None: render for every target, as validate does)."""
    checked: list[CheckedRelease] = field(default_factory=list)
    """Every release checked this run, for the cross-file rules (validate: from every worker)."""
    others: list[ReleaseFacts] = field(default_factory=list)
    """Facts of the release files not loaded this run (from the facts index)."""

    def checked_facts(self) -> list[ReleaseFacts]:
        return [checked.facts for checked in self.checked]


@dataclass(frozen=True)
class Check:
    """One check of one release, and what it needs."""

    name: str
    needs: frozenset[str]
    run: Callable[[GateRun, Loaded[Release], Diagnostics], None]


@dataclass(frozen=True)
class CatalogCheck:
    """One check of the catalog as a whole, and what it needs."""

    name: str
    needs: frozenset[str]
    run: Callable[[GateRun, Diagnostics], None]


def _references(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    release.check_release_rules(run.catalog, loaded, diagnostics)


def _business_rules(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    release.check_business_rules(loaded, diagnostics)


def _likely_mistakes(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    likely.check_likely_mistakes(loaded, diagnostics)


def _assets(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    from stardust_git.checks import assets

    assets.check_assets(run.catalog, loaded, diagnostics)


def _audio_qc(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    from stardust_git.checks import audio_qc

    audio_qc.check_audio_qc(run.catalog, loaded, diagnostics)


def _duplicate_recordings(run: GateRun, diagnostics: Diagnostics) -> None:
    from stardust_git.checks import audio_qc

    found = audio_qc.check_duplicate_recordings(run.catalog.root, run.checked, run.others)
    diagnostics.extend(found)


def _ern(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    from stardust_git.checks import ern

    if run.packages is None:
        ern.check_rendered_release(run.catalog, loaded, diagnostics)
        return
    context = run.context or _now_context()
    for package in run.packages.get(loaded.path, ()):
        if package.format.startswith("ern/"):
            ern.check_ern_package(run.catalog, loaded, package, context, diagnostics)


def _apple(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    if run.packages is None and not _names_format(run.catalog, loaded.model, "apple"):
        return  # most releases: no Apple target, no Apple renderer to import
    from stardust_git.checks import apple

    if run.packages is None:
        measured = "assets" in run.needs
        apple.check_apple_packages(run.catalog, loaded, diagnostics, measured, measured)
        return
    for package in run.packages.get(loaded.path, ()):
        if package.format.startswith("apple"):
            measure = "assets" in run.needs
            apple.check_apple_package(run.catalog, loaded, package, diagnostics, measure)


def _names_format(catalog: Catalog, release: Release, format: str) -> bool:
    """Whether ``release`` lists a target of ``format`` (``apple``, ``ern``)."""
    targets = catalog.targets
    return any(name in targets and targets[name].model.format == format for name in release.targets)


def _profiles(run: GateRun, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    from stardust_git.checks import profiles

    # Text, deal and ERN rules need nothing; artwork and audio rules run only with assets.
    profiles.check_profiles(run.catalog, loaded, "assets" in run.needs, diagnostics)


def _profile_names(run: GateRun, diagnostics: Diagnostics) -> None:
    from stardust_git.checks import profiles

    profiles.check_profile_names(run.catalog, diagnostics)


def _cross_file(run: GateRun, diagnostics: Diagnostics) -> None:
    diagnostics.extend(cross_file.check_cross_file(run.checked, run.others))


def _targets(run: GateRun, diagnostics: Diagnostics) -> None:
    repository.check_targets(run.catalog, diagnostics)


def _genre_maps(run: GateRun, diagnostics: Diagnostics) -> None:
    repository.check_genre_maps(run.catalog, diagnostics)


def _deleted_releases(run: GateRun, diagnostics: Diagnostics) -> None:
    from stardust_git.checks import history

    history.check_deleted_releases(run.catalog, diagnostics, [*run.checked_facts(), *run.others])


def _workflow_secrets(run: GateRun, diagnostics: Diagnostics) -> None:
    workflows.check_workflows(run.catalog, diagnostics)


def _now_context() -> RenderContext:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return RenderContext(commit="0" * 40, committed_at=now)


NOTHING: frozenset[str] = frozenset()
RELEASE_CHECKS: tuple[Check, ...] = (
    Check("references", NOTHING, _references),
    Check("business-rules", NOTHING, _business_rules),
    Check("likely-mistakes", NOTHING, _likely_mistakes),
    Check("assets", frozenset({"assets"}), _assets),
    Check("audio-qc", frozenset({"assets"}), _audio_qc),
    Check("ern", frozenset({"render"}), _ern),
    Check("apple", frozenset({"render"}), _apple),
    Check("profiles", NOTHING, _profiles),
)
CATALOG_CHECKS: tuple[CatalogCheck, ...] = (
    CatalogCheck("cross-file", NOTHING, _cross_file),
    CatalogCheck("targets", NOTHING, _targets),
    CatalogCheck("genre-maps", NOTHING, _genre_maps),
    CatalogCheck("deleted-releases", frozenset({"history"}), _deleted_releases),
    CatalogCheck("workflow-secrets", NOTHING, _workflow_secrets),
    CatalogCheck("duplicate-recordings", frozenset({"assets"}), _duplicate_recordings),
    CatalogCheck("profile-names", NOTHING, _profile_names),
)


def run_release_checks(
    run: GateRun, releases: Iterable[Loaded[Release]], diagnostics: Diagnostics
) -> None:
    """Every release check ``run.needs`` affords, on each of ``releases``."""
    checks = [check for check in RELEASE_CHECKS if check.needs <= run.needs]
    for loaded in releases:
        for check in checks:
            check.run(run, loaded, diagnostics)


def run_catalog_checks(run: GateRun, diagnostics: Diagnostics) -> None:
    """Every catalog check ``run.needs`` affords."""
    for check in CATALOG_CHECKS:
        if check.needs <= run.needs:
            check.run(run, diagnostics)


def check_packages(
    catalog: Catalog,
    loaded: Loaded[Release],
    packages: Sequence[Package],
    context: RenderContext,
) -> Diagnostics:
    """The checks of rendered packages (those that need rendering), on ``packages`` of one
    release: what deliver runs on each package just before sending it."""
    run = GateRun(catalog, ALL_NEEDS, context, {loaded.path: packages})
    diagnostics = Diagnostics()
    for check in RELEASE_CHECKS:
        if "render" in check.needs:
            check.run(run, loaded, diagnostics)
    return diagnostics


def run_gate(
    catalog: Catalog,
    releases: Iterable[Loaded[Release]],
    *,
    needs: Iterable[str] = ALL_NEEDS,
    context: RenderContext | None = None,
    packages: Mapping[str, Sequence[Package]] | None = None,
    others: list[ReleaseFacts] | None = None,
) -> Diagnostics:
    """Every check ``needs`` affords, on ``releases`` and across them (with ``others``, the
    facts of release files not loaded); ``packages`` are checked instead of rendering anew."""
    chosen = list(releases)
    run = GateRun(catalog, frozenset(needs), context, packages)
    run.checked = [cross_file.checked_release(loaded) for loaded in chosen]
    run.others = others or []
    diagnostics = Diagnostics()
    run_release_checks(run, chosen, diagnostics)
    run_catalog_checks(run, diagnostics)
    return diagnostics
