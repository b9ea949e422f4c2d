"""Receipts: the recorded state. ``receipts/<UPC>/<target>.json``, one file per release x target.

A receipt is appended to after every delivery attempt and written atomically, as JSON with
sorted keys and a fixed layout, so the same history always gives the same bytes and concurrent
runs (which touch different files) rebase without conflicts. When two runs did touch the same
file, :func:`merge_receipt_files` unions their histories.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from pydantic import ValidationError

from stardust_git.catalog import RECEIPTS_DIR, Catalog, release_files
from stardust_git.errors import Diagnostics, UserError
from stardust_git.fileio import write_atomic
from stardust_git.gitio import Tree
from stardust_git.models.receipt import Delivery, Receipt

# Their callers import them from here; they live in redaction.
from stardust_git.redaction import redact as redact
from stardust_git.redaction import secret_values as secret_values

#: upc -> target name -> receipt
RecordedState = dict[str, dict[str, Receipt]]

RETRY_DIR = f"{RECEIPTS_DIR}/.retry"


def receipt_path(upc: str, target: str) -> str:
    """Where the receipt of ``upc`` at ``target`` lives, relative to the repository root."""
    return f"{RECEIPTS_DIR}/{upc}/{target}.json"


def dump_receipt(receipt: Receipt) -> bytes:
    """The canonical bytes of a receipt: sorted keys, two-space indent, a final newline."""
    data = receipt.model_dump(mode="json")
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse_receipt(data: bytes, shown: str) -> Receipt:
    try:
        return Receipt.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UserError(f"{shown}: not a valid receipt ({where}: {first['msg']})") from None


def read_receipt(root: Path, upc: str, target: str) -> Receipt | None:
    """The receipt in the working tree, or None when there is none yet."""
    path = root / receipt_path(upc, target)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_receipt(data, receipt_path(upc, target))


def record_delivery(root: Path, upc: str, target: str, delivery: Delivery) -> str:
    """Append ``delivery`` to the receipt of ``upc`` at ``target``; returns the receipt's path."""
    receipt = read_receipt(root, upc, target) or Receipt(upc=upc, target=target)
    receipt.history.append(delivery)
    shown = receipt_path(upc, target)
    write_atomic(root / shown, dump_receipt(receipt))
    return shown


def _split(path: str) -> tuple[str, str] | None:
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != RECEIPTS_DIR or not parts[2].endswith(".json"):
        return None
    return parts[1], parts[2].removesuffix(".json")


def load_recorded(tree: Tree, upcs: set[str] | None = None) -> RecordedState:
    """The receipts in ``tree``: of the given releases, or all of them."""
    if upcs is None:
        paths = [p for p in tree.list(RECEIPTS_DIR) if _split(p)]
    else:
        paths = [p for upc in sorted(upcs) for p in tree.list(f"{RECEIPTS_DIR}/{upc}") if _split(p)]
    return _parse_all(tree.read(paths))


def _parse_all(contents: dict[str, bytes]) -> RecordedState:
    recorded: RecordedState = defaultdict(dict)
    for path, data in contents.items():
        upc, target = _split(path)  # type: ignore[misc]
        recorded[upc][target] = parse_receipt(data, path)
    return dict(recorded)


def retry_marker(upc: str, target: str) -> str:
    """``receipts/.retry/<UPC>.<target>``: present while the last attempt there failed.

    The receipt stays the record; the markers only let a plan narrowed to a diff find the
    failures to retry by listing one small folder instead of reading every receipt.
    """
    return f"{RETRY_DIR}/{upc}.{target}"


def update_retry_marker(
    root: Path, upc: str, target: str, release_path: str, failed: bool
) -> str | None:
    """Create (failed) or remove (delivered) the marker; its path when that changed anything.

    A marker holds the release file's path, so the plan finds the release without a search.
    """
    marker = retry_marker(upc, target)
    if failed:
        write_atomic(root / marker, f"{release_path}\n".encode())
        return marker
    try:
        (root / marker).unlink()
    except FileNotFoundError:
        return None
    return marker


def pending_retries(tree: Tree) -> dict[str, str]:
    """UPC -> release file path, of every release with a failed last attempt somewhere."""
    markers = [p for p in tree.list(RETRY_DIR) if p.count("/") == 2]
    pending = {}
    for path, data in tree.read(markers).items():
        upc = path.rsplit("/", 1)[1].split(".", 1)[0]
        pending[upc] = data.decode("utf-8", "replace").strip()
    return pending


def merge_receipt_files(path: str, upstream: bytes | None, ours: bytes | None) -> bytes | None:
    """Resolve a rebase conflict on a receipt: the union of both histories, by start time.

    Returns None for anything that is not a receipt (the rebase is then aborted).
    """
    if _split(path) is None:
        return None
    versions = [parse_receipt(data, path) for data in (upstream, ours) if data is not None]
    if not versions:
        return None
    seen: dict[tuple[str, str, str], Delivery] = {}
    for receipt in versions:
        for delivery in receipt.history:
            seen.setdefault(
                (delivery.started.isoformat(), delivery.message_id, delivery.commit), delivery
            )
    merged = versions[0].model_copy(
        update={"history": sorted(seen.values(), key=lambda d: (d.started, d.message_id))}
    )
    return dump_receipt(merged)


_UPC_LINE = re.compile(rb"^upc:\s*['\"]?(\d{12,13})\b", re.MULTILINE)


def check_deleted_releases(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """A release delivered (and not taken down) must keep its file: no accidental takedowns."""
    folder = catalog.root / RECEIPTS_DIR
    if not folder.is_dir():
        return
    known = catalog.release_upcs | {loaded.model.upc for loaded in catalog.releases.values()}
    texts: list[bytes] | None = None  # read only when a receipt's UPC is not already known
    for upc_folder in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()):
        upc = upc_folder.name
        if upc in known:
            continue
        if texts is None:
            texts = [path.read_bytes() for path in release_files(catalog.root)]
            known |= {m.group(1).decode() for text in texts for m in _UPC_LINE.finditer(text)}
        if upc in known or any(upc.encode() in text for text in texts):
            continue
        for path in sorted(upc_folder.glob("*.json")):
            shown = receipt_path(upc, path.stem)
            try:
                receipt = parse_receipt(path.read_bytes(), shown)
            except UserError as exc:
                diagnostics.error(shown, exc.message)
                continue
            last_ok = receipt.last_success()
            if last_ok and last_ok.action != "takedown":
                diagnostics.error(
                    shown,
                    f"release {upc} was delivered to '{path.stem}' (commit {last_ok.commit[:12]}) "
                    "but no file in catalog/ has this UPC any more: a delivered release is never "
                    "deleted; restore its file and set `takedown: true` to take it down",
                    rule="deleted-release",
                )
