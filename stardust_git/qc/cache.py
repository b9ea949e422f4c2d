"""Measurements of media files cached by content hash in one sqlite database,
``.stardust-cache/media/media.sqlite``.

A result is kept by (kind, MD5 of the content) with the version of the code that measured it, so
a file renamed or copied is not measured again and a change of the measuring code (a new
version) measures again. Finding a file's MD5 reads the whole file, so the hash is memoised
too, by path with the file's stat key (see :func:`~stardust_git.fileio.stat_key`). Lookups
are batched: a warm run of thousands of files is a stat of each and a few queries.

Worker processes read and write the database at once: sqlite's write-ahead log and a busy
timeout keep them apart, and each process opens its own connection (never one inherited
through fork). A database that is not one (truncated, foreign) is started again; a read-only
checkout, or any other sqlite failure, runs without a cache: measured again, never wrong.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from stardust_git import assets
from stardust_git.fileio import stat_key
from stardust_git.index import CACHE_DIR

MEDIA_DIR = "media"
DB_FILE = "media.sqlite"
SCHEMA_VERSION = "1"
_CHUNK = 500
"""Values bound in one query (sqlite allows 32766; small chunks keep each query quick)."""
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS paths "
    "(path TEXT PRIMARY KEY, stat TEXT NOT NULL, md5 TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS results (kind TEXT NOT NULL, md5 TEXT NOT NULL, "
    "version INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, md5))",
)
Stat = tuple[int, int, int, int]
T = TypeVar("T")


def media_cache_dir(root: Path) -> Path:
    """The folder media measurements of the repository at ``root`` are cached in."""
    return root / CACHE_DIR / MEDIA_DIR


# --- the public, batched API ---------------------------------------------------------------


def content_hashes(cache_dir: Path, paths: Iterable[Path]) -> dict[Path, str]:
    """The MD5 of every file in ``paths``: from the memo when its stat key is unchanged,
    otherwise read (and remembered). Raises OSError for a file that cannot be read."""
    stats = {path: stat_key(os.stat(path)) for path in dict.fromkeys(paths)}
    found = {path: md5 for path in stats if (md5 := _MEMO.get((path, stats[path])))}
    missing = [path for path in stats if path not in found]
    db = _connection(cache_dir)
    for path, (stat, md5) in _memo_rows(db, missing).items():
        if stat == stats[path]:
            found[path] = md5
    new = {path: assets.md5_file(path) for path in stats if path not in found}
    found.update(new)
    _write_memo(db, [(str(path), _encode_stat(stats[path]), md5) for path, md5 in new.items()])
    if len(_MEMO) + len(stats) > MEMO_HELD:
        _MEMO.clear()  # the database holds them all: a plan of a large catalog stays flat
    _MEMO.update(((path, stats[path]), found[path]) for path in stats)
    return found


def content_hash(cache_dir: Path, path: Path) -> str:
    """The MD5 of ``path`` (see :func:`content_hashes`)."""
    return content_hashes(cache_dir, [path])[path]


def read_results(cache_dir: Path, kind: str, version: int, md5s: Iterable[str]) -> dict[str, bytes]:
    """The cached ``kind`` measurements of the contents ``md5s`` measured by ``version`` of the
    code, by MD5 (absent: not measured, or by another version)."""
    db = _connection(cache_dir)
    wanted = list(dict.fromkeys(md5s))
    if db is None or not wanted:
        return {}
    found: dict[str, bytes] = {}
    try:
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            query = (
                f"SELECT md5, data FROM results WHERE kind = ? AND version = ? AND md5 IN ({marks})"
            )
            found.update(db.execute(query, [kind, version, *chunk]).fetchall())
    except sqlite3.Error:
        return {}
    return found


def write_results(cache_dir: Path, kind: str, version: int, data: dict[str, bytes]) -> None:
    """Keep the ``kind`` measurements ``data`` (MD5 -> encoded result) of ``version``."""
    rows = [(kind, md5, version, value) for md5, value in data.items()]
    _write(_connection(cache_dir), "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)", rows)


def split_cached(
    cache_dir: Path,
    kind: str,
    version: int,
    paths: Sequence[Path],
    decode: Callable[[bytes], T | None],
    keep: bool = False,
) -> tuple[dict[Path, T], dict[str, list[Path]]]:
    """The cached ``kind`` results of ``paths`` by path (``decode``d; one it cannot decode is
    measured again), and the contents still to measure: MD5 -> the paths holding it (each
    content is measured once, whatever its names). ``keep``: results asked for again and
    again in one run (the QC: by the QC check and every profile rule) stay decoded in memory."""
    hashes = content_hashes(cache_dir, paths)
    kept = _DECODED.setdefault((cache_dir, kind, version), {}) if keep else {}
    if len(kept) + len(hashes) > MEMO_HELD:
        kept.clear()
    wanted = [md5 for md5 in hashes.values() if md5 not in kept]
    results = read_results(cache_dir, kind, version, wanted)
    decoded = {md5: decode(data) for md5, data in results.items()}
    if keep:
        kept.update((md5, value) for md5, value in decoded.items() if value is not None)
    found: dict[Path, T] = {}
    missing: dict[str, list[Path]] = {}
    for path, md5 in hashes.items():
        if (value := kept.get(md5, decoded.get(md5))) is not None:
            found[path] = value
        else:
            missing.setdefault(md5, []).append(path)
    return found, missing


def encode_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def decode_json(data: bytes) -> dict[str, Any] | None:
    """The result ``data`` holds; None when it is not a JSON object (then measured again)."""
    try:
        found = json.loads(data)
    except (ValueError, TypeError):
        return None
    return found if isinstance(found, dict) else None


def read_result(cache_dir: Path, kind: str, md5: str, version: int) -> dict[str, Any] | None:
    """The cached ``kind`` measurement of the content ``md5`` (a JSON object); None when absent
    or measured by another version of the code."""
    data = read_results(cache_dir, kind, version, [md5]).get(md5)
    return decode_json(data) if data is not None else None


def write_result(cache_dir: Path, kind: str, md5: str, version: int, data: dict[str, Any]) -> None:
    write_results(cache_dir, kind, version, {md5: encode_json(data)})


# --- the database --------------------------------------------------------------------------

MEMO_HELD = 50_000
"""Hashes (and decoded results) a process keeps at most: each release asks for its own dozen
files, so past this many the memo is started again rather than grow with the catalog."""
_MEMO: dict[tuple[Path, Stat], str] = {}
"""Hashes found in this process (the QC, the profiles and the duplicate check all ask)."""
_DECODED: dict[tuple[Path, str, int], dict[str, Any]] = {}
"""Results kept decoded in this process (``split_cached(keep=True)``), by cache, kind and
version, then MD5."""
_CONNECTIONS: dict[tuple[int, int, Path], sqlite3.Connection | None] = {}
"""Each thread's connection to each cache database (by process and thread: a forked worker and
each of deliver's lanes open their own, so one thread's transaction never meets another's);
None when the cache cannot be used."""


def _connection(cache_dir: Path) -> sqlite3.Connection | None:
    key = (os.getpid(), threading.get_ident(), cache_dir)
    if key not in _CONNECTIONS:
        _CONNECTIONS[key] = _open(cache_dir)
    return _CONNECTIONS[key]


def close_all() -> None:
    """Close this process's cache connections (tests that replace the database file)."""
    for key, db in list(_CONNECTIONS.items()):
        if key[0] == os.getpid() and db is not None:
            db.close()
    _CONNECTIONS.clear()
    _MEMO.clear()
    _DECODED.clear()


