"""Everything the report shows, read once from the repository through the core: the catalog
loader, the receipts, the status rows, the gate (via validate) and the genre-map coverage."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from stardust_git.checks.cross_file import checked_release
from stardust_git.checks.gate import GateRun, run_catalog_checks, run_release_checks
from stardust_git.errors import Diagnostic, Diagnostics, UserError
from stardust_git.genre_tools import MapCoverage, map_coverage
from stardust_git.gitio import Git
from stardust_git.models import Release
from stardust_git.models.receipt import Delivery, Receipt
from stardust_git.receipts import RecordedState, load_recorded
from stardust_git.report.states import TargetState, target_state
from stardust_git.source.catalog import Catalog, Loaded, load_catalog, no_cyclic_gc
from stardust_git.source.tree import Tree
from stardust_git.status import status_rows

REPORT_NEEDS = frozenset({"assets", "history"})
"""What the gate may use for the problems page (see validation_problems)."""


@dataclass
class ReleaseEntry:
    """One release (or a receipt whose release file is gone: ``loaded`` is None)."""

    upc: str
    loaded: Loaded[Release] | None
    states: list[TargetState] = field(default_factory=list)
    receipts: dict[str, Receipt] = field(default_factory=dict)

    @property
    def release(self) -> Release | None:
        return self.loaded.model if self.loaded else None

    @property
    def title(self) -> str:
        return self.loaded.model.title if self.loaded else f"(no release file) {self.upc}"


@dataclass(frozen=True)
class DeliveryEvent:
    """One delivery attempt of the receipts, with where it belongs."""

    upc: str
    target: str
    delivery: Delivery
    retry: bool
    """An attempt after a failed one at the same target."""


@dataclass
class ReportData:
    catalog: Catalog
    releases: list[ReleaseEntry]
    events: list[DeliveryEvent]
    problems: list[Diagnostic]
    coverage: list[MapCoverage]
    commit: str | None
    today: dt.date

    def receipts_of(self, target: str) -> list[Receipt]:
        return [entry.receipts[target] for entry in self.releases if target in entry.receipts]


def gather(root: Path, today: dt.date) -> ReportData:
    """Load the catalog and receipts of ``root`` and derive what every page needs (the
    validation problems are left to the builder: see :func:`release_problems`)."""
    with no_cyclic_gc():  # thousands of acyclic models: the collector would only cost time
        catalog = load_catalog(root)
        if catalog.refused:
            raise UserError("cannot read the catalog", catalog.refusals())
        git = Git(root)
        recorded = load_recorded(Tree(git, None))
        entries = release_entries(catalog, recorded, today)
        events = delivery_events(recorded)
    commit = git.resolve("HEAD") if git.is_repository() else None
    return ReportData(catalog, entries, events, [], coverage(catalog), commit, today)


def release_entries(
    catalog: Catalog, recorded: RecordedState, today: dt.date
) -> list[ReleaseEntry]:
    """Every release and every UPC with receipts, by UPC, with its state at each target."""
    entries = {
        loaded.model.upc: ReleaseEntry(loaded.model.upc, loaded) for loaded in _by_upc(catalog)
    }
    for row in status_rows(catalog, recorded):
        entry = entries.setdefault(row.upc, ReleaseEntry(row.upc, None))
        entry.states.append(target_state(row, entry.release, today))
    for upc, by_target in recorded.items():
        entries[upc].receipts = by_target
    return [entries[upc] for upc in sorted(entries)]


def _by_upc(catalog: Catalog) -> list[Loaded[Release]]:
    return sorted(catalog.releases.values(), key=lambda loaded: loaded.model.upc)


def delivery_events(recorded: RecordedState) -> list[DeliveryEvent]:
    """Every delivery attempt in the receipts, newest first."""
    events = []
    for upc, by_target in recorded.items():
        for target, receipt in by_target.items():
            failed_before = False
            for delivery in receipt.history:
                events.append(DeliveryEvent(upc, target, delivery, failed_before))
                failed_before = delivery.status == "failed"
    return sorted(events, key=lambda event: event.delivery.started, reverse=True)


def validation_problems(catalog: Catalog) -> list[Diagnostic]:
    """What loading found and the gate finds in the loaded catalog, as ``stardust-git validate
    --no-render`` reports them.

    Not the render checks: they render every release for every target, which costs more
    than the whole report; the release pages render each message and show why one fails."""
    found = catalog_problems(catalog)
    found.extend(release_problems(catalog, list(catalog.releases.values())))
    return Diagnostics(found).sorted()


def release_problems(catalog: Catalog, releases: list[Loaded[Release]]) -> list[Diagnostic]:
    """The gate's checks of each of ``releases`` (a share of the catalog, in a worker)."""
    found = Diagnostics()
    run_release_checks(GateRun(catalog, REPORT_NEEDS), releases, found)
    return found.items


def catalog_problems(catalog: Catalog) -> list[Diagnostic]:
    """What loading found and the gate's checks across the catalog (the rest of
    :func:`~stardust_git.checks.gate.run_gate`, beside :func:`release_problems`)."""
    run = GateRun(catalog, REPORT_NEEDS)
    run.checked = [checked_release(loaded) for loaded in catalog.releases.values()]
    found = Diagnostics(list(catalog.diagnostics.items))
    run_catalog_checks(run, found)
    return found.items


def coverage(catalog: Catalog) -> list[MapCoverage]:
    """The coverage of every genre map (none without a taxonomy)."""
    if catalog.taxonomy is None:
        return []
    return [map_coverage(catalog, name) for name in sorted(catalog.genre_maps)]


def open_failures(entries: list[ReleaseEntry]) -> dict[str, int]:
    """Target -> releases whose last attempt there failed."""
    counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        for state in entry.states:
            if state.code == "failed":
                counts[state.target] += 1
    return dict(counts)
