"""The problems page's findings: what loading found and what the gate finds in the loaded
catalog, as ``stardust-git validate --no-render`` reports them.

Not the render checks: they render every release for every target, which costs more than the
whole report; the release pages render each message and show why one fails.

A large catalog is checked by forked workers, a share of the releases each, started as soon as
the catalog is loaded: they run while this process reads the receipts and runs the gate's
checks across the catalog (:class:`ProblemSearch`).
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType

from stardust_git.checks.cross_file import checked_release
from stardust_git.checks.gate import GateRun, run_catalog_checks, run_release_checks
from stardust_git.errors import Diagnostic, Diagnostics
from stardust_git.models import Release
from stardust_git.report.workers import forked_pool, shares, worker_count
from stardust_git.source.catalog import Catalog, Loaded

REPORT_NEEDS = frozenset({"assets", "history"})
"""What the gate may use for the problems page."""
PARALLEL_MIN_RELEASES = 500
CHECK_SHARE = 500
"""Releases a worker checks at a time."""
_FORKED: dict[str, Catalog] = {}
"""``"catalog"``: the catalog being checked, inherited (not pickled) by the forked workers."""


def validation_problems(catalog: Catalog) -> list[Diagnostic]:
    """Everything the problems page lists, found in this process."""
    found = catalog_problems(catalog)
    found.extend(release_problems(catalog, list(catalog.releases.values())))
    return Diagnostics(found).sorted()


def release_problems(catalog: Catalog, releases: list[Loaded[Release]]) -> list[Diagnostic]:
    """The gate's checks of each of ``releases`` (a share of the catalog, in a worker)."""
    found = Diagnostics()
    run_release_checks(GateRun(catalog, REPORT_NEEDS), releases, found)
    return found.items


def catalog_problems(catalog: Catalog) -> list[Diagnostic]:
    """What loading found and the gate's checks across the catalog: with
    :func:`release_problems`, what :func:`~stardust_git.checks.gate.run_gate` runs."""
    run = GateRun(catalog, REPORT_NEEDS)
    run.checked = [checked_release(loaded) for loaded in catalog.releases.values()]
    found = Diagnostics(list(catalog.diagnostics.items))
    run_catalog_checks(run, found)
    return found.items


def _check_share(share: tuple[int, int]) -> list[Diagnostic]:
    catalog = _FORKED["catalog"]
    return release_problems(catalog, list(catalog.releases.values())[slice(*share)])


class ProblemSearch:
    """The gate's checks of ``catalog`` (none when not ``wanted``): the per-release checks of a
    large catalog start in forked workers on entering; :meth:`problems` waits for them."""

    def __init__(self, catalog: Catalog, wanted: bool = True) -> None:
        self.catalog = catalog
        self.wanted = wanted
        self.pool: ProcessPoolExecutor | None = None
        self.shares: list[Future[list[Diagnostic]]] = []

    def __enter__(self) -> ProblemSearch:
        count = len(self.catalog.releases)
        workers = worker_count(count, PARALLEL_MIN_RELEASES)
        if self.wanted and workers > 1:
            _FORKED["catalog"] = self.catalog
            self.pool = forked_pool(workers)
            submit = self.pool.submit
            self.shares = [submit(_check_share, share) for share in shares(count, CHECK_SHARE)]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        _FORKED.clear()

    def problems(self) -> list[Diagnostic]:
        """Everything found (sorted, each once); empty when not wanted."""
        if not self.wanted:
            return []
        if self.pool is None:
            return validation_problems(self.catalog)
        found = Diagnostics(catalog_problems(self.catalog))
        for share in self.shares:
            found.extend(share.result())
        return found.sorted()
