"""The plan: the catalog at --head (desired state) against the receipts at --head (recorded state).

For each release x target: wanted live and never delivered -> initial; delivered and the rendered
content changed (fingerprint) -> update; takedown requested or the target removed after a
delivery -> takedown; the last attempt failed -> the same action again. The diff --base..--head
only narrows which releases to examine (``all_`` examines every one); a changed target file,
genre map or asset replans the releases that use it, and releases whose last attempt failed are
always examined (found through the retry markers), so a failure is retried by the next run.

Rendering is how "changed" is decided (the fingerprint against the last successful delivery's),
but a release whose inputs (release file, target, genre map, asset blob ids, renderer code) have
the same digest as at its last delivery cannot render differently and is not rendered again.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stardust_git.changes import FieldChange, field_changes
from stardust_git.errors import Diagnostic, UsageError, UserError, closest, did_you_mean
from stardust_git.fileio import MAX_YAML_BYTES
from stardust_git.fingerprints import KnownFingerprints, RenderInputs, renderer_digest
from stardust_git.gitio import Change, Git
from stardust_git.models import GenreMap, Release, Target
from stardust_git.models.receipt import Delivery, Receipt
from stardust_git.receipts import (
    RecordedState,
    live_delivery,
    load_recorded,
    pending_retries,
    read_recorded,
    receipt_listing,
)
from stardust_git.render import Action, RenderContext
from stardust_git.source import defaults as defaults_files
from stardust_git.source.catalog import (
    CATALOG_DIR,
    GENRES_DIR,
    TARGETS_DIR,
    UPC_LINE,
    YAML_SUFFIXES,
    Catalog,
    Loaded,
    ReleaseCache,
    load_catalog_from,
    load_releases_into,
    no_cyclic_gc,
    release_loader,
    release_paths_in,
)
from stardust_git.source.tree import Tree
from stardust_git.source.upc_map import held_upcs
from stardust_git.source.yamlio import YamlLoadError, load_yaml_bytes
from stardust_git.workers import forked_pool

FULL_COMMIT = re.compile(r"[0-9a-f]{40}")

if TYPE_CHECKING:
    from stardust_git.checks.conflicts import Orphan
    from stardust_git.index import ReleaseFacts
    from stardust_git.render import Package

ASSETS_DIR = "assets"
WATCHED = (CATALOG_DIR, TARGETS_DIR, GENRES_DIR, ASSETS_DIR)
RENDERER_CHANGED = "renderer changed: stardust-git output differs from the last delivery"
SHARE = 1_000
"""Releases loaded, planned and gated at a time: a larger plan goes a share at a time and lets
each share's models (and rendered packages) go once it is gated, so its memory stays flat in
catalog size; deliver parses a release again when it renders it."""
HELD_RELEASES = 64
"""Releases a plan made of shares keeps parsed for deliver (the most recently used)."""


@dataclass
class PlannedAction:
    """One delivery to make, and why."""

    upc: str
    target: str
    action: Action
    reasons: list[str]
    path: str = ""
    """The release file at head."""
    package: Package | None = field(default=None, repr=False, compare=False)
    """The package the plan rendered to compare fingerprints (reused by deliver)."""
    inputs: str = field(default="", repr=False, compare=False)
    """Digest of what rendering reads (recorded in the receipt)."""
    blocked: str = field(default="", compare=False)
    """Why the gate stopped this delivery (the located errors); empty when it may go."""
    changes: list[FieldChange] = field(default_factory=list)
    """The release's values that differ from the version last delivered (an update)."""
    resend: bool = False
    """Asked for with ``deliver --resend``: the full package again, though nothing changed."""
    resend_reason: str = ""
    """Why it is sent again (``--reason``), recorded in the receipt."""
    withdrawn: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """The territories that package withdraws, once a streamed plan let the package go."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "upc": self.upc,
            "target": self.target,
            "action": self.action,
            "reasons": list(self.reasons),
            "changes": [change.as_dict() for change in self.changes],
        }

    def why(self) -> list[str]:
        """The reasons to show, one per line: the "changed: FIELDS" reason as one line per
        change, with its old and new value."""
        if not self.changes:
            return list(self.reasons)
        listed = "changed: " + ", ".join(change.field for change in self.changes)
        shown = [f"changed {change.describe()}" for change in self.changes]
        return [
            line for reason in self.reasons for line in (shown if reason == listed else [reason])
        ]


@dataclass(frozen=True)
class Resend:
    """``deliver --resend``: these releases' full packages again, as updates, for a reason."""

    upcs: frozenset[str]
    reason: str


@dataclass(frozen=True)
class HeldDelivery:
    """A delivery waiting for the release's ``deliver_after`` date."""

    upc: str
    target: str
    action: Action
    until: dt.date


