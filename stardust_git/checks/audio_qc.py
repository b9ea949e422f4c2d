"""Audio QC of every track (measured once per content, see :mod:`stardust_git.qc`) and the
catalog-wide duplicate recordings: one recording under two ISRCs, two recordings under one.

The QC warnings are the defaults every shop shares (:mod:`stardust_git.qc.findings`); a
target's profile sets its shop's limits (profiles/rules_measured.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stardust_git import assets
from stardust_git.checks.assets import repository_file
from stardust_git.checks.cross_file import CheckedRelease, at_track
from stardust_git.errors import Diagnostic, Diagnostics
from stardust_git.index import ReleaseFacts
from stardust_git.models import Release
from stardust_git.qc import cache
from stardust_git.qc.findings import qc_findings
from stardust_git.qc.probes import prime_audio_probes
from stardust_git.source.catalog import Catalog, Loaded

if TYPE_CHECKING:  # the measuring libraries (scipy, numpy) load only when assets are checked
    import numpy as np


def check_audio_qc(catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    """Measure every track's audio that exists and warn of what shops reject."""
    paths = {
        index: path
        for index, track in enumerate(loaded.model.tracks)
        if (path := measurable_audio(catalog.root, track.audio)) is not None
    }
    if not paths:
        return
    from stardust_git.qc.measure import measure_assets

    measured = measure_assets(cache.media_cache_dir(catalog.root), list(paths.values()))
    for index, path in paths.items():
        result = measured[path]
        loc = ("tracks", index, "audio")
        if result.qc is None:
            message = f"'{path.name}' could not be measured: it {result.problem}"
            diagnostics.add(loaded.diagnostic(loc, message, severity="warning"))
            continue
        for message in qc_findings(result.qc):
            diagnostics.add(loaded.diagnostic(loc, message, severity="warning"))


def measurable_audio(root: Path, value: str) -> Path | None:
    """The audio file ``value`` names, when the assets check accepts it: inside the repository
    and a WAV, FLAC or MP3 that probes (otherwise that check reports it, once)."""
    path = repository_file(root, value)
    if path is None:
        return None
    try:
        assets.probe_audio(path)
    except (OSError, assets.AssetError):
        return None
    return path


@dataclass(frozen=True)
class _Track:
    release: str
    index: int
    isrc: str
    audio: str
    file: Path


def check_duplicate_recordings(
    root: Path, checked: list[CheckedRelease], others: list[ReleaseFacts]
) -> list[Diagnostic]:
    """The same recording (same file content, or alike fingerprints) under two ISRCs, and two
    different recordings under one ISRC, for every track of the ``checked`` releases against
    the whole catalog."""
    every = [release.facts for release in checked] + others
    cache_dir = cache.media_cache_dir(root)
    values = {audio for facts in every for audio in facts.audio}
    named = {audio: path for audio in values if (path := repository_file(root, audio))}
    probed = prime_audio_probes(cache_dir, named.values())
    usable = {audio: path for audio, path in named.items() if path in probed}
    tracks = [
        _Track(facts.path, index, track[0], audio, usable[audio])
        for facts in every
        for index, (track, audio) in enumerate(zip(facts.tracks, facts.audio, strict=False))
        if audio in usable
    ]
    if not tracks:
        return []
    from stardust_git.qc import fingerprint

    files = sorted(set(usable.values()), key=str)
    found: list[Diagnostic] = []
    try:
        prints = fingerprint.fingerprints(cache_dir, files)
    except fingerprint.ChromaprintMissing as missing:
        prints = {}
        where = checked[0].facts.path if checked else "catalog"
        message = f"re-encoded duplicate recordings not checked: Chromaprint is missing ({missing})"
        found.append(Diagnostic(where, field="tracks", message=message, severity="warning"))
    hashes = cache.content_hashes(cache_dir, files)
    pairs = _same_recordings(tracks, hashes, prints)
    return found + _report(checked, tracks, pairs)


def _same_recordings(
    tracks: list[_Track], hashes: dict[Path, str], prints: dict[Path, np.ndarray]
) -> dict[tuple[Path, Path], bool]:
    """For every two files worth comparing (alike fingerprints, the same content, or the same
    ISRC): whether they hold one recording."""
    from stardust_git.qc import fingerprint

    files = sorted(prints)
    candidates = fingerprint.candidate_pairs([prints[path] for path in files])
    pairs = {(files[a], files[b]) for a, b in candidates}
    for group in [*_content_groups(hashes), *_isrc_groups(tracks)]:
        ordered = sorted(group)
        pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    known: dict[tuple[Path, Path], bool] = {}
    for a, b in pairs:
        if hashes[a] == hashes[b]:
            known[a, b] = True
        elif a in prints and b in prints:
            alike = fingerprint.likeness(prints[a], prints[b])
            if alike is not None:  # too short to tell: neither reported
                known[a, b] = alike >= fingerprint.SAME_RECORDING
    return known


def _content_groups(hashes: dict[Path, str]) -> list[set[Path]]:
    """Files of one content: the exact-hash index of the catalog's audio."""
    by_hash: dict[str, set[Path]] = defaultdict(set)
    for path, md5 in hashes.items():
        by_hash[md5].add(path)
    return [files for files in by_hash.values() if len(files) > 1]


def _isrc_groups(tracks: list[_Track]) -> list[set[Path]]:
    by_isrc: dict[str, set[Path]] = defaultdict(set)
    for track in tracks:
        by_isrc[track.isrc].add(track.file)
    return [files for files in by_isrc.values() if len(files) > 1]


def _report(
    checked: list[CheckedRelease],
    tracks: list[_Track],
    pairs: dict[tuple[Path, Path], bool],
) -> list[Diagnostic]:
    by_file: dict[Path, list[_Track]] = defaultdict(list)
    for track in tracks:
        by_file[track.file].append(track)
    # one file under several tracks: compared with itself (one track alone has nothing to say)
    same_file = {(path, path): True for path, mine in by_file.items() if len(mine) > 1}
    found: list[Diagnostic] = []
    positions = {release.facts.path: release for release in checked}
    for (a, b), same in {**pairs, **same_file}.items():
        for mine in [*by_file[a], *by_file[b]]:
            if mine.release not in positions:
                continue
            other_file = b if mine.file == a else a
            for other in by_file[other_file]:
                message = _conflict(mine, other, same)
                if message and other != mine:
                    field = f"tracks[{mine.index}].audio"
                    release = positions[mine.release]
                    at = release.audio_at[mine.index]
                    found.append(at_track(release, mine.index, field, message, at))
    unique = {(d.path, d.line, d.message): d for d in found}
    return [unique[key] for key in sorted(unique)]


def _conflict(mine: _Track, other: _Track, same: bool) -> str:
    where = f"'{other.audio}' ({other.release}, track {other.index + 1})"
    if same and mine.isrc != other.isrc:
        return (
            f"'{mine.audio}' is the same recording as {where} under ISRC {other.isrc}, "
            f"not {mine.isrc}: one recording has one ISRC"
        )
    if not same and mine.isrc == other.isrc:
        return (
            f"ISRC {mine.isrc} names two different recordings: '{mine.audio}' and {where}; "
            "each recording needs its own ISRC"
        )
    return ""
