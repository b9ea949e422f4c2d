"""Chromaprint fingerprints (pyacoustid over libchromaprint, from Debian's libchromaprint-tools),
cached by content hash, and how alike two of them are.

The audio is decoded by libsndfile and fed to libchromaprint through pyacoustid: Debian's
``fpcalc`` 1.5.1 (FFmpeg 5) exits with status 3 ("Error decoding audio frame (End of file)") at
the end of every WAV file, which pyacoustid's ``fingerprint_file`` takes for a failure.

Two fingerprints are compared the way AcoustID does: aligned frame by frame (each frame a
32-bit word for about 0.124 s of audio) at the offset where they agree best, their likeness is
one minus the share of differing bits. Re-encodings of one recording differ in a few bits per
frame; different recordings in about half.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from stardust_git.qc import cache

FINGERPRINT_VERSION = 2
"""2: frames kept as little-endian 32-bit words."""
MAX_SECONDS = 120
MAX_OFFSET = 80
"""Frames (about 10 s) either way that two fingerprints are shifted to align them."""
MIN_OVERLAP = 40
SAME_RECORDING = 0.75
"""Likeness from which two fingerprints are one recording (bit error rate at most 25 %)."""


class ChromaprintMissing(Exception):
    """libchromaprint is not installed."""


CHROMAPRINT_HINT = "install Debian's libchromaprint-tools (it brings libchromaprint1)"


def chromaprint_missing() -> bool:
    """Whether libchromaprint cannot be loaded (pyacoustid's ctypes binding)."""
    try:
        import chromaprint  # noqa: F401
    except ImportError:
        return True
    return False


@dataclass
class FingerprintStats:
    computed: int = 0
    cached: int = 0


def fingerprints(
    cache_dir: Path, paths: Sequence[Path], stats: FingerprintStats | None = None
) -> dict[Path, np.ndarray]:
    """The fingerprint of each file in ``paths`` that can be decoded, by path (computed in
    threads, several at a time: decoding and libchromaprint release the GIL). Raises
    ChromaprintMissing when one must be computed without libchromaprint."""
    stats = stats if stats is not None else FingerprintStats()
    kind, version = "fingerprint", FINGERPRINT_VERSION
    found, missing = cache.split_cached(cache_dir, kind, version, paths, _frames)
    stats.cached += len(found)
    if missing and chromaprint_missing():
        raise ChromaprintMissing(CHROMAPRINT_HINT)
    new: dict[str, bytes] = {}
    with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
        computed = pool.map(_fingerprint_file, [same[0] for same in missing.values()])
        for (md5, same), frames in zip(missing.items(), computed, strict=True):
            stats.computed += 1
            if frames is None:
                continue
            new[md5] = frames.tobytes()
            found.update((path, frames) for path in same)
    cache.write_results(cache_dir, kind, version, new)
    return found


def _frames(data: bytes) -> np.ndarray | None:
    """A cached fingerprint: its 32-bit frames, little-endian."""
    if len(data) % 4:
        return None
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def _fingerprint_file(path: Path) -> np.ndarray | None:
    import acoustid  # loaded only when a fingerprint must be computed
    import chromaprint

    try:
        info = soundfile.info(str(path))
        pcm = _pcm_blocks(path, info.samplerate)
        encoded = acoustid.fingerprint(info.samplerate, info.channels, pcm, MAX_SECONDS)
    except (acoustid.FingerprintGenerationError, soundfile.LibsndfileError, RuntimeError):
        return None
    frames, _ = chromaprint.decode_fingerprint(encoded)
    return np.array([frame & 0xFFFFFFFF for frame in frames], dtype="<u4")


def _pcm_blocks(path: Path, rate: int) -> Iterator[bytes]:
    """Interleaved 16-bit PCM, as libchromaprint takes it, a few seconds at a time."""
    for block in soundfile.blocks(str(path), rate * 5, dtype="int16", always_2d=True):
        yield block.tobytes()


def likeness(first: np.ndarray, second: np.ndarray) -> float | None:
    """One minus the bit error rate of the two fingerprints at their best alignment; None when
    either is too short to tell (a few seconds of audio)."""
    if min(len(first), len(second)) < MIN_OVERLAP:
        return None
    best = 0.0
    for offset in range(-MAX_OFFSET, MAX_OFFSET + 1):
        a = first[max(0, offset) :]
        b = second[max(0, -offset) :]
        overlap = min(len(a), len(b))
        if overlap < MIN_OVERLAP:
            continue
        differing = np.unpackbits((a[:overlap] ^ b[:overlap]).view(np.uint8)).sum()
        best = max(best, 1.0 - float(differing) / (32 * overlap))
    return best


KEY_SHIFT = 12
"""A frame's top 20 bits index it: most frames of a re-encoding keep them."""
KEY_SAMPLE = 4
MIN_SHARED_KEYS = 5
COMMON_KEY = 64
"""A key shared by more fingerprints than this (silence, a test tone) tells nothing."""


def candidate_pairs(prints: Sequence[np.ndarray]) -> set[tuple[int, int]]:
    """Index pairs of ``prints`` that share enough frame keys to be worth comparing: the whole
    catalog is indexed once, not compared pair by pair."""
    keys, owners = [], []
    for index, frames in enumerate(prints):
        unique = np.unique(frames >> KEY_SHIFT)
        sampled = unique[unique % KEY_SAMPLE == 0]
        keys.append(sampled)
        owners.append(np.full(len(sampled), index, dtype=np.int64))
    if not keys:
        return set()
    all_keys, all_owners = np.concatenate(keys), np.concatenate(owners)
    order = np.argsort(all_keys, kind="stable")
    all_keys, all_owners = all_keys[order], all_owners[order]
    bounds = np.flatnonzero(np.diff(all_keys)) + 1
    shared: dict[tuple[int, int], int] = {}
    for group in np.split(all_owners, bounds):
        if 2 <= len(group) <= COMMON_KEY:
            members = sorted(set(group.tolist()))
            for i, first in enumerate(members):
                for second in members[i + 1 :]:
                    shared[first, second] = shared.get((first, second), 0) + 1
    return {pair for pair, count in shared.items() if count >= MIN_SHARED_KEYS}
