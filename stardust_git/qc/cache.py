"""Measurements of media files cached by content hash under ``.stardust-cache/media/``.

A result is stored as ``<kind>-<md5>.json`` with the version of the code that measured it, so a
file renamed or copied is not measured again and a change of the measuring code (a new
version) measures again. Finding a file's MD5 reads the whole file, so the hash is memoised
too, by path with the file's stat key (``paths/<digest of path>.json``; see
:func:`~stardust_git.fileio.stat_key`).
Every write is atomic; a read-only checkout simply runs without a cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from stardust_git import assets
from stardust_git.fileio import stat_key, write_atomic
from stardust_git.index import CACHE_DIR

MEDIA_DIR = "media"


def media_cache_dir(root: Path) -> Path:
    """The folder media measurements of the repository at ``root`` are cached in."""
    return root / CACHE_DIR / MEDIA_DIR


def content_hash(cache_dir: Path, path: Path) -> str:
    """The MD5 of ``path``, from the memo when its stat key is unchanged (asked again in one
    process, from memory: the QC and the duplicate check both ask)."""
    return _content_hash(cache_dir, path, stat_key(os.stat(path)))


@lru_cache(maxsize=65_536)
def _content_hash(cache_dir: Path, path: Path, stat: tuple[int, int, int, int]) -> str:
    key = list(stat)
    memo = cache_dir / "paths" / f"{_path_digest(path)}.json"
    found = _read_json(memo)
    if isinstance(found, dict) and found.get("stat") == key and found.get("path") == str(path):
        return str(found["md5"])
    md5 = assets.md5_file(path)
    _write_json(cache_dir, memo, {"path": str(path), "stat": key, "md5": md5})
    return md5


def read_result(cache_dir: Path, kind: str, md5: str, version: int) -> dict[str, Any] | None:
    """The cached ``kind`` measurement of the content ``md5``; None when absent or measured by
    another version of the code."""
    found = _read_json(cache_dir / f"{kind}-{md5}.json")
    if not isinstance(found, dict) or found.get("version") != version:
        return None
    data = found.get("data")
    return data if isinstance(data, dict) else None


def split_cached(
    cache_dir: Path, kind: str, version: int, paths: Sequence[Path]
) -> tuple[dict[Path, dict[str, Any]], dict[str, list[Path]]]:
    """The cached ``kind`` results of ``paths`` by path, and the contents still to measure:
    MD5 -> the paths holding it (each content is measured once, whatever its names)."""
    found: dict[Path, dict[str, Any]] = {}
    missing: dict[str, list[Path]] = {}
    for path in dict.fromkeys(paths):
        md5 = content_hash(cache_dir, path)
        data = read_result(cache_dir, kind, md5, version)
        if data is None:
            missing.setdefault(md5, []).append(path)
        else:
            found[path] = data
    return found, missing


def write_result(cache_dir: Path, kind: str, md5: str, version: int, data: dict[str, Any]) -> None:
    _write_json(cache_dir, cache_dir / f"{kind}-{md5}.json", {"version": version, "data": data})


def _path_digest(path: Path) -> str:
    return hashlib.blake2b(str(path).encode(), digest_size=16).hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _write_json(cache_dir: Path, path: Path, content: Any) -> None:
    try:
        ignore = cache_dir.parent / ".gitignore"
        if not ignore.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            ignore.write_text("*\n", encoding="utf-8")
        # Not fsynced: a lost entry is measured again, never wrong (the rename is atomic).
        write_atomic(path, json.dumps(content).encode(), durable=False)
    except OSError:
        pass
