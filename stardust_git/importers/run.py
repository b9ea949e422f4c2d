"""``stardust-git import``'s core: read every input, check it all, then write, then gate.

Nothing is written until every input has been read and every release checked (its fields build
a valid release, its UPC appears once, its files exist with the MD5 the input states): any
error stops the import with all of them listed. Then the release files, their assets and the
baseline receipts are written, and the gate runs on what was written; its problems are reported
beside the notes (the files stay: the user fixes them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from stardust_git.display import counted
from stardust_git.errors import Diagnostic, UsageError, UserError
from stardust_git.importers.assets import AssetMode, bring_in, resource_problems
from stardust_git.importers.baseline import check_targets, head_context, record_baseline
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.inputs import Reader, input_files, read_all, read_input
from stardust_git.importers.model import ImportContext, ImportedRelease, ImportNote
from stardust_git.importers.sheetmapping import load_mapping
from stardust_git.importers.write import (
    Difference,
    ExistingCatalog,
    default_label_dir,
    differences,
    new_path,
    write_release,
)
from stardust_git.models import Release
from stardust_git.render import RenderContext
from stardust_git.source.catalog import CATALOG_DIR, load_catalog, load_catalog_from, relative
from stardust_git.source.tree import Tree
from stardust_git.source.yamlio import format_loc

Status = Literal["new", "unchanged", "differs", "overwritten"]
FIELD_ORDER = tuple(Release.model_fields)


@dataclass(frozen=True)
class ImportOptions:
    """How to import (the command's options)."""

    label_dir: Path | None = None
    """Where new release files go (default ``catalog/<slug of the label>``)."""
    assets: AssetMode = "copy"
    delivered_to: tuple[str, ...] = ()
    """Targets the releases are already live at: baseline receipts, and added to ``targets:``."""
    mapping: Path | None = None
    """The spreadsheet mapping file."""
    dry_run: bool = False
    overwrite: bool = False


@dataclass
class ReleaseOutcome:
    """What the import did (or would do) with one release."""

    upc: str
    title: str
    file: str
    status: Status
    notes: list[ImportNote]
    guessed: dict[str, str] = field(default_factory=dict)
    """Field path -> why its value was guessed (the comment beside it in the file)."""
    differences: list[Difference] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return self.status in ("new", "overwritten")

    def as_dict(self) -> dict[str, Any]:
        return {
            "upc": self.upc,
            "title": self.title,
            "file": self.file,
            "status": self.status,
            "notes": [{"kind": n.kind, "where": n.where, "message": n.message} for n in self.notes],
            "guessed": [{"field": f, "message": m} for f, m in self.guessed.items()],
            "differences": [difference.as_dict() for difference in self.differences],
            "receipts": self.receipts,
        }


@dataclass
class ImportResult:
    """Every release's outcome and what the gate found in the files written."""

    releases: list[ReleaseOutcome]
    problems: list[Diagnostic] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not any(problem.severity == "error" for problem in self.problems)

    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in ("new", "unchanged", "differs", "overwritten")}
        for outcome in self.releases:
            counts[outcome.status] += 1
        counts["notes"] = sum(len(outcome.notes) for outcome in self.releases)
        counts["problems"] = len(self.problems)
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "releases": [outcome.as_dict() for outcome in self.releases],
            "errors": [problem.as_dict() for problem in self.problems],
            "summary": {**self.summary(), "dry_run": self.dry_run},
        }


def run_import(
    root: Path, inputs: list[Path], options: ImportOptions, reader: Reader | None = None
) -> ImportResult:
    """Import ``inputs`` (files or folders) into the catalog at ``root``.

    Raises a :class:`UserError` listing every error of the inputs before anything is written.
    """
    catalog = load_catalog(root, [])
    check_targets(list(options.delivered_to), catalog)
    baseline = head_context(root) if options.delivered_to else None
    context = ImportContext(GenreLookup.from_catalog(catalog))
    mapping = load_mapping(options.mapping) if options.mapping else None
    imported, errors = read_all(input_files(inputs), context, mapping, reader or read_input)
    planner = _Planner(root, options, ExistingCatalog(root))
    outcomes = [planner.plan(release, errors) for release in imported]
    skipped = [error for error in errors if error.severity == "warning"]
    errors = [error for error in errors if error.severity == "error"]
    if errors:
        raise UserError(f"nothing imported: {counted(len(errors), 'error')} in the inputs", errors)
    result = ImportResult(outcomes, dry_run=options.dry_run)
    if not options.dry_run:
        _write(root, imported, outcomes, options.assets)
    if baseline is not None and not options.dry_run:
        _write_baselines(root, imported, outcomes, options.delivered_to, baseline)
    result = result if options.dry_run else _gated(root, imported, result, options)
    result.problems[:0] = skipped
    return result


