"""A summary of every release file for cross-file rules, cached by each file's stat key.

Validating one changed file (the pre-commit case) must not parse the whole catalog again. Each
release file is summarised as its UPC and its tracks' (ISRC, title, duration); the summaries are
cached in ``.stardust-cache/facts.json`` by path with the file's stat key (size, mtime, ctime,
inode) and a digest of the defaults files it inherits from, so a warm run only stats the files
(and reads the few defaults files) and parses the ones that changed.

The stat key is git's: an edit that keeps size and mtime (``touch -r``, a tool restoring
timestamps) still moves the ctime, which no program can set back, and a file replaced by a
rename has another inode. A file whose ctime is not older than the cache itself was changed in
the same clock tick as the cache was written ("racily clean" in git): it is read again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stardust_git.fileio import MAX_YAML_BYTES, UnreadableFile, read_regular
from stardust_git.models import Release
from stardust_git.models.release import parse_duration
from stardust_git.source import defaults as defaults_files
from stardust_git.source.catalog import no_cyclic_gc, release_names
from stardust_git.source.yamlio import YamlLoadError, load_yaml_bytes

CACHE_DIR = ".stardust-cache"
CACHE_FILE = "facts.json"
CACHE_VERSION = 5
MAX_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ReleaseFacts:
    """What other files need to know about one release file."""

    path: str
    upc: str
    tracks: tuple[tuple[str, str, float], ...]
    audio: tuple[str, ...] = ()
    """Each track's audio file, as written (for the catalog-wide duplicate recordings)."""


def facts_of(path: str, release: Release) -> ReleaseFacts:
    tracks = tuple((t.isrc, t.title, t.duration) for t in release.tracks)
    return ReleaseFacts(path, release.upc, tracks, tuple(t.audio for t in release.tracks))


def collect_facts(
    root: Path, loaded: dict[str, ReleaseFacts], unreadable: set[str]
) -> list[ReleaseFacts]:
    """Facts of every release file other than the ``loaded`` and ``unreadable`` ones.

    The cache is refreshed with every current file, the loaded ones included, so a full run
    leaves it warm for the next one-file run.
    """
    with no_cyclic_gc():  # 100,000 entries are 700,000 lists: no collection walks them
        return _collect_facts(root, loaded, unreadable)


def _collect_facts(
    root: Path, loaded: dict[str, ReleaseFacts], unreadable: set[str]
) -> list[ReleaseFacts]:
    cache, written_ns = _read_cache(root)
    current: dict[str, Any] = {}
    others: list[ReleaseFacts] = []
    summarised = False
    inherited = _DefaultsFiles(root)
    for shown in release_names(root):
        if shown in unreadable:
            continue
        cached = cache.get(shown)
        entry = _entry(root, shown, _trusted(cached, written_ns), loaded.get(shown), inherited)
        current[shown] = entry
        if shown not in loaded:
            summarised = summarised or entry is not cached
            if entry[UPC] is not None:
                others.append(_facts(shown, entry))
    # An edited file that was validated in full this run is summarised when it is next needed;
    # rewriting 10,000 entries for it would cost more than the whole one-file check.
    if summarised or current.keys() != cache.keys():
        _write_cache(root, current)
    return others


def _facts(shown: str, entry: list[Any]) -> ReleaseFacts:
    """Facts from a cache entry, whose tracks are ``[isrc, title, duration, audio]``."""
    tracks = tuple((isrc, title, duration) for isrc, title, duration, _ in entry[TRACKS])
    return ReleaseFacts(shown, entry[UPC], tracks, tuple(track[3] for track in entry[TRACKS]))


class _DefaultsFiles:
    """The defaults files of the working tree, each read once a run: digest and top-level data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._read: dict[str, tuple[str, dict[str, Any]] | None] = {}
        self._by_folder: dict[str, tuple[str, dict[str, Any]]] = {}

    def of(self, shown: str) -> tuple[str, dict[str, Any]]:
        """A digest of the defaults ``shown`` inherits from, and their resolved top-level keys
        (the same for every file of a folder: worked out once per folder)."""
        folder = shown.rpartition("/")[0]
        if folder not in self._by_folder:
            self._by_folder[folder] = self._inherited(shown)
        return self._by_folder[folder]

    def _inherited(self, shown: str) -> tuple[str, dict[str, Any]]:
        digest = hashlib.blake2b(digest_size=16)
        merged: dict[str, Any] = {}
        for path in defaults_files.candidates(shown):
            found = self._file(path)
            if found is not None:
                digest.update(f"{path}\0{found[0]}\0".encode())
                merged.update(found[1])
        return digest.hexdigest(), merged

    def _file(self, path: str) -> tuple[str, dict[str, Any]] | None:
        if path not in self._read:
            self._read[path] = _read_defaults(self.root / path)
        return self._read[path]


def _read_defaults(full: Path) -> tuple[str, dict[str, Any]] | None:
    """A defaults file's digest and data (empty when it does not parse); None when absent."""
    try:
        data = read_regular(full, MAX_YAML_BYTES)
    except (OSError, UnreadableFile):
        return None
    try:
        parsed = load_yaml_bytes(data, "").data
    except YamlLoadError:
        parsed = {}
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    return digest, parsed if isinstance(parsed, dict) else {}