@dataclass
class Plan:
    """What a delivery run would send."""

    base: str | None
    """The commit the diff started from (None: every release was examined)."""
    head: str | None
    """The commit the catalog was read at (None: the working tree)."""
    actions: list[PlannedAction] = field(default_factory=list)
    held: list[HeldDelivery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Things that block a correct plan (an invalid release, a delivered release deleted)."""
    blocked: list[PlannedAction] = field(default_factory=list)
    """Deliveries the gate stopped (not in ``actions``); deliver records each as failed."""
    examined: int = 0
    titles: dict[str, str] = field(default_factory=dict, repr=False)
    """UPC -> title of the releases with a delivery planned or held (shown with the plan)."""
    catalog: Catalog | None = field(default=None, repr=False)
    context: RenderContext | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``plan --format json``: stable across versions."""
        return {
            "base": self.base,
            "head": self.head,
            "actions": [a.as_dict() for a in self.actions],
        }

    def counts(self) -> dict[str, int]:
        counts = {"initial": 0, "update": 0, "takedown": 0}
        for planned in self.actions:
            counts[planned.action] += 1
        return counts


@dataclass
class _Scope:
    """Which release files to examine, and what the diff knows about them."""

    paths: set[str]
    everything: bool
    base_tree: Tree | None = None
    deleted: dict[str, str] = field(default_factory=dict)
    """UPC -> path at base, of release files the diff deleted."""


def compute_plan(
    root: Path,
    base: str | None = None,
    head: str | None = None,
    all_: bool = False,
    today: dt.date | None = None,
    targets: list[str] | None = None,
    retry_failed: bool = True,
    gate_packages: bool = True,
    only: list[str] | None = None,
    resend: Resend | None = None,
) -> Plan:
    """Plan the deliveries from ``base`` to ``head`` (None: the working tree).

    ``targets`` restricts the plan to those targets, ``only`` to those UPCs; ``today`` judges
    ``deliver_after`` (UTC today when None). Without ``base`` and without ``all_`` every release
    is examined. ``resend`` plans a full update of each of its releases at each of ``targets``
    (whatever the diff), and refuses one that is not live there. Every delivery passes the gate;
    ``gate_packages`` also renders and checks its package (deliver checks each package itself,
    just before sending it).
    """
    git = Git(root)
    if not git.is_repository():
        raise UserError(f"{root} is not a git repository (plan compares git revisions)")
    head_commit = git.commit_of(head) if head else git.resolve("HEAD")
    if head_commit is None:
        raise UserError("the repository has no commits yet: commit the catalog first")
    tree = Tree(git, head_commit if head else None)
    context = RenderContext(commit=head_commit, committed_at=git.committed_at(head_commit))
    plan = Plan(base=None, head=head_commit if head else None, context=context)
    if head and head_commit != git.resolve("HEAD"):
        plan.notes.append(
            f"--head {head} is not the checked-out commit: audio and artwork are read from "
            "the working tree"
        )
    _refuse_unknown_base(git, base)
    _refuse_bad_resend(resend, only, targets)
    scope = _scope(git, tree, base, head_commit if head else None, all_, plan, retry_failed)
    if resend is not None:
        _restrict(tree, scope, set(resend.upcs), "--resend", whole=True)
    elif only is not None:
        _restrict(tree, scope, set(only), "--only", whole=False)
    held = _release_upcs(tree) if len(scope.paths) > SHARE else None
    shares = _shares(sorted(scope.paths), held)
    digests: dict[str, str] = {}
    triage = held is not None and resend is None
    catalog = load_catalog_from(tree, [] if triage else shares[0], digests, parallel=True)
    plan.catalog = catalog
    _refuse_unknown_targets(catalog, targets or [])
    inputs = RenderInputs(tree, catalog, digests)
    planner = _Planner(git, catalog, {}, scope, context, inputs, today or _utc_today(), targets)
    planner.resend = resend
    stream = _Stream(tree, scope, held) if held is not None else None
    if stream is not None and triage:
        shares = stream.triage(planner, shares, plan)
    for index, share in enumerate(shares):
        if index or triage:
            load_releases_into(catalog, tree, share, digests, parallel=True)
        _plan_share(plan, planner, tree, share, index, stream, gate_packages)
    if stream is not None:
        stream.check_orphans(catalog, plan)
        catalog.releases = ReleaseCache(release_loader(catalog, tree), HELD_RELEASES)
    planner.known.save()
    plan.actions.sort(key=lambda a: (a.upc, a.target))
    plan.held.sort(key=lambda h: (h.upc, h.target))
    return plan


def _release_upcs(tree: Tree) -> dict[str, str]:
    """Release file path -> UPC, of every release file (read again only where it changed)."""
    return held_upcs(tree)


def _shares(paths: list[str], held: dict[str, str] | None) -> list[list[str]]:
    """``paths`` in shares of at most SHARE releases, in the order of their UPCs (``held``:
    path -> UPC; the order the releases are planned in); one share when ``held`` is None."""
    if held is None:
        return [paths]
    ordered = sorted(paths, key=lambda path: (held.get(path, ""), path))
    return [ordered[start : start + SHARE] for start in range(0, len(ordered), SHARE)]


def _plan_share(
    plan: Plan,
    planner: _Planner,
    tree: Tree,
    share: list[str],
    index: int,
    stream: _Stream | None,
    gate_packages: bool,
) -> None:
    """Plan and gate the releases of one share (all of them when the catalog is not streamed)."""
    catalog = planner.catalog
    _note_unloaded(plan, catalog, set(share), first=index == 0)
    if index == 0:
        plan.problems.extend(_target_errors(catalog))
    loaded_here = [catalog.releases[path] for path in share if path in catalog.releases]
    releases = sorted(loaded_here, key=lambda loaded: loaded.model.upc)
    if stream is None:
        upcs = {loaded.model.upc for loaded in releases} | set(planner.scope.deleted)
        with no_cyclic_gc():  # thousands of receipts: acyclic objects a collection would walk
            planner.recorded = load_recorded(tree, None if planner.scope.everything else upcs)
        present = {loaded.model.upc for loaded in catalog.releases.values()}
        _check_orphans(tree, present, catalog.unreadable, planner.recorded, planner.scope, plan)
    else:
        planner.recorded = stream.recorded_of(releases)
    planner.inputs.prepare(releases)
    planner.prefetch_base(releases)
    before = len(plan.actions)
    for loaded in releases:
        planner.plan_release(loaded, plan)
    if planner.refused:
        raise UsageError("; ".join(planner.refused))
    planner.finish(plan)
    plan.examined += len(releases)
    _keep_titles(plan, releases, before)
    _gate_share(plan, tree, share, before, stream, gate_packages)
    if stream is not None:
        planner.recorded = {}  # the share's receipts go with its releases


def _note_unloaded(plan: Plan, catalog: Catalog, share: set[str], first: bool) -> None:
    """The files of the share that were refused or do not validate (the first share: the
    targets and genre files too)."""
    refusals = [d for d in catalog.refusals() if first or d.path in share]
    plan.problems += [diagnostic.format() for diagnostic in refusals]
    for path in sorted((catalog.unreadable - catalog.refused) & share):
        plan.problems.append(f"{path}: does not validate (run stardust-git validate); skipped")


def _keep_titles(plan: Plan, releases: list[Loaded[Release]], before: int) -> None:
    """The titles of the releases this share plans something for (shown with the plan)."""
    upcs = {planned.upc for planned in plan.actions[before:]} | {h.upc for h in plan.held}
    for loaded in releases:
        if loaded.model.upc in upcs:
            plan.titles[loaded.model.upc] = loaded.model.title


def _gate_share(
    plan: Plan, tree: Tree, share: list[str], before: int, stream: _Stream | None, render: bool
) -> None:
    """Gate the actions this share planned; when streaming, let the share's models and packages
    go (deliver parses a release again when it renders it)."""
    earlier, plan.actions = plan.actions[:before], plan.actions[before:]
    if plan.actions:
        gate_plan(plan, tree, render, stream.conflicts_for(share) if stream else None)
    if stream is not None:
        stream.let_go(plan.catalog, share, plan.actions + plan.blocked)
    plan.actions = earlier + plan.actions


class _Stream:
    """What a plan over many shares keeps across them: one listing of the receipts, the UPCs
    seen, the catalog-level conflicts (found once)."""

    def __init__(self, tree: Tree, scope: _Scope, held: dict[str, str]) -> None:
        self.tree = tree
        self.scope = scope
        self.held = held
        self.listing = receipt_listing(tree)
        self.present: set[str] = set()
        self._conflicts: Conflicts | None = None

    def recorded_of(self, releases: list[Loaded[Release]]) -> RecordedState:
        upcs = [loaded.model.upc for loaded in releases]
        self.present.update(upcs)
        paths = [path for upc in sorted(upcs) for path in self.listing.get(upc, [])]
        with no_cyclic_gc():
            return read_recorded(self.tree, paths)

    def triage(self, planner: _Planner, shares: list[list[str]], plan: Plan) -> list[list[str]]:
        """Each share without its quiet releases: those the planner, run on every CPU (a share
        a process), finds nothing to report or send for. Only the others are planned again here,
        in full; the quiet ones count as examined. Renderings learnt there are kept."""
        global _TRIAGE
        _TRIAGE = (planner, self)
        try:
            found = list(_on_every_cpu(_triage_share, shares))
        finally:
            _TRIAGE = None
        for quiet, _, learnt in found:
            plan.examined += len(quiet)
            self.present.update(quiet)
            planner.known.learn(learnt)
        return [busy for _, busy, _ in found]

    def conflicts_for(self, share: list[str]) -> Conflicts:
        """The catalog's conflicts, with only the orphans that are not another share's."""
        if self._conflicts is None:
            self._conflicts = Conflicts.of(self.tree, self.held)
        here, elsewhere = set(share), self.scope.paths
        orphans = [o for o in self._conflicts.orphans if o.path in here or o.path not in elsewhere]
        return Conflicts(self._conflicts.held, orphans)

    def let_go(
        self, catalog: Catalog | None, share: list[str], actions: list[PlannedAction]
    ) -> None:
        assert catalog is not None
        for planned in actions:
            if planned.package is not None:
                planned.withdrawn = planned.package.withdrawn
                planned.package = None
        for path in share:
            catalog.releases.pop(path, None)

    def check_orphans(self, catalog: Catalog, plan: Plan) -> None:
        """Delivered releases whose file is gone, once every share was seen."""
        scope = self.scope
        candidates = set(self.listing) if scope.everything else set(scope.deleted)
        upcs = candidates - self.present
        paths = [path for upc in sorted(upcs) for path in self.listing.get(upc, [])]
        recorded = read_recorded(self.tree, paths)
        _check_orphans(self.tree, self.present, catalog.unreadable, recorded, scope, plan)


_TRIAGE: tuple[_Planner, _Stream] | None = None
"""What the triage processes plan with (inherited by fork; None outside a triage)."""

Triaged = tuple[list[str], list[str], dict[str, str]]
"""A share's quiet UPCs, the paths to plan again in full, and renderings learnt (inputs ->
fingerprint)."""


def _on_every_cpu(work: Callable[[list[str]], Triaged], shares: list[list[str]]) -> list[Triaged]:
    """``work`` on each share, in forked processes (in this one where there is no fork)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return [work(share) for share in shares]
    workers = max(1, min(os.cpu_count() or 1, 8, len(shares)))
    with forked_pool(workers) as pool:
        return list(pool.map(work, shares))


def _triage_share(share: list[str]) -> Triaged:
    """Plan ``share`` in a scratch plan; a release that adds nothing to it is quiet."""
    assert _TRIAGE is not None
    planner, stream = _TRIAGE
    catalog = planner.catalog
    planner.known.added = {}  # this process's own: only what this share learns goes back
    with no_cyclic_gc():
        load_releases_into(catalog, stream.tree, share, planner.inputs.digests)
    releases = [catalog.releases.pop(path) for path in share if path in catalog.releases]
    loaded_paths = {loaded.path for loaded in releases}
    busy = [path for path in share if path not in loaded_paths]
    planner.recorded = stream.recorded_of(releases)
    planner.inputs.prepare(releases)
    quiet = []
    for loaded in releases:
        scratch = Plan(base=None, head=None)
        planner.plan_release(loaded, scratch)
        if scratch.actions or scratch.held or scratch.problems or scratch.notes:
            busy.append(loaded.path)
        else:
            quiet.append(loaded.model.upc)
    planner.recorded = {}
    planner.discard_updates()
    return quiet, sorted(busy), planner.known.added


def _refuse_unknown_base(git: Git, base: str | None) -> None:
    """A ``--base`` typed by hand that names nothing is a mistake, not "examine everything".

    A full commit id this clone lacks is what CI passes after a force push (the old tip is gone):
    that one still widens the plan to every release, with a note.
    """
    if not base or FULL_COMMIT.fullmatch(base) or git.resolve(base) is not None:
        return
    raise UsageError(f"--base {base}: no such branch, tag or commit in this repository")


def _refuse_bad_resend(
    resend: Resend | None, only: list[str] | None, targets: list[str] | None
) -> None:
    """A resend names its target and its reason, and is its own restriction."""
    if resend is None:
        return
    if not targets:
        raise UsageError("--resend needs --target NAME: the target that asked for it")
    if only:
        raise UsageError("--resend restricts the run to its releases already: drop --only")
    if not resend.reason.strip():
        raise UsageError("--resend needs --reason TEXT (recorded in the receipt)")


def _restrict(tree: Tree, scope: _Scope, upcs: set[str], option: str, whole: bool) -> None:
    """Examine only the releases of ``upcs`` (``whole``: even those the diff left alone)."""
    held = _release_upcs(tree)
    refuse_unknown_upcs(held, upcs, option)
    paths = {path for path, upc in held.items() if upc in upcs}
    scope.paths = paths if whole else scope.paths & paths
    scope.deleted = {upc: path for upc, path in scope.deleted.items() if upc in upcs}
    scope.everything = False


def refuse_unknown_upcs(held: dict[str, str], upcs: set[str], option: str) -> None:
    """A usage error naming the UPCs no release file holds (``held``: path -> UPC)."""
    unknown = sorted(upcs - set(held.values()))
    if unknown:
        raise UsageError(f"{option} {', '.join(unknown)}: no release file in catalog/ has this UPC")


def _refuse_unknown_targets(catalog: Catalog, targets: list[str]) -> None:
    errors = catalog.diagnostics.errors
    broken = {Path(d.path).stem for d in errors if d.path.startswith("targets/")}
    for name in targets:
        if name not in catalog.targets and name not in broken:
            known = ", ".join(sorted(catalog.targets)) or "none"
            hint = did_you_mean(closest(name, catalog.targets))
            raise UsageError(f"--target {name}: no targets/{name}.yaml (known: {known}){hint}")


def _target_errors(catalog: Catalog) -> list[str]:
    """Why a target file does not load, located (its releases then name an unknown target)."""
    return [d.format() for d in catalog.diagnostics.errors if d.path.startswith("targets/")]


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --- the gate ------------------------------------------------------------------------------


@dataclass
class Conflicts:
    """Catalog-level conflicts: every release file's UPC, and the live releases no file holds."""

    held: dict[str, str]
    orphans: list[Orphan]

    @classmethod
    def of(cls, tree: Tree, held: dict[str, str] | None = None) -> Conflicts:
        """``held``: every release file's UPC, when already looked up."""
        from stardust_git.checks import conflicts

        held = _release_upcs(tree) if held is None else held
        return cls(held, conflicts.find_orphans(tree, held))


def gate_plan(plan: Plan, tree: Tree, render: bool, found: Conflicts | None = None) -> None:
    """Run the gate on every release the plan would send; move what fails to ``plan.blocked``.

    Catalog-level conflicts (one UPC in two files, a live UPC whose file now holds another)
    and the release's own errors block all its deliveries; a package's errors block that one.
    ``found``: those conflicts, when already looked up.
    """
    from stardust_git.checks import conflicts

    catalog = plan.catalog
    assert catalog is not None
    found = found or Conflicts.of(tree)
    held, orphans = found.held, found.orphans
    paths = {planned.path for planned in plan.actions}
    upcs = {catalog.releases[path].model.upc for path in paths}
    others = conflicts.same_upc_elsewhere(upcs, paths, held)
    errors = _gate_errors(plan, plan.actions, orphans, others, render)
    unplaced = {path for path, _ in errors if not catalog.releases[path].document.positions}
    if unplaced:  # loaded in parallel, without positions: parse those again to place the errors
        _place(catalog, tree, sorted(unplaced))
        again = [planned for planned in plan.actions if planned.path in unplaced]
        errors.update(_gate_errors(plan, again, orphans, others, render))
    _block(plan, errors)


#: (release path, target) -> errors; target "" for errors that block every target.
GateErrors = dict[tuple[str, str], list[Diagnostic]]


def _gate_errors(
    plan: Plan,
    actions: list[PlannedAction],
    orphans: list[Orphan],
    others: list[ReleaseFacts],
    render: bool,
) -> GateErrors:
    """The errors that block the deliveries of ``actions``."""
    catalog, context = plan.catalog, plan.context
    assert catalog is not None and context is not None
    paths = {planned.path for planned in actions}
    errors: GateErrors = defaultdict(list)
    for orphan in orphans:
        _note_orphan(plan, catalog, orphan, errors)
    for key, diagnostic in _gate_diagnostics(actions, catalog, context, others, render):
        if diagnostic.severity == "error":
            errors[(diagnostic.release or diagnostic.path, key[1])].append(diagnostic)
    elsewhere = [found for (path, _), found in errors.items() if path not in paths]
    _add_problems(plan, elsewhere)  # an orphan's file with nothing to send, a target file
    return {key: found for key, found in errors.items() if key[0] in paths}


def _place(catalog: Catalog, tree: Tree, paths: list[str]) -> None:
    for path, data in tree.read(paths).items():
        try:
            document = load_yaml_bytes(data, path)
        except YamlLoadError:
            continue
        loaded = catalog.releases[path]
        chain = [catalog.defaults[source].document for source in loaded.defaults]
        resolved = defaults_files.resolve(document, chain)
        catalog.releases[path] = Loaded(path, resolved, loaded.model, loaded.defaults)


def _note_orphan(plan: Plan, catalog: Catalog, orphan: Orphan, errors: GateErrors) -> None:
    loaded = catalog.releases.get(orphan.path or "")
    if loaded is not None:
        diagnostic = loaded.diagnostic(("upc",), orphan.message, rule="rekeyed")
        errors[(loaded.path, "")].append(diagnostic)
    elif not any(orphan.upc in problem for problem in plan.problems):
        where = orphan.path or f"receipts/{orphan.upc}"
        plan.problems.append(f"{where}: {orphan.message}")


def _gate_diagnostics(
    actions: list[PlannedAction],
    catalog: Catalog,
    context: RenderContext,
    others: list[ReleaseFacts],
    render: bool,
) -> list[tuple[tuple[str, str], Diagnostic]]:
    """((path, target), diagnostic) of the release checks (target "") and, with ``render``, of
    each delivery's package."""
    from stardust_git.checks import run_gate

    by_path: dict[str, list[PlannedAction]] = defaultdict(list)
    for planned in actions:
        by_path[planned.path].append(planned)
    found: list[tuple[tuple[str, str], Diagnostic]] = []
    for sends_assets in (True, False):
        chosen = [
            catalog.releases[path]
            for path, todo in sorted(by_path.items())
            if any(p.action != "takedown" for p in todo) == sends_assets
        ]
        needs = {"assets"} if sends_assets else set()
        gated = run_gate(catalog, chosen, needs=needs, context=context, others=others)
        found += [((d.release or d.path, ""), d) for d in gated.items]
    if render:
        for planned in actions:
            found += [
                ((planned.path, planned.target), d)
                for d in _package_check(planned, catalog, context)
            ]
    return found


def _package_check(
    planned: PlannedAction, catalog: Catalog, context: RenderContext
) -> list[Diagnostic]:
    """The package of one delivery checked: the one the plan rendered, or rendered now."""
    from stardust_git.checks import check_packages
    from stardust_git.render import render_package

    loaded = catalog.releases[planned.path]
    package = planned.package
    if package is None or package.action != planned.action:
        try:
            package = render_package(catalog, loaded, planned.target, planned.action, context)
        except UserError as exc:
            message = f"cannot render for target '{planned.target}': {exc.message}"
            return [loaded.diagnostic(getattr(exc, "loc", ()), message, rule="render")]
    return check_packages(catalog, loaded, [package], context).items


def _add_problems(plan: Plan, groups: list[list[Diagnostic]]) -> None:
    """Each group's diagnostics, sorted, as the problems ``plan.problems`` does not hold yet
    (looked up in a set: a catalog may have thousands)."""
    known = set(plan.problems)
    for found in groups:
        for line in (diagnostic.format() for diagnostic in sorted(set(found))):
            if line not in known:
                known.add(line)
                plan.problems.append(line)


def _block(plan: Plan, errors: GateErrors) -> None:
    """Move the deliveries with errors from ``plan.actions`` to ``plan.blocked``."""
    _add_problems(plan, list(errors.values()))
    kept = []
    for planned in plan.actions:
        found = errors.get((planned.path, ""), []) + errors.get((planned.path, planned.target), [])
        if found:
            planned.blocked = "; ".join(d.format() for d in sorted(set(found)))
            plan.blocked.append(planned)
        else:
            kept.append(planned)
    plan.actions = kept


# --- which releases to examine -------------------------------------------------------------


def _release_paths(tree: Tree) -> list[str]:
    return release_paths_in(tree)


def _scope(
    git: Git,
    tree: Tree,
    base: str | None,
    head: str | None,
    all_: bool,
    plan: Plan,
    retry_failed: bool,
) -> _Scope:
    if all_:
        return _Scope(set(_release_paths(tree)), everything=True)
    span = git.diff_range(base, head)
    if span.note:
        plan.notes.append(span.note)
    if span.base is None:
        return _Scope(set(_release_paths(tree)), everything=True)
    plan.base = span.base
    changes = git.changed_files(span.base, head, WATCHED)
    scope = _Scope(set(), everything=False, base_tree=Tree(git, span.base))
    _scope_from_changes(tree, changes, scope)
    if retry_failed:
        scope.paths |= _paths_to_retry(tree)
    return scope


def _scope_from_changes(tree: Tree, changes: list[Change], scope: _Scope) -> None:
    deleted_paths = []
    watched_targets: set[str] = set()
    watched_assets: set[str] = set()
    genre_changes: list[str] = []
    changed_defaults = []
    for change in changes:
        path = change.path
        if path.startswith(CATALOG_DIR + "/") and defaults_files.is_defaults(path):
            changed_defaults.append(path)  # added, changed or deleted: its releases replan
        elif path.startswith(CATALOG_DIR + "/") and path.endswith(YAML_SUFFIXES):
            if change.status == "D":
                deleted_paths.append(path)
            else:
                scope.paths.add(path)
        elif path.startswith(TARGETS_DIR + "/") and path.endswith(YAML_SUFFIXES):
            watched_targets.add(Path(path).stem)
        elif path.startswith(GENRES_DIR + "/"):
            genre_changes.append(path)
        elif path.startswith(ASSETS_DIR + "/"):
            watched_assets.add(path)
    _note_deleted(scope, deleted_paths)
    if changed_defaults:
        releases = _release_paths(tree)
        for path in changed_defaults:
            scope.paths.update(defaults_files.below(path, releases))
    watched_targets |= _targets_using_genres(tree, genre_changes)
    if watched_targets or watched_assets:
        scope.paths |= _paths_using(tree, watched_targets, watched_assets)


def _note_deleted(scope: _Scope, deleted_paths: list[str]) -> None:
    """Deleted release files: their UPCs (a move is a deletion plus an addition)."""
    if not deleted_paths or scope.base_tree is None:
        return
    for path, data in scope.base_tree.read(deleted_paths).items():
        match = UPC_LINE.search(data)
        if match:
            scope.deleted[match.group(1).decode()] = path


def _targets_using_genres(tree: Tree, changed: list[str]) -> set[str]:
    """Targets whose rendering a change under genre-maps/ can affect."""
    if not changed:
        return set()
    targets = _load_all(tree, TARGETS_DIR, Target)
    maps = _load_all(tree, GENRES_DIR, GenreMap, skip={"genres"})
    names = {Path(p).stem for p in changed}
    touched_maps = set()
    for name, genre_map in maps.items():
        if name in names or genre_map.vocabulary in names or "genres" in names:
            touched_maps.add(name)
    return {name for name, target in targets.items() if target.genre_map in touched_maps}


def _load_all(tree: Tree, folder: str, model: type, skip: set[str] = frozenset()) -> dict[str, Any]:
    paths = [p for p in tree.list(folder) if p.count("/") == 1 and p.endswith(YAML_SUFFIXES)]
    found = {}
    for path, data in tree.read(paths).items():
        if Path(path).stem in skip:
            continue
        try:
            document = load_yaml_bytes(data, path)
            found[Path(path).stem] = model.model_validate(document.data)
        except (YamlLoadError, ValueError, UnicodeDecodeError):
            continue
    return found


def _paths_using(tree: Tree, target_names: set[str], asset_paths: set[str]) -> set[str]:
    """Release files that name one of the targets or assets (a text scan, confirmed later)."""
    words = [re.escape(name) for name in sorted(target_names)]
    pattern = re.compile(
        "|".join(
            [rf"(?<![\w-]){w}(?![\w-])" for w in words] + [re.escape(a) for a in asset_paths]
        ).encode()
    )
    paths = _release_paths(tree)
    return {path for path, data in tree.read(paths).items() if pattern.search(data)}


def _paths_to_retry(tree: Tree) -> set[str]:
    """Release files whose last attempt at some target failed (from the retry markers)."""
    pending = pending_retries(tree)
    contents = tree.read(set(pending.values()))
    found, moved = set(), set()
    for upc, path in pending.items():
        match = UPC_LINE.search(contents.get(path, b""))
        if match and match.group(1).decode() == upc:
            found.add(path)
        else:
            moved.add(upc)
    return found | (_paths_with_upcs(tree, moved) if moved else set())


def _paths_with_upcs(tree: Tree, upcs: set[str]) -> set[str]:
    """Release files whose ``upc:`` is one of ``upcs`` (the release moved: search them all)."""
    paths = _release_paths(tree)
    found = set()
    for path, data in tree.read(paths).items():
        match = UPC_LINE.search(data)
        if match and match.group(1).decode() in upcs:
            found.add(path)
    return found


# --- deciding ------------------------------------------------------------------------------


def _check_orphans(
    tree: Tree,
    present: set[str],
    unreadable: set[str],
    recorded: RecordedState,
    scope: _Scope,
    plan: Plan,
) -> None:
    """Delivered releases whose file is gone: refuse rather than take them down by accident.
    ``present``: the UPCs of the releases loaded; ``recorded`` holds at least the others'."""
    if scope.everything:
        present = present | _upcs_of(tree, unreadable)
        candidates = set(recorded)
    else:
        candidates = set(scope.deleted)
    for upc in sorted(candidates - present):
        live = sorted(t for t, r in recorded.get(upc, {}).items() if live_delivery(r))
        if not live:
            continue
        where = scope.deleted.get(upc, "its release file")
        plan.problems.append(
            f"{where}: release {upc} was delivered to {', '.join(live)} but its file is gone; "
            "restore it with `takedown: true` to take it down"
        )


def _upcs_of(tree: Tree, paths: set[str]) -> set[str]:
    """The UPCs named in files that do not validate (they are not deleted, only broken)."""
    found = set()
    for data in tree.read(sorted(paths)).values():
        match = UPC_LINE.search(data)
        if match:
            found.add(match.group(1).decode())
    return found


class _Planner:
    """Decides the action for each target of one release."""

    def __init__(
        self,
        git: Git,
        catalog: Catalog,
        recorded: RecordedState,
        scope: _Scope,
        context: RenderContext,
        inputs: RenderInputs,
        today: dt.date,
        only_targets: list[str] | None,
    ) -> None:
        self.git = git
        self.inputs = inputs
        self.known = KnownFingerprints(catalog.root)
        self.catalog = catalog
        self.recorded = recorded
        self.scope = scope
        self.context = context
        self.today = today
        self.only_targets = set(only_targets) if only_targets else None
        self._base_versions: dict[str, Release | None] = {}
        self._blobs: dict[str, bytes | None] = {}
        self._updates: list[tuple[PlannedAction, Loaded[Release], Delivery]] = []
        self.resend: Resend | None = None
        self.refused: list[str] = []
        """Why a requested resend cannot be (a usage error, raised after every release)."""

    def plan_release(self, loaded: Loaded[Release], plan: Plan) -> None:
        release = loaded.model
        receipts = self.recorded.get(release.upc, {})
        if self.resend is not None and release.upc in self.resend.upcs:
            for name in sorted(self.only_targets or ()):
                self._plan_resend(loaded, name, receipts.get(name), plan, self.resend.reason)
            return
        names = sorted(set(release.targets) | set(receipts))
        for name in names:
            if self.only_targets is not None and name not in self.only_targets:
                continue
            self._plan_target(loaded, name, receipts, plan)

    def _plan_target(
        self, loaded: Loaded[Release], name: str, receipts: dict[str, Receipt], plan: Plan
    ) -> None:
        release = loaded.model
        receipt = receipts.get(name)
        wanted = not release.takedown and name in release.targets
        if name not in self.catalog.targets:
            if wanted:
                plan.problems.append(
                    f"{loaded.path}: unknown target '{name}' (no targets/{name}.yaml)"
                )
            elif live_delivery(receipt):
                plan.notes.append(
                    f"{release.upc} is live at '{name}' but targets/{name}.yaml is gone: "
                    "cannot take it down there"
                )
            return
        last = receipt.last() if receipt else None
        if wanted and last and last.resend and last.status == "failed":  # asked for: try again
            self._plan_resend(loaded, name, receipt, plan, last.reason)
            return
        decided = self._decide(loaded, name, receipt, receipts, wanted, plan)
        if decided is None:
            return
        action, reasons, package = decided
        if receipt and receipt.last() and receipt.last().status == "failed":  # type: ignore[union-attr]
            reasons.append("retry: previous attempt failed")
        hold = release.deliver_after
        if action != "takedown" and hold and hold > self.today:
            plan.held.append(HeldDelivery(release.upc, name, action, hold))
            return
        if action == "initial" and hold:
            reasons.append("due: deliver_after reached")
        inputs = self.inputs.of(loaded, name)
        planned = PlannedAction(release.upc, name, action, reasons, loaded.path, package, inputs)
        plan.actions.append(planned)
        if package is not None and receipt is not None:
            self._updates.append((planned, loaded, receipt.last_success()))  # type: ignore[arg-type]

    def _plan_resend(
        self, loaded: Loaded[Release], name: str, receipt: Receipt | None, plan: Plan, reason: str
    ) -> None:
        """The full package again, as an update, when the release is live at ``name`` (after a
        failed resend, the same resend again)."""
        release = loaded.model
        why_not = not_live(release, name, receipt)
        if not why_not and name not in self.catalog.targets:
            why_not = f"targets/{name}.yaml does not load"
        if why_not:
            self.refused.append(f"--resend {release.upc}: not live at '{name}' ({why_not})")
            return
        reasons = [f"resend: {reason}"]
        last = receipt.last() if receipt else None
        if last is not None and last.status == "failed":
            reasons.append("retry: previous attempt failed")
        planned = PlannedAction(
            release.upc,
            name,
            "update",
            reasons,
            loaded.path,
            inputs=self.inputs.of(loaded, name),
            resend=True,
            resend_reason=reason,
        )
        plan.actions.append(planned)

    def discard_updates(self) -> None:
        """Forget the updates planned so far (a triage plans in a scratch plan)."""
        self._updates.clear()

    def finish(self, plan: Plan) -> None:
        """Explain the updates: compare with the version last delivered, read in one batch.

        A territory that version had and the catalog dropped is withdrawn explicitly, which
        needs the package rendered again.
        """
        specs = [f"{last_ok.commit}:{loaded.path}" for _, loaded, last_ok in self._updates]
        if self.scope.base_tree is not None:
            base = self.scope.base_tree.commit
            specs += [f"{base}:{self._base_path(loaded)}" for _, loaded, _ in self._updates]
        self._prefetch(specs)
        for planned, loaded, last_ok in self._updates:
            before = self._release_at(last_ok.commit, loaded.path) or self._release_at_base(loaded)
            withdrawn = withdrawn_territories(before, loaded.model)
            if withdrawn:
                planned.package = self._render(loaded, planned.target, plan, withdrawn)
            if RENDERER_CHANGED not in planned.reasons and not planned.resend:
                reason, planned.changes = self._why_changed(before, loaded.model, last_ok)
                planned.reasons.insert(0, reason)
        self._updates.clear()

    def _decide(
        self,
        loaded: Loaded[Release],
        name: str,
        receipt: Receipt | None,
        receipts: dict[str, Receipt],
        wanted: bool,
        plan: Plan,
    ) -> tuple[Action, list[str], Package | None] | None:
        release = loaded.model
        live = live_delivery(receipt)
        if not wanted:
            if not live:
                return None
            why = "takedown requested" if release.takedown else "target removed"
            return "takedown", [why], None
        last_ok = receipt.last_success() if receipt else None
        if last_ok is None:
            return "initial", [self._why_initial(loaded, name, receipts)], None
        if last_ok.action == "takedown":
            return "update", ["reinstated after takedown"], None
        inputs = self.inputs.of(loaded, name)
        if inputs in (last_ok.inputs, *self.known.get(last_ok.fingerprint)):
            return None  # these inputs are known to render what was delivered
        package = self._render(loaded, name, plan, frozenset())
        if package is None:
            return None
        self.known.add(inputs, package.fingerprint)
        if package.fingerprint == last_ok.fingerprint:
            return None
        if self._only_renderer_changed(loaded, name, last_ok):
            return "update", [RENDERER_CHANGED], package
        return "update", [], package  # the reason is added by finish()

    def _only_renderer_changed(self, loaded: Loaded[Release], name: str, last_ok: Delivery) -> bool:
        """Whether the inputs are the last delivery's but for the renderer (an upgrade)."""
        if not last_ok.renderer or last_ok.renderer == renderer_digest():
            return False
        return self.inputs.of(loaded, name, last_ok.renderer) == last_ok.inputs

    def _why_initial(self, loaded: Loaded[Release], name: str, receipts: dict[str, Receipt]) -> str:
        """ "target added" when an earlier version of the release did not list the target."""
        earlier = [self._release_at_base(loaded)]
        successes = [r.last_success() for r in receipts.values()]
        latest = max((d for d in successes if d), key=lambda d: d.finished, default=None)
        if latest is not None:
            earlier.append(self._release_at(latest.commit, loaded.path))
        if any(version is not None and name not in version.targets for version in earlier):
            return "target added"
        return "new"

    def _render(
        self, loaded: Loaded[Release], name: str, plan: Plan, withdrawn: frozenset[str]
    ) -> Package | None:
        from stardust_git.render import render_package

        try:
            return render_package(self.catalog, loaded, name, "update", self.context, withdrawn)
        except UserError as exc:
            plan.problems.append(f"{loaded.path}: cannot render for '{name}': {exc.message}")
        return None

    @staticmethod
    def _why_changed(
        before: Release | None, after: Release, last_ok: Delivery
    ) -> tuple[str, list[FieldChange]]:
        """The reason of an update, and the values that changed since the last delivery."""
        changes = field_changes(_dump(before), _dump(after)) if before else []
        if changes:
            return "changed: " + ", ".join(change.field for change in changes), changes
        if last_ok.imported:  # the previous distributor delivered what the import recorded
            return "changed since the import", []
        if not last_ok.renderer:  # delivered before receipts named the renderer
            why = "changed: rendered content (target settings, genre map, assets or stardust-git)"
            return why, []
        return "changed: rendered content (target settings, genre map or assets)", []

    def _release_at_base(self, loaded: Loaded[Release]) -> Release | None:
        if self.scope.base_tree is None:
            return None
        return self._release_at(self.scope.base_tree.commit, self._base_path(loaded))

    def _base_path(self, loaded: Loaded[Release]) -> str:
        return self.scope.deleted.get(loaded.model.upc, loaded.path)

    def prefetch_base(self, releases: list[Loaded[Release]]) -> None:
        """Read the base version of every examined release in one go (parsed when needed)."""
        if self.scope.base_tree is not None:
            base = self.scope.base_tree.commit
            self._prefetch([f"{base}:{self._base_path(loaded)}" for loaded in releases])

    def _prefetch(self, specs: list[str]) -> None:
        """Read ``commit:path`` specs of release files, and the defaults they may inherit."""
        expanded = [read for spec in specs for read in (spec, *_defaults_specs(spec))]
        wanted = [spec for spec in dict.fromkeys(expanded) if spec not in self._blobs]
        found = self.git.read_objects(wanted, MAX_YAML_BYTES)
        for spec in wanted:
            self._blobs[spec] = found.get(spec)

    def _release_at(self, commit: str | None, path: str) -> Release | None:
        if commit is None:
            return None
        key = f"{commit}:{path}"
        if key not in self._base_versions:
            self._prefetch([key])
            defaults = [(s, self._blobs[s]) for s in _defaults_specs(key) if self._blobs.get(s)]
            self._base_versions[key] = _release_from(self._blobs[key], path, defaults)
        return self._base_versions[key]


def not_live(release: Release, name: str, receipt: Receipt | None) -> str:
    """Why ``release`` is not live at target ``name`` (empty when it is)."""
    last_ok = receipt.last_success() if receipt else None
    if last_ok is None:
        return "never delivered there"
    if last_ok.action == "takedown":
        return f"taken down there on {last_ok.finished:%Y-%m-%d}"
    if release.takedown:
        return "the release has takedown: true"
    if name not in release.targets:
        return "not listed in its targets:"
    return ""


def _defaults_specs(spec: str) -> list[str]:
    """``commit:path`` of every defaults file a release file's ``commit:path`` may inherit."""
    commit, _, path = spec.partition(":")
    return [f"{commit}:{candidate}" for candidate in defaults_files.candidates(path)]


def _release_from(
    data: bytes | None, path: str, defaults: list[tuple[str, bytes]]
) -> Release | None:
    """The release a file's bytes hold, resolved with its defaults' bytes (outermost first)."""
    if data is None:
        return None
    try:
        chain = [load_yaml_bytes(content, name) for name, content in defaults]
        document = defaults_files.resolve(load_yaml_bytes(data, path), chain)
        return Release.model_validate(document.data)
    except (YamlLoadError, ValueError, UnicodeDecodeError):
        return None


def withdrawn_territories(before: Release | None, after: Release) -> frozenset[str]:
    """Territories the delivered version had a deal for and the catalog has no more."""
    if before is None:
        return frozenset()
    old = {code for deal in before.deals for code in deal.territories}
    new = {code for deal in after.deals for code in deal.territories}
    return frozenset(old - new)


def _dump(release: Release | None) -> Any:
    return release.model_dump(mode="json") if release else None


def changed_fields(before: Any, after: Any) -> list[str]:
    """Paths of the values that differ: ``["title", "tracks[1].duration"]``."""
    return [change.field for change in field_changes(before, after)]
