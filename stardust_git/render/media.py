"""The asset files of a release as a package needs them: checked path, technical details, MD5.

Rendering the same release again (plan, validate, deliver, benchmarks) must not re-resolve and
re-probe its files: each asset is remembered with its stat identity (device, inode, size, mtime),
so a repeat costs one ``stat`` per file and any change to the file is noticed. The MD5 comes
from the media cache's memo (:func:`~stardust_git.qc.cache.content_hash`): a file unchanged since
an earlier run is not read again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from stardust_git import assets
from stardust_git.qc.cache import content_hash, media_cache_dir
from stardust_git.render import RenderError

InfoT = TypeVar("InfoT", assets.AudioInfo, assets.ImageInfo)
Loc = tuple[str | int, ...]
MAX_REMEMBERED = 65_536


class RenderAssetError(RenderError):
    """An asset that cannot go into the package (missing, outside the repository, corrupt)."""


@dataclass(frozen=True)
class Asset(Generic[InfoT]):
    path: Path
    info: InfoT
    md5: str


Identity = tuple[int, int, int, int] | None
"""A file's device, inode, size and mtime; None when it cannot be stat'ed."""
_remembered: dict[tuple[str, str, str], tuple[Identity, Asset | str]] = {}
"""(root, value, probe) -> the file's identity and its asset, or why it cannot be one (the
message, raised again with the caller's loc: a report of a catalog without its media asks
about each missing file several times)."""


def audio_asset(root: Path, value: str, loc: Loc) -> Asset[assets.AudioInfo]:
    return _asset(root, value, loc, assets.probe_audio)


def image_asset(root: Path, value: str, loc: Loc) -> Asset[assets.ImageInfo]:
    return _asset(root, value, loc, assets.probe_image)


def _asset(root: Path, value: str, loc: Loc, probe: Callable[[Path], InfoT]) -> Asset[InfoT]:
    key = (str(root), value, probe.__name__)
    try:
        stat = os.stat(os.path.join(key[0], value))
    except OSError:
        stat = None
    identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns) if stat else None
    known = _remembered.get(key)
    if known is not None and known[0] == identity:
        return _recalled(known[1], loc)
    try:
        asset = _probed(root, value, loc, probe)
    except RenderAssetError as error:
        _remember(key, identity, error.message)
        raise
    _remember(key, identity, asset)
    return asset


def _recalled(known: Asset | str, loc: Loc) -> Asset:
    if isinstance(known, str):
        raise RenderAssetError(known, loc)
    return known


def _remember(key: tuple[str, str, str], identity: Identity, known: Asset | str) -> None:
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    _remembered[key] = (identity, known)


@lru_cache(maxsize=64)
def _resolved_root(root: str) -> Path:
    return Path(root).resolve()


def _probed(root: Path, value: str, loc: Loc, probe: Callable[[Path], InfoT]) -> Asset[InfoT]:
    base = _resolved_root(str(root))
    path = (base / value).resolve()
    if Path(value).is_absolute() or not path.is_relative_to(base):
        raise RenderAssetError(f"'{value}' is not inside the repository", loc)
    try:
        info = probe(path)
        return Asset(path, info, content_hash(media_cache_dir(base), path))
    except assets.AssetError as error:
        raise RenderAssetError(f"'{value}': {error.reason}", loc) from None
    except OSError as error:  # gone or unreadable since it was probed
        raise RenderAssetError(f"'{value}': cannot be read ({error.strerror})", loc) from None
