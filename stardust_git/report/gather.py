"""Everything the report shows, read once from the repository through the core: the catalog
loader, the receipts, the status rows and the genre-map coverage (the gate's findings: see
:mod:`stardust_git.report.problems`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from stardust_git.errors import Diagnostic, UserError
from stardust_git.genre_tools import MapCoverage, map_coverage
from stardust_git.gitio import Git
from stardust_git.models import Release
from stardust_git.models.receipt import Delivery, Receipt
from stardust_git.receipts import RecordedState, load_recorded
from stardust_git.report.states import TargetState, target_state
from stardust_git.source.catalog import Catalog, Loaded, load_catalog, no_cyclic_gc
from stardust_git.source.tree import Tree
from stardust_git.status import status_rows


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


def load(root: Path) -> Catalog:
    """The catalog at ``root``, frozen out of the collector's way."""
    with no_cyclic_gc():  # thousands of acyclic models: the collector would only cost time
        catalog = load_catalog(root)
    if catalog.refused:
        raise UserError("cannot read the catalog", catalog.refusals())
    return catalog


def gather(catalog: Catalog, today: dt.date) -> ReportData:
    """Read the receipts beside ``catalog`` and derive what every page needs (the
    validation problems are found beside: see :mod:`stardust_git.report.problems`)."""
    git = Git(catalog.root)
    with no_cyclic_gc():
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