def _open(cache_dir: Path) -> sqlite3.Connection | None:
    try:
        _make_folder(cache_dir)
        return _ready(cache_dir / DB_FILE)
    except sqlite3.OperationalError:  # read-only, locked too long: no cache this run
        return None
    except sqlite3.DatabaseError:  # not a database (a truncated or foreign file): start again
        try:
            (cache_dir / DB_FILE).unlink(missing_ok=True)
            return _ready(cache_dir / DB_FILE)
        except (OSError, sqlite3.Error):
            return None
    except OSError:
        return None


def _ready(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        with _setting_up(path):
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a lost write is measured again, never wrong
            for statement in _SCHEMA:
                db.execute(statement)
            _check_version(db)
    except sqlite3.Error:
        db.close()
        raise
    return db


@contextmanager
def _setting_up(path: Path) -> Iterator[None]:
    """One connection at a time sets the database up (across processes: a lock file beside it).
    Two processes creating it at once made sqlite answer "database is locked" at once, busy
    timeout or not (switching a new file to WAL, creating the tables), and the loser measured
    without a cache: its results were never kept."""
    with open(path.with_name(path.name + ".setup-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check_version(db: sqlite3.Connection) -> None:
    """A database of another layout is emptied (its results are measured again)."""
    if _has_this_layout(db):
        return
    with _transaction(db):
        if _has_this_layout(db):  # another process set it up while this one waited to write
            return  # (emptying it now would delete what that process has written since)
        db.execute("DELETE FROM paths")
        db.execute("DELETE FROM results")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))


def _has_this_layout(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return row is not None and row[0] == SCHEMA_VERSION


def _make_folder(cache_dir: Path) -> None:
    """The cache folder, kept out of git (a .gitignore in the repository's cache folder)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    ignore = cache_dir.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")


def _memo_rows(db: sqlite3.Connection | None, paths: list[Path]) -> dict[Path, tuple[Stat, str]]:
    """The memo rows of ``paths``: stat key and MD5, by path."""
    if db is None or not paths:
        return {}
    by_name = {str(path): path for path in paths}
    found: dict[Path, tuple[Stat, str]] = {}
    try:
        for chunk in _chunks(list(by_name)):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT path, stat, md5 FROM paths WHERE path IN ({marks})"
            for name, stat, md5 in db.execute(query, chunk):
                found[by_name[name]] = (_decode_stat(stat), md5)
    except sqlite3.Error:
        return {}
    return found


def _write_memo(db: sqlite3.Connection | None, rows: list[tuple[str, str, str]]) -> None:
    _write(db, "INSERT OR REPLACE INTO paths VALUES (?, ?, ?)", rows)


def _write(db: sqlite3.Connection | None, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Run ``statement`` for every row in one transaction; a failure (read-only, disk full,
    locked too long) only leaves the cache without them."""
    if db is None or not rows:
        return
    try:
        with _transaction(db):
            db.executemany(statement, rows)
    except sqlite3.Error:
        pass


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an error (the connection is in autocommit
    mode: a reader never holds a transaction open)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _encode_stat(stat: Stat) -> str:
    return ",".join(map(str, stat))


def _decode_stat(text: str) -> Stat:
    try:
        size, mtime, ctime, inode = (int(part) for part in text.split(","))
    except ValueError:
        return (-1, -1, -1, -1)
    return (size, mtime, ctime, inode)


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
