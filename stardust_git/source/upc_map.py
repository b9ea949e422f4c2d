"""Release file path -> UPC, for every release file, without reading the whole catalog each time.

Planning one change needs every file's UPC (one UPC in two files, a live UPC no file holds any
more), and ``git grep`` over the catalog reads every file: the plan of one change would grow with
the catalog. The map is kept in ``.stardust-cache/upcs.json`` under the git tree id of the
``catalog/`` folder it was made from; another commit's map is brought up to date by the diff of
the two trees (only the changed files are read), and the working tree's by what ``git status``
reports under ``catalog/``. The first run, or a run without the cache, greps the commit once.

The UPC is read as ``git grep`` reads it (:func:`upc_in`): the first top-level ``upc:`` line with
12 or 13 digits; a file git takes for binary (a NUL byte near its start) has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from stardust_git.fileio import MAX_YAML_BYTES, write_atomic
from stardust_git.gitio import Git
from stardust_git.index import CACHE_DIR
from stardust_git.source.catalog import CATALOG_DIR, YAML_SUFFIXES
from stardust_git.source.tree import Tree

CACHE_NAME = "upcs.json"
CACHE_VERSION = 1
_UPC = re.compile(rb"^upc:[ \t\r\f\v]*[\"']?([0-9]{12,13})", re.MULTILINE)
_BINARY_PROBE = 8000
"""Git takes a file with a NUL byte in its first 8,000 bytes for binary (grep skips it)."""


def upc_in(data: bytes) -> str | None:
    """The UPC ``git grep`` finds in a release file's bytes (see the module docstring)."""
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    match = _UPC.search(data)
    return match.group(1).decode() if match else None


def held_upcs(tree: Tree, dirty: dict[str, str] | None = None) -> dict[str, str]:
    """Path -> UPC of every release file in ``tree``. For the working tree, ``dirty`` is what
    ``git status`` reports (path -> A, M or D) under ``catalog/`` at least (None: asked here)."""
    git = tree.git
    commit = tree.commit or git.resolve("HEAD")
    held = _committed(git, commit) if commit else {}
    if tree.commit is None:
        changes = git.worktree_changes([CATALOG_DIR]) if dirty is None else dirty
        _apply(held, changes, lambda paths: tree.read(paths))
    return held


def _committed(git: Git, commit: str) -> dict[str, str]:
    """The map at ``commit``: cached, brought up to date from a cached one, or grepped."""
    folder = git.tree_id(commit, CATALOG_DIR)
    if folder is None:
        return {}
    cache = git.root / CACHE_DIR / CACHE_NAME
    cached_tree, held = _read_cache(cache)
    if cached_tree == folder:
        return held
    if cached_tree is not None and git.object_exists(cached_tree):
        diff = _tree_diff(git, cached_tree, folder)
        changes = {f"{CATALOG_DIR}/{path}": status for status, path in diff}
        _apply(held, changes, lambda paths: _read_at(git, commit, paths))
    else:
        held = _grep(git, commit)
    _write_cache(cache, folder, held)
    return held


Reader = Callable[[list[str]], dict[str, bytes]]


def _apply(held: dict[str, str], changes: dict[str, str], read: Reader) -> None:
    """Update ``held`` with changed release files (D: gone; else read again with ``read``)."""
    paths = sorted(
        p for p in changes if p.startswith(f"{CATALOG_DIR}/") and p.endswith(YAML_SUFFIXES)
    )
    for path in paths:
        held.pop(path, None)
    contents = read([p for p in paths if changes[p] != "D"])
    for path, data in contents.items():
        upc = upc_in(data)
        if upc is not None:
            held[path] = upc


def _is_yaml(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES)


def _read_at(git: Git, commit: str, paths: list[str]) -> dict[str, bytes]:
    found = git.read_objects([f"{commit}:{path}" for path in paths], MAX_YAML_BYTES)
    return {spec.split(":", 1)[1]: data for spec, data in found.items()}


def _tree_diff(git: Git, old: str, new: str) -> list[tuple[str, str]]:
    """(status, path inside the trees) of every file that differs between two tree ids."""
    done = git.run("diff-tree", "-r", "-z", "--no-renames", "--name-status", old, new)
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def _grep(git: Git, commit: str) -> dict[str, str]:
    from stardust_git.checks.conflicts import release_upcs

    return release_upcs(Tree(git, commit))


def _read_cache(cache: Path) -> tuple[str | None, dict[str, str]]:
    try:
        content = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    valid = isinstance(content, dict) and content.get("version") == CACHE_VERSION
    if (
        not valid
        or not isinstance(content.get("upcs"), dict)
        or not isinstance(content.get("tree"), str)
    ):
        return None, {}
    return content["tree"], content["upcs"]


def _write_cache(cache: Path, folder: str, held: dict[str, str]) -> None:
    """Remember the map (atomically; a read-only checkout simply has no cache)."""
    data = json.dumps({"version": CACHE_VERSION, "tree": folder, "upcs": held}, sort_keys=True)
    try:
        write_atomic(cache, data.encode(), durable=False)
        (cache.parent / ".gitignore").write_text("*\n", encoding="utf-8")
    except OSError:
        return
