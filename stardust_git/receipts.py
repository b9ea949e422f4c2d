"""Receipts: the recorded state. ``receipts/<UPC>/<target>.json``, one file per release x target.

A receipt is appended to after every delivery attempt and written atomically, as JSON with
sorted keys and a fixed layout, so the same history always gives the same bytes and concurrent
runs (which touch different files) rebase without conflicts. When two runs did touch the same
file, :func:`merge_receipt_files` unions their histories.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, ValidationError

from stardust_git.errors import Diagnostic, Diagnostics, UserError
from stardust_git.fileio import (
    MAX_RECEIPT_BYTES,
    UnreadableFile,
    read_regular,
    too_large,
    write_atomic,
)
from stardust_git.models.receipt import Delivery, Receipt
from stardust_git.source.catalog import RECEIPTS_DIR, Catalog, release_names
from stardust_git.source.tree import Tree

#: upc -> target name -> receipt
RecordedState = dict[str, dict[str, Receipt]]

_SECRET_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_URL_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)
RETRY_DIR = f"{RECEIPTS_DIR}/.retry"


def receipt_path(upc: str, target: str) -> str:
    """Where the receipt of ``upc`` at ``target`` lives, relative to the repository root."""
    return f"{RECEIPTS_DIR}/{upc}/{target}.json"


def dump_receipt(receipt: Receipt) -> bytes:
    """The canonical bytes of a receipt: sorted keys, two-space indent, a final newline."""
    data = receipt.model_dump(mode="json")
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse_receipt(data: bytes, shown: str) -> Receipt:
    if len(data) > MAX_RECEIPT_BYTES:
        raise unreadable_receipt(shown, too_large(len(data), MAX_RECEIPT_BYTES))
    try:
        return Receipt.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UserError(f"{shown}: not a valid receipt ({where}: {first['msg']})") from None


def unreadable_receipt(shown: str, reason: str) -> UserError:
    """A receipt that is not a regular file, or too large: placed, and never read."""
    diagnostic = Diagnostic(shown, 1, 1, "", reason)
    return UserError(f"cannot read the receipt {shown}", [diagnostic])


def read_receipt(root: Path, upc: str, target: str) -> Receipt | None:
    """The receipt in the working tree, or None when there is none yet."""
    shown = receipt_path(upc, target)
    return read_receipt_file(root / shown, shown)


def read_receipt_file(path: Path, shown: str) -> Receipt | None:
    """The receipt at ``path`` (None when there is none); only a regular file is read."""
    try:
        data = read_regular(path, MAX_RECEIPT_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnreadableFile as exc:
        raise unreadable_receipt(shown, exc.reason) from None
    return parse_receipt(data, shown)


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
    """The receipts in ``tree``: of the given releases, or all of them. A receipt that is not a
    regular file, or is too large, stops the run (a UserError placing it)."""
    if upcs is None:
        paths = [p for p in tree.list(RECEIPTS_DIR) if _split(p)]
    else:
        paths = [p for upc in sorted(upcs) for p in tree.list(f"{RECEIPTS_DIR}/{upc}") if _split(p)]
    contents = tree.fetch(paths, MAX_RECEIPT_BYTES)
    if contents.refused:
        refused = [
            Diagnostic(path, 1, 1, "", why) for path, why in sorted(contents.refused.items())
        ]
        raise UserError("cannot read the receipts (fix or remove them)", refused)
    return _parse_all(contents.files)


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


def secret_values(settings: BaseModel) -> list[str]:
    """The values of every ``${ENV_VAR}`` a target's settings reference (to keep them out)."""
    values = []
    for value in _strings(settings.model_dump()):
        match = _SECRET_REF.match(value)
        secret = match and os.environ.get(match.group(1))
        if secret:
            values.append(secret)
    return values


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in _strings(value)]
    if isinstance(data, list | tuple):
        return [s for value in data for s in _strings(value)]
    return []


def redact(text: str, secrets: list[str]) -> str:
    """``text`` without any of ``secrets`` and without credentials embedded in URLs."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return _URL_USERINFO.sub(r"\1***@", text)


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
            texts = list(Tree.working(catalog.root).read(release_names(catalog.root)).values())
            known |= {m.group(1).decode() for text in texts for m in _UPC_LINE.finditer(text)}
        if upc in known or any(upc.encode() in text for text in texts):
            continue
        for path in sorted(upc_folder.glob("*.json")):
            shown = receipt_path(upc, path.stem)
            try:
                receipt = read_receipt_file(path, shown)
            except UserError as exc:
                if exc.diagnostics:
                    diagnostics.extend(exc.diagnostics)
                else:
                    diagnostics.error(shown, exc.message)
                continue
            if receipt is None:
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
