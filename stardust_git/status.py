"""Where each release stands at each target, from the receipts in the working tree."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from stardust_git.errors import UserError
from stardust_git.gitio import Git
from stardust_git.models.receipt import Receipt
from stardust_git.receipts import load_recorded
from stardust_git.source.catalog import Catalog, load_catalog, paths_naming
from stardust_git.source.tree import Tree


@dataclass(frozen=True)
class StatusRow:
    """One release at one target."""

    upc: str
    title: str
    target: str
    wanted: str
    """live, takedown (requested), removed (target no longer listed) or unknown (no file)."""
    status: str
    """success, failed or pending (never attempted)."""
    action: str = ""
    when: str = ""
    commit: str = ""
    attempts: int = 0
    acknowledgement: str = ""
    error: str = ""
    remote: dict[str, str] = field(default_factory=dict)
    """What the DSP's side said about the last delivery (an HTTP API's delivery id)."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def release_status(root: Path, upc: str | None = None) -> list[StatusRow]:
    """Rows for every release and target (or one release), sorted by UPC then target."""
    catalog = _catalog(root, upc)
    recorded = load_recorded(Tree(Git(root), None), {upc} if upc else None)
    return status_rows(catalog, recorded, upc)


def catalog_status(root: Path) -> tuple[Catalog, dict[str, dict[str, Receipt]], list[StatusRow]]:
    """The whole catalog, its receipts, and the rows of :func:`release_status` (read once)."""
    catalog = _catalog(root, None)
    recorded = load_recorded(Tree(Git(root), None))
    return catalog, recorded, status_rows(catalog, recorded)


def status_rows(
    catalog: Catalog, recorded: dict[str, dict[str, Receipt]], upc: str | None = None
) -> list[StatusRow]:
    """The rows of :func:`release_status` for a catalog and receipts already loaded."""
    rows = []
    titles: dict[str, str] = {}
    wanted: dict[tuple[str, str], str] = {}
    for loaded in catalog.releases.values():
        release = loaded.model
        if upc and release.upc != upc:
            continue
        titles[release.upc] = release.title
        for name in release.targets:
            wanted[(release.upc, name)] = "takedown" if release.takedown else "live"
        for name in recorded.get(release.upc, {}):
            wanted.setdefault((release.upc, name), "takedown" if release.takedown else "removed")
    for pair in _pairs(recorded):
        wanted.setdefault(pair, "unknown")
    for release_upc, name in sorted(wanted):
        receipt = recorded.get(release_upc, {}).get(name)
        rows.append(
            _row(
                release_upc, titles.get(release_upc, ""), name, wanted[(release_upc, name)], receipt
            )
        )
    return rows


def _pairs(recorded: dict[str, dict[str, Receipt]]) -> dict[tuple[str, str], Receipt]:
    return {(upc, name): r for upc, by_target in recorded.items() for name, r in by_target.items()}


def _catalog(root: Path, upc: str | None) -> Catalog:
    catalog = load_catalog(root) if upc is None else load_catalog(root, paths_naming(root, upc))
    if catalog.refused:
        raise UserError("cannot read the catalog", catalog.refusals())
    return catalog


def _row(upc: str, title: str, target: str, wanted: str, receipt: Receipt | None) -> StatusRow:
    last = receipt.last() if receipt else None
    if last is None:
        return StatusRow(upc, title, target, wanted, "pending")
    acks = last.acknowledgements
    ack = f"{acks[-1].status} ({acks[-1].received_at:%Y-%m-%d %H:%M}Z)" if acks else ""
    return StatusRow(
        upc,
        title,
        target,
        wanted,
        last.status,
        f"{last.action} (imported)" if last.imported else last.action,
        last.finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        last.commit[:12],
        last.attempts,
        ack,
        last.error or "",
        dict(last.remote),
    )