class _Planner:
    """Checks each release and decides its file, remembering the UPCs already seen."""

    def __init__(self, root: Path, options: ImportOptions, existing: ExistingCatalog) -> None:
        self.root = root
        self.options = options
        self.existing = existing
        self.seen: dict[str, ImportedRelease] = {}
        self.label_dir = _label_dir(root, options.label_dir) if options.label_dir else None

    def plan(self, release: ImportedRelease, errors: list[Diagnostic]) -> ReleaseOutcome:
        if self.options.delivered_to:
            release.data, release.validated = self._with_targets(release.data), False
        errors += self._problems(release)
        outcome = ReleaseOutcome(
            release.upc,
            str(release.data.get("title", "")),
            "",
            "new",
            release.notes,
            {format_loc(loc): text for loc, text in release.guessed.items()},
        )
        path = self.existing.by_upc.get(release.upc)
        if path is None:
            label_dir = self.label_dir or default_label_dir(release.data)
            outcome.file = new_path(label_dir, release.data, self.existing.taken)
            return outcome
        outcome.file = path
        outcome.differences = list(differences(self.existing.release_data(path), release.data))
        if not outcome.differences:
            outcome.status = "unchanged"
        else:
            outcome.status = "overwritten" if self.options.overwrite else "differs"
        return outcome

    def _with_targets(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with the --delivered-to targets added to ``targets:`` (in field order)."""
        if not self.options.delivered_to:
            return data
        targets = list(dict.fromkeys([*data.get("targets", []), *self.options.delivered_to]))
        merged = {**data, "targets": targets}
        return {key: merged[key] for key in sorted(merged, key=_field_position)}

    def _problems(self, release: ImportedRelease) -> list[Diagnostic]:
        found = _model_problems(release) + resource_problems(release, self.options.assets)
        first = self.seen.setdefault(release.upc, release)
        if first is not release:
            found.append(
                Diagnostic(
                    release.source,
                    release.line,
                    0,
                    "upc",
                    f"UPC {release.upc} is imported twice: also at {first.source}:{first.line}",
                )
            )
        return found


def _label_dir(root: Path, given: Path) -> str:
    """``--label-dir`` relative to the root (a relative one is taken from the root); it must
    lie in catalog/, where release files are read from."""
    shown = relative(root, given if given.is_absolute() else root / given)
    if not shown.startswith(CATALOG_DIR + "/"):
        raise UsageError(f"--label-dir {given}: release files live in {CATALOG_DIR}/ (of {root})")
    return shown.rstrip("/")


def _field_position(key: str) -> int:
    return FIELD_ORDER.index(key) if key in FIELD_ORDER else len(FIELD_ORDER)


def _model_problems(release: ImportedRelease) -> list[Diagnostic]:
    """Why the release's data is not a valid release, located at its input and field (the
    reader may have checked it already)."""
    if release.validated:
        return []
    try:
        Release.model_validate(release.data)
    except ValidationError as exc:
        return [
            Diagnostic(
                release.source,
                release.line,
                0,
                format_loc(tuple(error["loc"])),
                str(error["msg"]).removeprefix("Value error, "),
            )
            for error in exc.errors(include_url=False)
        ]
    return []


def _write(
    root: Path, imported: list[ImportedRelease], outcomes: list[ReleaseOutcome], mode: AssetMode
) -> None:
    """Each new or overwritten release: its assets first, then its file."""
    for release, outcome in zip(imported, outcomes, strict=True):
        if outcome.writes:
            bring_in(root, release, mode)
            write_release(root, outcome.file, release.data, release.guessed)
    os.sync()  # one flush for every file written, not an fsync each


def _write_baselines(
    root: Path,
    imported: list[ImportedRelease],
    outcomes: list[ReleaseOutcome],
    targets: tuple[str, ...],
    context: RenderContext,
) -> None:
    """A baseline receipt per release (unless its file differs and was kept) and target."""
    kept = [(r, o) for r, o in zip(imported, outcomes, strict=True) if o.status != "differs"]
    catalog = load_catalog_from(Tree.working(root), [o.file for _, o in kept], parallel=True)
    for release, outcome in kept:
        loaded = catalog.releases.get(outcome.file)
        if loaded is None:  # the file does not load: the gate reports it
            continue
        for target in targets:
            written = record_baseline(catalog, loaded, release, target, context)
            outcome.receipts += [written] if written else []


class _Models(Mapping[str, Release]):
    """Release file -> the model of the data written there, built only when the gate asks for
    it (in the worker checking that file), so the models never all live at once."""

    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data

    def __getitem__(self, path: str) -> Release:
        return Release.model_validate(self._data[path])

    def __contains__(self, path: object) -> bool:
        return path in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _gated(
    root: Path, imported: list[ImportedRelease], result: ImportResult, options: ImportOptions
) -> ImportResult:
    """The gate's findings on the files written (the same checks ``validate`` runs).

    The gate checks models built from the data just written, not the files parsed again; the
    few files it finds problems in are then checked again as read, to place each problem at its
    line.
    """
    from stardust_git.validate import ValidationOptions, validate_catalog

    pairs = zip(imported, result.releases, strict=True)
    models = _Models({outcome.file: release.data for release, outcome in pairs if outcome.writes})
    written = [root / outcome.file for outcome in result.releases if outcome.writes]
    if not written:
        return result
    checks = ValidationOptions(check_assets=options.assets != "none")
    found = validate_catalog(root, written, checks, models).diagnostics
    again = sorted({problem.path for problem in found if problem.path in models})
    if again:
        placed = validate_catalog(root, [root / path for path in again], checks).diagnostics
        found = [p for p in found if p.path not in again] + placed
    result.problems = sorted(set(found))
    return result
