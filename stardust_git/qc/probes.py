"""Audio headers probed once per content, ever: :func:`stardust_git.assets.probe_audio` opens
every file (a FLAC's last frame is checked, a CRC in Python), so its results are kept in the
media cache by content hash, and handed to the in-process probe cache before a check asks."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from stat import S_ISREG

from stardust_git import assets
from stardust_git.qc import cache

PROBE_VERSION = 1
"""The version of what :func:`~stardust_git.assets.probe_audio` finds: change it with the prober."""


def prime_audio_probes(cache_dir: Path, paths: Iterable[Path]) -> dict[Path, assets.AudioInfo]:
    """Probe the audio files among ``paths``: cached probes from the media cache, the others
    now, kept. The files that probe as audio, with what they hold; the others (missing, not
    audio, corrupt) are left to the checks that report them."""
    files = [path for path in dict.fromkeys(paths) if _is_file(path)]
    try:
        found, missing = cache.split_cached(cache_dir, "probe", PROBE_VERSION, files, _decode)
    except (OSError, assets.AssetError):  # a file went away meanwhile: the checks say so
        return {}
    for path, info in found.items():
        assets.remember_audio(path, info)
    new: dict[str, bytes] = {}
    for md5, same in missing.items():
        try:
            info = assets.probe_audio(same[0])
        except assets.AssetError:
            continue  # not kept: the checks probe it again and report why
        new[md5] = cache.encode_json(dataclasses.asdict(info))
        found.update((path, info) for path in same)
        for path in same[1:]:
            assets.remember_audio(path, info)
    cache.write_results(cache_dir, "probe", PROBE_VERSION, new)
    return found


def _decode(data: bytes) -> assets.AudioInfo | None:
    found = cache.decode_json(data)
    try:
        return assets.AudioInfo(**found) if found is not None else None
    except TypeError:
        return None


def _is_file(path: Path) -> bool:
    try:
        return S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
