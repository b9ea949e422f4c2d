"""A summary of every release file for cross-file rules, kept in sqlite and looked up by code.

Validating one changed file (the pre-commit case) must not parse, or even load, the whole
catalog again. Each release file is summarised as its UPC and its tracks' (ISRC, title,
duration); the summaries are kept in ``.stardust-cache/facts.sqlite`` by path, with the file's
stat key (size, mtime, ctime, inode) and a digest of the defaults files it inherits from. The
cross-file rules then look up only the codes of the files checked (indexes by UPC and ISRC).

Which files to look at again: in a git work tree, git says which files differ from HEAD
(``git status``, untracked and ignored files included) and from the commit the index was last
brought up to date at (``git diff``), so a one-file run stats only those and the files that differed
then; git's own index makes that a few C-level stats per changed file. Outside git every file
is statted, as before. Either way a file is read again only when its stat key or defaults moved.

The stat key is git's: an edit that keeps size and mtime (``touch -r``, a tool restoring
timestamps) still moves the ctime, which no program can set back, and a file replaced by a
rename has another inode. A file whose ctime is not older than the index itself was changed in
the same clock tick as the index was written ("racily clean" in git): it is read again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stardust_git.fileio import MAX_YAML_BYTES, UnreadableFile, read_regular, stat_key
from stardust_git.gitio import Git, names_of
from stardust_git.models import Release
from stardust_git.models.release import parse_duration
from stardust_git.source import defaults as defaults_files
from stardust_git.source.catalog import CATALOG_DIR, is_release_path, no_cyclic_gc, release_names
from stardust_git.source.yamlio import YamlLoadError, load_yaml_bytes

CACHE_DIR = ".stardust-cache"
CACHE_FILE = "facts.sqlite"
CACHE_VERSION = "6"
LOOKUP_FROM = 1000
"""Up to this many checked files, the other files sharing their codes are looked up by code;
above it (a whole-catalog run), the few files not checked are read whole."""


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


@dataclass
class IndexedFacts:
    """What the index knows of the release files not checked this run."""

    sharing: list[ReleaseFacts] = field(default_factory=list)
    """Those sharing a UPC or an ISRC with a checked file (all the cross-file rules need)."""
    upcs: set[str] = field(default_factory=set)
    """Every one's UPC (only when asked for: the deleted-release check needs them)."""
    unsummarised: list[str] = field(default_factory=list)
    """Those with no facts to offer (they do not parse): only their text can say a UPC."""


def collect_facts(
    root: Path,
    loaded: dict[str, ReleaseFacts],
    unreadable: set[str],
    all_upcs: bool = False,
    everything: bool = False,
) -> IndexedFacts:
    """The index's facts of the release files other than the ``loaded`` and ``unreadable`` ones,
    brought up to date first (the loaded files' facts included, so a full run leaves it warm
    for the next one-file run). ``everything``: every other file shares (the catalog-wide
    duplicate-recordings check compares each track's audio with all others)."""
    with FactsCollector(root, loaded) as collector:
        collector.add(loaded)
        return collector.finish(unreadable, all_upcs, everything)


class FactsCollector:
    """:func:`collect_facts` in steps, for facts that arrive a share at a time (validate's
    workers): the rows of each share's files are worked out as it arrives, while the workers go
    on; everything is written at :meth:`finish`, in one transaction. Open it after forking:
    the index's connection must not be inherited."""

    def __init__(self, root: Path, checking: Iterable[str]) -> None:
        """``checking``: the release files whose facts :meth:`add` may bring."""
        self.root = root
        self.loaded: dict[str, ReleaseFacts] = {}
        self._stack = ExitStack()
        self._stack.enter_context(no_cyclic_gc())
        self.index = self._stack.enter_context(_open(root))
        self.view = _git_view(root, self.index.meta("commit"))
        self.pending = _candidates(root, self.index, self.view, set(checking))
        self.differing = self.pending if self.view.differing is None else self.view.differing
        self.cached = self.index.rows(self.pending)
        self.inherited = _DefaultsFiles(root)
        self.updated: list[Row] = []
        self.isrcs: list[tuple[str, str]] = []
        self.gone: list[str] = []

    def __enter__(self) -> FactsCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)  # type: ignore[arg-type]

    def add(self, facts: dict[str, ReleaseFacts]) -> None:
        """Facts of loaded release files: their rows are worked out now."""
        self.loaded.update(facts)
        for shown in [path for path in facts if path in self.pending]:
            self.pending.discard(shown)
            self._look_at(shown)

    def finish(self, unreadable: set[str], all_upcs: bool, everything: bool) -> IndexedFacts:
        """The rows of the other files that may have changed written, the facts looked up."""
        for shown in sorted(self.pending):
            self._look_at(shown)
        self.pending = set()
        self.updated.sort()  # written in path order, as one pass over the files wrote them
        gone = [path for path in self.gone if path in self.cached]
        _write(self.index, self.updated, self.isrcs, gone, self.view.head)
        return _query(self.index, self.loaded, unreadable, all_upcs, everything)

    def _look_at(self, shown: str) -> None:
        stat = _stat(f"{self.root}/{shown}") if is_release_path(shown) else None
        if stat is None:
            self.gone.append(shown)
            return
        known = self.cached.get(shown)
        cached = _trusted(known, self.index.written_ns)
        dirty = shown in self.differing
        row, tracks = _row(shown, stat, cached, self.loaded.get(shown), self.inherited, dirty)
        if row != known:
            self.updated.append(row)
            self.isrcs.extend((isrc, shown) for isrc in dict.fromkeys(tracks))


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


