"""Media headers probed once per content, ever: :func:`stardust_git.assets.probe_audio` and
:func:`~stardust_git.assets.probe_image` open every file (a FLAC's last frame is checked by a
CRC in Python, an image's end is read), so their results are kept in the media cache by
content hash, and handed to the in-process probe cache before a check asks."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

from stardust_git import assets
from stardust_git.qc import cache

PROBE_VERSION = 1
"""The version of what the probes find: change it with :mod:`stardust_git.assets`' probers."""
Info = TypeVar("Info", assets.AudioInfo, assets.ImageInfo)


def prime_audio_probes(cache_dir: Path, paths: Iterable[Path]) -> dict[Path, assets.AudioInfo]:
    """Probe the audio files among ``paths`` (see :func:`_prime`)."""
    return _prime(cache_dir, paths, "probe", assets.AudioInfo, assets.probe_audio)


def prime_image_probes(cache_dir: Path, paths: Iterable[Path]) -> dict[Path, assets.ImageInfo]:
    """Probe the images among ``paths`` (see :func:`_prime`)."""
    return _prime(cache_dir, paths, "image-probe", assets.ImageInfo, assets.probe_image)


def _prime(
    cache_dir: Path,
    paths: Iterable[Path],
    kind: str,
    info_type: type[Info],
    probe: Callable[[Path], Info],
) -> dict[Path, Info]:
    """Cached probes from the media cache, the others now, kept. The files that probe well,
    with what they hold; the others (missing, of another type, corrupt) are left to the
    checks that report them."""
    files = [path for path in dict.fromkeys(paths) if _is_file(path)]

    def decode(data: bytes) -> Info | None:
        found = cache.decode_json(data)
        return _build(info_type, found) if found is not None else None

    try:
        found, missing = cache.split_cached(cache_dir, kind, PROBE_VERSION, files, decode)
    except (OSError, assets.AssetError):  # a file went away meanwhile: the checks say so
        return {}
    for path, info in found.items():
        assets.remember_probe(path, info)
    new: dict[str, bytes] = {}
    for md5, same in missing.items():
        try:
            info = probe(same[0])
        except assets.AssetError:
            continue  # not kept: the checks probe it again and report why
        new[md5] = cache.encode_json(dataclasses.asdict(info))
        found.update((path, info) for path in same)
        for path in same[1:]:
            assets.remember_probe(path, info)
    cache.write_results(cache_dir, kind, PROBE_VERSION, new)
    return found


def _build(info_type: type[Info], found: dict[str, Any]) -> Info | None:
    try:
        return info_type(**found)
    except TypeError:  # fields of another layout: probed again
        return None


def _is_file(path: Path) -> bool:
    try:
        return S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
