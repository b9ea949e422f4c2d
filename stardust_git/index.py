"""A summary of every release file for cross-file rules, cached by content hash.

Validating one changed file (the pre-commit case) must not parse the whole catalog again. Each
release file is summarised as its UPC and its tracks' (ISRC, title, duration); the summaries are
cached in ``.stardust-cache/facts.json`` keyed by the file's BLAKE2 digest, so a warm run reads
and hashes the files but parses only the ones that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stardust_git.catalog import relative, release_files
from stardust_git.models import Release
from stardust_git.models.release import parse_duration

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

CACHE_DIR = ".stardust-cache"
CACHE_FILE = "facts.json"
CACHE_VERSION = 1


@dataclass(frozen=True)
class ReleaseFacts:
    """What other files need to know about one release file."""

    path: str
    upc: str
    tracks: tuple[tuple[str, str, float], ...]


def facts_of(path: str, release: Release) -> ReleaseFacts:
    tracks = tuple((t.isrc, t.title, t.duration) for t in release.tracks)
    return ReleaseFacts(path, release.upc, tracks)


def collect_facts(
    root: Path, loaded: dict[str, ReleaseFacts], unreadable: set[str]
) -> list[ReleaseFacts]:
    """Facts of every release file other than the ``loaded`` and ``unreadable`` ones.

    The cache is refreshed with every current file, the loaded ones included, so a full run
    leaves it warm for the next one-file run.
    """
    cache = _read_cache(root)
    current: dict[str, Any] = {}
    others: list[ReleaseFacts] = []
    for path in release_files(root):
        shown = relative(root, path)
        if shown in unreadable:
            continue
        data = path.read_bytes()
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        if shown in loaded:
            facts = loaded[shown]
            current[digest] = {"upc": facts.upc, "tracks": [list(t) for t in facts.tracks]}
            continue
        entry = cache.get(digest) or _summarise(data)
        if entry is None:
            continue
        current[digest] = entry
        tracks = tuple((str(i), str(t), float(d)) for i, t, d in entry["tracks"])
        others.append(ReleaseFacts(shown, entry["upc"], tracks))
    if current.keys() != cache.keys():
        _write_cache(root, current)
    return others


def _summarise(data: bytes) -> dict[str, Any] | None:
    """UPC and tracks from raw YAML, without full validation (that file's own run reports it)."""
    try:
        document = yaml.load(data, Loader=_Loader)  # noqa: S506 - CSafeLoader is the safe loader
        upc = str(document["upc"])
        tracks = [
            [str(t["isrc"]).replace("-", "").upper(), str(t["title"]), parse_duration(t["duration"])]
            for t in document.get("tracks") or []
        ]
    except Exception:  # noqa: BLE001 - a broken file simply has no facts to offer
        return None
    return {"upc": upc, "tracks": tracks}


def _cache_path(root: Path) -> Path:
    return root / CACHE_DIR / CACHE_FILE


def _read_cache(root: Path) -> dict[str, Any]:
    try:
        content = json.loads(_cache_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(content, dict) or content.get("version") != CACHE_VERSION:
        return {}
    entries = content.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write_cache(root: Path, entries: dict[str, Any]) -> None:
    """Write atomically; a read-only checkout simply runs without a cache."""
    target = _cache_path(root)
    try:
        target.parent.mkdir(exist_ok=True)
        (target.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".facts-")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"version": CACHE_VERSION, "entries": entries}, stream)
        os.replace(temp, target)
    except OSError:
        return