UPC, TRACKS, DEFAULTS = 4, 5, 6
"""Where an entry keeps the UPC, the tracks and the defaults digest (after the stat key)."""


def _trusted(cached: Any, written_ns: int) -> Any:
    """The cached entry, or None when its file may have changed in the tick the cache was
    written (a ctime not older than the cache file's mtime)."""
    if isinstance(cached, list) and len(cached) == 7 and cached[2] < written_ns:
        return cached
    return None


def _entry(
    root: Path,
    shown: str,
    cached: Any,
    facts: ReleaseFacts | None,
    inherited: _DefaultsFiles,
) -> list[Any]:
    """``[size, mtime_ns, ctime_ns, inode, upc, tracks, defaults digest]`` of one file; upc
    None when it has no facts to offer.

    A file whose size, modification time and defaults match the cache is not read again (a
    checkout rewrites only the files it changes, so switching branches keeps the rest warm).
    """
    full = f"{root}/{shown}"
    try:
        stat = os.stat(full)
    except OSError:  # a dangling link or a loop: the file's own load reports it
        return [0, 0, 0, 0, None, [], ""]
    digest, defaults = inherited.of(shown)
    key = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    if cached is not None and cached[:UPC] == key and cached[DEFAULTS] == digest:
        return cached
    if facts is not None:
        tracks = [[*track, audio] for track, audio in zip(facts.tracks, facts.audio, strict=True)]
        summary: dict[str, Any] | None = {"upc": facts.upc, "tracks": tracks}
    else:
        summary = _summarise(full, defaults)
    if summary is None:
        return [*key, None, [], digest]
    tracks = [list(track) for track in summary["tracks"]]
    return [*key, summary["upc"], tracks, digest]


def _summarise(full: str, defaults: dict[str, Any]) -> dict[str, Any] | None:
    """UPC and tracks from raw YAML resolved with its ``defaults``' top-level keys, without full
    validation (that file's own run reports it).

    Only a regular file within the size limit is read: a FIFO among the release files would
    otherwise block a one-file validate forever.
    """
    try:
        # The validation loader: YAML 1.1 would turn a title "No" into False, 0777 into 511.
        document = {
            **defaults,
            **load_yaml_bytes(read_regular(Path(full), MAX_YAML_BYTES), "").data,
        }
        upc = str(document["upc"])
        tracks = [
            [
                str(t["isrc"]).replace("-", "").upper(),
                str(t["title"]),
                parse_duration(t["duration"]),
                str(t.get("audio", "")),
            ]
            for t in document.get("tracks") or []
        ]
    except Exception:
        return None
    return {"upc": upc, "tracks": tracks}


def _cache_path(root: Path) -> Path:
    return root / CACHE_DIR / CACHE_FILE


def _read_cache(root: Path) -> tuple[dict[str, Any], int]:
    """The cached entries by path, and when the cache was written (its mtime, in ns)."""
    path = _cache_path(root)
    try:
        written_ns = path.stat().st_mtime_ns
        content = json.loads(read_regular(path, MAX_CACHE_BYTES))
    except (OSError, ValueError, UnreadableFile):
        return {}, 0
    if not isinstance(content, dict) or content.get("version") != CACHE_VERSION:
        return {}, 0
    entries = content.get("entries")
    return (entries, written_ns) if isinstance(entries, dict) else ({}, 0)


def _write_cache(root: Path, entries: dict[str, Any]) -> None:
    """Write atomically; a read-only checkout simply runs without a cache."""
    target = _cache_path(root)
    try:
        target.parent.mkdir(exist_ok=True)
        (target.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".facts-")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            # json.dumps runs the C encoder; json.dump to a stream encodes in Python (10x slower).
            stream.write(json.dumps({"version": CACHE_VERSION, "entries": entries}))
        os.replace(temp, target)
    except OSError:
        return
