"""Catalog-level conflicts a plan must not send through, found cheaply in git.

- one UPC in two release files: the two would overwrite each other at every shop, turn by turn;
- a live UPC that no release file holds any more, its file now holding another UPC (changed in
  place): sending the new UPC would orphan the old release, live at the shop.

Both read the release files' top-level ``upc:`` lines with one ``git grep`` (no YAML parsing), and
run only when a plan has something to send.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass

from stardust_git.checks.history import orphan_message, rekeyed_message
from stardust_git.gitio import Git, GitError
from stardust_git.index import ReleaseFacts
from stardust_git.models.receipt import Delivery
from stardust_git.receipts import live_delivery, load_recorded
from stardust_git.source.catalog import CATALOG_DIR, RECEIPTS_DIR, UPC_LINE, YAML_SUFFIXES
from stardust_git.source.tree import Tree

_GREP_UPC = "^upc:[[:space:]]*[\"']?[0-9]{12,13}"
_DIGITS = re.compile(r"\d{12,13}")


def release_upcs(tree: Tree) -> dict[str, str]:
    """Release file path -> the UPC on its top-level ``upc:`` line, for every release file."""
    args = ["grep", "-z", "-o", "-E", "-e", _GREP_UPC]
    args += [tree.commit] if tree.commit else ["--untracked"]
    done = tree.git.run(*args, "--", CATALOG_DIR, check=False)
    found: dict[str, str] = {}
    prefix = f"{tree.commit}:" if tree.commit else ""
    for line in done.stdout.decode("utf-8", "surrogateescape").splitlines():
        name, _, match = line.partition("\0")
        path = name.removeprefix(prefix)
        digits = _DIGITS.search(match)
        if digits and path.endswith(YAML_SUFFIXES):
            found.setdefault(path, digits.group())
    return found


def same_upc_elsewhere(
    upcs: set[str], sending: set[str], held: dict[str, str]
) -> list[ReleaseFacts]:
    """Release files not among ``sending`` that hold one of ``upcs`` (for the cross-file rule)."""
    return [
        ReleaseFacts(path, upc, ())
        for path, upc in sorted(held.items())
        if upc in upcs and path not in sending
    ]


@dataclass(frozen=True)
class Orphan:
    """A release live at some targets whose UPC no release file holds any more."""

    upc: str
    live: dict[str, Delivery]
    """Target -> the delivery that left it live there."""
    path: str | None
    """The release file that held it when it was delivered and holds another UPC now."""

    @property
    def message(self) -> str:
        if self.path is None:
            commit = max(self.live.values(), key=lambda d: d.finished).commit
            return orphan_message(self.upc, self.live, commit)
        return rekeyed_message(self.upc, self.live)


def find_orphans(tree: Tree, held: dict[str, str]) -> list[Orphan]:
    """Live releases (by their receipts in ``tree``) that no release file holds; for each, the
    file that held it at its last delivery when that file now holds another UPC."""
    present = set(held.values())
    candidates = {upc for upc in _receipt_upcs(tree) if upc not in present}
    if not candidates:
        return []
    orphans = []
    for upc, receipts in sorted(load_recorded(tree, candidates).items()):
        live = {name: d for name, r in receipts.items() if (d := live_delivery(r)) is not None}
        if live:
            orphans.append(Orphan(upc, live, None))
    return _locate(tree, orphans, held)


def _receipt_upcs(tree: Tree) -> list[str]:
    if tree.commit:
        done = tree.git.run("ls-tree", "-z", "--name-only", tree.commit, f"{RECEIPTS_DIR}/")
        names = [n.rsplit("/", 1)[-1] for n in done.stdout.decode().split("\0") if n]
    else:
        folder = tree.root / RECEIPTS_DIR
        names = os.listdir(folder) if folder.is_dir() else []
    return [name for name in names if name.isdigit()]


def _locate(tree: Tree, orphans: list[Orphan], held: dict[str, str]) -> list[Orphan]:
    """Find each orphan's file: modified since the orphan's last delivery, and holding the
    orphan's UPC at that delivery's commit."""
    by_commit: dict[str, list[Orphan]] = defaultdict(list)
    for orphan in orphans:
        latest = max(orphan.live.values(), key=lambda d: d.finished)
        by_commit[latest.commit].append(orphan)
    located = []
    for commit, group in by_commit.items():
        then = _upcs_at(tree.git, commit, tree.commit, held)
        for orphan in group:
            path = next((p for p, upc in sorted(then.items()) if upc == orphan.upc), None)
            located.append(Orphan(orphan.upc, orphan.live, path))
    return sorted(located, key=lambda o: o.upc)


def _upcs_at(git: Git, commit: str, head: str | None, held: dict[str, str]) -> dict[str, str]:
    """Path -> UPC at ``commit`` of the release files changed since and present at head."""
    try:
        changes = git.changed_files(commit, head, (CATALOG_DIR,))
    except GitError:  # a commit gone from history (rewritten): nothing to locate
        return {}
    paths = [c.path for c in changes if c.status == "M" and c.path in held]
    found = {}
    for path, data in git.read_files(commit, paths).items():
        match = UPC_LINE.search(data)
        if match:
            found[path] = match.group(1).decode()
    return found
