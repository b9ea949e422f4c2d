"""Baseline receipts: imported releases recorded as already live at the shops (``--delivered-to``).

Each receipt holds one delivery marked ``imported``: nothing was sent, the previous distributor
delivered the release. Its fingerprint is that of the package stardust-git renders for the
release as imported, so the next plan sends nothing for an unchanged release, an Update for a
changed one and a Takedown when it is taken down, never an Initial.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stardust_git.errors import UsageError, UserError
from stardust_git.gitio import Git
from stardust_git.importers.model import ImportedRelease
from stardust_git.models import Release
from stardust_git.models.receipt import Delivery
from stardust_git.receipts import read_receipt, record_delivery
from stardust_git.render import RenderContext, render_package
from stardust_git.source.catalog import Catalog, Loaded


def check_targets(wanted: list[str], catalog: Catalog) -> None:
    """A usage error naming the known targets when one of ``wanted`` has no targets/ file."""
    unknown = [name for name in wanted if name not in catalog.targets]
    if unknown:
        known = ", ".join(sorted(catalog.targets)) or "none"
        raise UsageError(
            f"--delivered-to: unknown target {', '.join(map(repr, unknown))}"
            f" (no targets/<name>.yaml); the known targets: {known}"
        )


def head_context(root: Path) -> RenderContext:
    """The render context at the catalog's HEAD, which every baseline receipt names."""
    git = Git(root)
    head = git.resolve("HEAD") if git.is_repository() else None
    if head is None:
        raise UsageError(
            "--delivered-to records the commit the catalog was at: commit the catalog"
            " repository (its targets/) first"
        )
    return RenderContext(commit=head, committed_at=git.committed_at(head))


def record_baseline(
    catalog: Catalog,
    loaded: Loaded[Release],
    imported: ImportedRelease,
    target: str,
    context: RenderContext,
) -> str | None:
    """Write the baseline receipt of the release at ``target``; its path, or None when the
    release already has a receipt there (its history is kept as it is)."""
    root = catalog.root
    if read_receipt(root, imported.upc, target) is not None:
        return None
    return record_delivery(
        root, imported.upc, target, _delivery(catalog, loaded, imported, target, context)
    )


def _delivery(
    catalog: Catalog,
    loaded: Loaded[Release],
    imported: ImportedRelease,
    target: str,
    context: RenderContext,
) -> Delivery:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fingerprint, package_format = _rendered(catalog, loaded, target, context)
    return Delivery(
        message_id=imported.message_id,
        action=imported.delivered_action,
        commit=context.commit,
        format=package_format,
        started=now,
        finished=now,
        attempts=0,
        status="success",
        fingerprint=fingerprint,
        imported=True,
    )


def _rendered(
    catalog: Catalog, loaded: Loaded[Release], target: str, context: RenderContext
) -> tuple[str, str]:
    """The fingerprint and format of the release's package for the target; no fingerprint
    (the next plan then sends an Update) when it cannot be rendered, e.g. without its assets."""
    model = catalog.targets[target].model
    fallback = f"ern/{model.ern_version}" if model.format == "ern" else "apple/5.3"
    try:
        package = render_package(catalog, loaded, target, "update", context)
    except (UserError, OSError):
        return "", fallback
    return package.fingerprint, package.format