# --- the sqlite store --------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, ctime INTEGER, inode INTEGER,
    upc TEXT, tracks TEXT NOT NULL, defaults TEXT NOT NULL, dirty INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS isrcs (isrc TEXT NOT NULL, path TEXT NOT NULL);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS files_by_upc ON files (upc);
CREATE INDEX IF NOT EXISTS files_dirty ON files (path) WHERE dirty = 1;
CREATE INDEX IF NOT EXISTS isrcs_by_isrc ON isrcs (isrc);
CREATE INDEX IF NOT EXISTS isrcs_by_path ON isrcs (path);
"""
INDEX_NAMES = ("files_by_upc", "files_dirty", "isrcs_by_isrc", "isrcs_by_path")
BULK_FROM = 5000
"""Rows written at once from which the indexes are dropped and built again after the inserts:
building an index over sorted keys once costs a third of keeping it up to date row by row (a
cold 100,000-release run writes 575,000 ISRCs)."""
CACHE_KIB = 65536
"""sqlite's page cache while writing: a cold run's indexes do not fit the default 2 MiB."""
Row = tuple[Any, ...]
"""``(path, size, mtime, ctime, inode, upc, tracks JSON, defaults digest, dirty)``."""
KEY, UPC, TRACKS, DEFAULTS = slice(1, 5), 5, 6, 7


class _Index:
    """The open store, with when it was last written (racily clean files are read again)."""

    def __init__(self, connection: sqlite3.Connection | None, written_ns: int) -> None:
        self.db = connection
        self.written_ns = written_ns

    def meta(self, key: str) -> str | None:
        if self.db is None:
            return None
        found = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def rows(self, paths: Iterable[str] | None = None) -> dict[str, Row]:
        """The rows of ``paths`` (None: every row)."""
        if self.db is None:
            return {}
        if paths is None:
            return {row[0]: row for row in self.db.execute("SELECT * FROM files")}
        found: dict[str, Row] = {}
        for chunk in _chunks(list(paths)):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT * FROM files WHERE path IN ({marks})"
            found.update((row[0], row) for row in self.db.execute(query, chunk))
        return found


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@contextmanager
def _open(root: Path) -> Iterator[_Index]:
    """The index at ``root``, emptied when of another version; a read-only checkout runs with
    an empty in-memory one. What was written is committed on the way out."""
    path = root / CACHE_DIR / CACHE_FILE
    try:
        written_ns = path.stat().st_mtime_ns
    except OSError:
        written_ns = 0
    try:
        path.parent.mkdir(exist_ok=True)
        (path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        db = _connect(str(path))
        db.execute("BEGIN IMMEDIATE")  # fails now, not at the end, when it cannot be written
        db.rollback()
    except (OSError, sqlite3.Error):
        db = _connect(":memory:")
    index = _Index(db, written_ns)
    if index.meta("version") != CACHE_VERSION:
        _reset(db)
        index.written_ns = 0
    try:
        yield index
        db.commit()
    finally:
        db.close()


def _connect(where: str) -> sqlite3.Connection:
    db = sqlite3.connect(where, timeout=30, isolation_level="DEFERRED")
    try:
        db.execute("PRAGMA synchronous = OFF")  # a lost cache is rebuilt: no fsync needed
        db.executescript(SCHEMA + INDEXES)
    except sqlite3.DatabaseError:  # not a database (a truncated or foreign file): start again
        db.close()
        os.unlink(where)
        db = sqlite3.connect(where, timeout=30)
        db.executescript(SCHEMA + INDEXES)
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return db


def _reset(db: sqlite3.Connection) -> None:
    db.executescript("DELETE FROM files; DELETE FROM isrcs; DELETE FROM meta;")
    db.execute("INSERT INTO meta VALUES ('version', ?)", (CACHE_VERSION,))


# --- bringing it up to date --------------------------------------------------------------------


def _candidates(root: Path, index: _Index, view: _GitView, checking: set[str]) -> set[str]:
    """Every file that may differ from its row: all of them when git cannot say."""
    if view.changed is None:
        return set(release_names(root)) | _paths(index)
    candidates = view.changed | checking | _dirty_rows(index)
    return candidates | _below_changed_defaults(index, candidates)


def _stat(full: str) -> os.stat_result | bool | None:
    """The file's stat; False for a dangling link or a loop (the file's own load reports it);
    None when nothing is there. One system call for a file that is there."""
    try:
        return os.stat(full)
    except OSError:
        return False if os.path.lexists(full) else None


@dataclass
class _GitView:
    """What git says of the release files; all None outside a git work tree with a commit."""

    head: str | None = None
    differing: set[str] | None = None
    """Files that differ from HEAD now (tracked and changed, untracked, ignored)."""
    changed: set[str] | None = None
    """Those and the files that differ from the commit the index was last refreshed at (None:
    that commit is unknown or gone, so every file is looked at)."""


def _git_view(root: Path, since: str | None) -> _GitView:
    git = Git(root)
    done = git.run("rev-parse", "--show-toplevel", "HEAD", check=False)
    lines = done.stdout.decode("utf-8", "surrogateescape").split("\n")
    if done.returncode != 0 or len(lines) < 2 or Path(lines[0]).resolve() != root.resolve():
        return _GitView()
    view = _GitView(head=lines[1])
    view.differing = git.differing_from_head(CATALOG_DIR)
    if since == view.head:
        view.changed = set(view.differing)
    elif since:
        args = ("diff", "--name-only", "-z", "--no-renames", since, "--", CATALOG_DIR)
        found = git.run(*args, check=False)  # fails when that commit is gone (gc after a rebase)
        view.changed = view.differing | names_of(found.stdout) if found.returncode == 0 else None
    return view


def _paths(index: _Index) -> set[str]:
    assert index.db is not None
    return {row[0] for row in index.db.execute("SELECT path FROM files")}


def _dirty_rows(index: _Index) -> set[str]:
    assert index.db is not None
    return {row[0] for row in index.db.execute("SELECT path FROM files WHERE dirty = 1")}


def _below_changed_defaults(index: _Index, candidates: set[str]) -> set[str]:
    """Every row below a defaults file that changed (its inherited digest may have moved)."""
    assert index.db is not None
    found: set[str] = set()
    for changed in [p for p in candidates if defaults_files.is_defaults(p)]:
        folder = changed.rsplit("/", 1)[0] + "/"
        query = "SELECT path FROM files WHERE path >= ? AND path < ?"
        found |= {row[0] for row in index.db.execute(query, (folder, folder[:-1] + "0"))}
    return found


def _trusted(cached: Row | None, written_ns: int) -> Row | None:
    """The cached row, or None when its file may have changed in the tick the index was
    written (a ctime not older than the index file's mtime)."""
    return cached if cached is not None and cached[3] < written_ns else None


def _row(
    shown: str,
    stat: os.stat_result | bool,
    cached: Row | None,
    facts: ReleaseFacts | None,
    inherited: _DefaultsFiles,
    dirty: bool,
) -> tuple[Row, list[str]]:
    """The row of one file (upc None when it has no facts to offer) and its tracks' ISRCs.

    A file whose stat key and defaults match the cache is not read again (a checkout rewrites
    only the files it changes, so switching branches keeps the rest warm).
    """
    if not isinstance(stat, os.stat_result):  # a dangling link or a loop
        return (shown, 0, 0, 0, 0, None, "[]", "", int(dirty)), []
    digest, defaults = inherited.of(shown)
    key = stat_key(stat)
    if cached is not None and cached[KEY] == key and cached[DEFAULTS] == digest:
        return (*cached[:-1], int(dirty)), [track[0] for track in json.loads(cached[TRACKS])]
    if facts is not None:
        tracks = [[*track, audio] for track, audio in zip(facts.tracks, facts.audio, strict=True)]
        summary: dict[str, Any] | None = {"upc": facts.upc, "tracks": tracks}
    else:
        summary = _summarise(f"{inherited.root}/{shown}", defaults)
    if summary is None:
        return (shown, *key, None, "[]", digest, int(dirty)), []
    tracks = summary["tracks"]
    row = (shown, *key, summary["upc"], json.dumps(tracks), digest, int(dirty))
    return row, [track[0] for track in tracks]


def _write(
    index: _Index,
    rows: list[Row],
    isrcs: list[tuple[str, str]],
    gone: list[str],
    commit: str | None,
) -> None:
    """Replace the changed rows (and their ``(isrc, path)`` pairs) and forget the files that
    are gone."""
    assert index.db is not None
    db = index.db
    stale = [row[0] for row in rows] + gone
    for chunk in _chunks(stale):
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM files WHERE path IN ({marks})", chunk)
        db.execute(f"DELETE FROM isrcs WHERE path IN ({marks})", chunk)
    bulk = len(rows) >= BULK_FROM
    if bulk:  # in the same transaction (executescript would commit): all or nothing is written
        if not db.in_transaction:
            db.execute("BEGIN")
        for name in INDEX_NAMES:
            db.execute(f"DROP INDEX IF EXISTS {name}")
    db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO isrcs VALUES (?, ?)", isrcs)
    if bulk:
        for statement in INDEXES.strip().splitlines():
            db.execute(statement)
    if commit != index.meta("commit"):
        db.execute("DELETE FROM meta WHERE key = 'commit'")
        if commit:
            db.execute("INSERT INTO meta VALUES ('commit', ?)", (commit,))


# --- looking up ------------------------------------------------------------------------------


def _query(
    index: _Index,
    loaded: dict[str, ReleaseFacts],
    unreadable: set[str],
    all_upcs: bool,
    everything: bool,
) -> IndexedFacts:
    assert index.db is not None
    skip = set(loaded) | unreadable
    if everything or len(loaded) > LOOKUP_FROM:
        rows = list(index.rows(sorted(_paths(index) - skip)).values())  # a full run: few or none
    else:
        rows = _sharing_rows(index.db, loaded.values(), skip)
    found = IndexedFacts()
    found.sharing = [_facts(row) for row in rows if row[UPC] is not None]
    query = "SELECT path FROM files WHERE upc IS NULL"
    found.unsummarised = [row[0] for row in index.db.execute(query) if row[0] not in skip]
    if all_upcs:
        query = "SELECT path, upc FROM files WHERE upc IS NOT NULL"
        found.upcs = {upc for path, upc in index.db.execute(query) if path not in skip}
    return found


def _sharing_rows(
    db: sqlite3.Connection, checked: Iterable[ReleaseFacts], skip: set[str]
) -> list[Row]:
    """The rows of the files sharing a UPC or an ISRC with ``checked``."""
    checked = list(checked)
    upcs = sorted({facts.upc for facts in checked})
    isrcs = sorted({track[0] for facts in checked for track in facts.tracks})
    paths: set[str] = set()
    for chunk in _chunks(upcs):
        marks = ",".join("?" * len(chunk))
        paths |= {r[0] for r in db.execute(f"SELECT path FROM files WHERE upc IN ({marks})", chunk)}
    for chunk in _chunks(isrcs):
        marks = ",".join("?" * len(chunk))
        paths |= {
            r[0] for r in db.execute(f"SELECT path FROM isrcs WHERE isrc IN ({marks})", chunk)
        }
    paths -= skip
    found: list[Row] = []
    for chunk in _chunks(sorted(paths)):
        marks = ",".join("?" * len(chunk))
        found.extend(db.execute(f"SELECT * FROM files WHERE path IN ({marks})", chunk))
    return found


def _facts(row: Row) -> ReleaseFacts:
    """Facts from a row, whose tracks are ``[isrc, title, duration, audio]``."""
    stored = json.loads(row[TRACKS])
    tracks = tuple((isrc, title, float(duration)) for isrc, title, duration, _ in stored)
    return ReleaseFacts(row[0], row[UPC], tracks, tuple(track[3] for track in stored))
