"""History: a release delivered and live at a target must keep a release file holding its UPC.

A live UPC that no release file holds any more is one situation however it came about (the file
deleted, or its UPC changed in place): sending on would orphan the old release at the shop, so it
is refused until the old release is taken down with ``takedown: true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from stardust_git.errors import Diagnostics, UserError
from stardust_git.index import ReleaseFacts
from stardust_git.receipts import live_delivery, read_receipt_file, receipt_path
from stardust_git.source.catalog import RECEIPTS_DIR, UPC_LINE, Catalog, release_names
from stardust_git.source.tree import Tree

HOW_TO_TAKE_DOWN = (
    "restore a release file with this UPC and `takedown: true` to take it down first "
    "(and deliver that), then change or delete it"
)


def orphan_message(upc: str, targets: Iterable[str], commit: str = "") -> str:
    """Why a live release without a file blocks, and how to resolve it."""
    where = ", ".join(f"'{t}'" for t in sorted(targets))
    at = f" (commit {commit[:12]})" if commit else ""
    return (
        f"release {upc} was delivered to {where}{at} and is live there, but no file in "
        f"catalog/ holds this UPC any more (deleted, or its UPC changed in place): "
        f"{HOW_TO_TAKE_DOWN}"
    )


def rekeyed_message(old_upc: str, targets: Iterable[str]) -> str:
    """The release file that now holds another UPC than the live release it delivered."""
    where = ", ".join(f"'{t}'" for t in sorted(targets))
    return (
        f"this file held release {old_upc}, which is live at {where}; changing the UPC in "
        f"place would orphan it there: set it back to {old_upc} with `takedown: true` and "
        "deliver that first, then give the new release its own file"
    )


def upcs_in(texts: Iterable[bytes]) -> set[str]:
    """The top-level ``upc:`` values written in release files that could not be parsed."""
    return {match.group(1).decode() for text in texts for match in UPC_LINE.finditer(text)}


def check_deleted_releases(
    catalog: Catalog, diagnostics: Diagnostics, facts: list[ReleaseFacts] | None = None
) -> None:
    """validate: every release live at a target (its receipts in the working tree) is still held
    by a release file, judged by the parsed UPCs (``facts``, the loaded releases), not by text."""
    folder = catalog.root / RECEIPTS_DIR
    if not folder.is_dir():
        return
    known = {loaded.model.upc for loaded in catalog.releases.values()}
    known |= {fact.upc for fact in facts or []} | catalog.release_upcs
    unparsed: set[str] | None = None  # read only when a receipt's UPC is not already known
    for upc_folder in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()):
        upc = upc_folder.name
        if upc in known:
            continue
        if unparsed is None:
            unparsed = _unparsed_upcs(catalog, facts or [])
        if upc not in unparsed:
            _report_if_live(upc, upc_folder, diagnostics)


def _unparsed_upcs(catalog: Catalog, facts: list[ReleaseFacts]) -> set[str]:
    """UPCs of the release files that have no parsed facts (broken files are not deleted)."""
    parsed = {fact.path for fact in facts} | set(catalog.releases)
    listed = catalog.unsummarised
    names = release_names(catalog.root) if listed is None else [*listed, *catalog.unreadable]
    paths = [name for name in names if name not in parsed]
    return upcs_in(Tree.working(catalog.root).read(paths).values())


def _report_if_live(upc: str, upc_folder: Path, diagnostics: Diagnostics) -> None:
    for path in sorted(upc_folder.glob("*.json")):
        shown = receipt_path(upc, path.stem)
        try:
            receipt = read_receipt_file(path, shown)
        except UserError as exc:
            diagnostics.extend(exc.diagnostics or [])
            if not exc.diagnostics:
                diagnostics.error(shown, exc.message)
            continue
        live = live_delivery(receipt)
        if live is not None:
            message = orphan_message(upc, [path.stem], live.commit)
            diagnostics.error(shown, message, rule="deleted-release")
