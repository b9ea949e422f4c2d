"""Rules on measured audio (qc/audio.py, cached by content): true peak, loudness, clipping,
silence, fake high resolution, mono content in stereo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from stardust_git.profiles.base import Finding, Loc, NoParams, Params, Subject
from stardust_git.qc import cache
from stardust_git.qc.findings import MONO_SIDE_DB, UPSAMPLED_HIGH_BAND_DB

if TYPE_CHECKING:
    from stardust_git.qc.audio import AudioQC


def _measured(subject: Subject) -> Iterator[tuple[Loc, AudioQC]]:
    """Each track's measured audio, where the file exists and decodes (else other checks say)."""
    from stardust_git.qc.measure import measure_assets

    paths = {
        index: path
        for index, track in enumerate(subject.release.tracks)
        if (path := subject.asset(track.audio)) is not None
    }
    measured = measure_assets(cache.media_cache_dir(subject.root), list(paths.values()))
    for index, path in paths.items():
        if (qc := measured[path].qc) is not None:
            yield ("tracks", index, "audio"), qc


class TruePeakParams(Params):
    max_dbtp: float
    """Highest true peak (ITU-R BS.1770-4, 4x oversampled) in dBTP."""


def true_peak_max(subject: Subject, params: TruePeakParams) -> Iterator[Finding]:
    """Every track's true peak is at most max_dbtp."""
    for loc, qc in _measured(subject):
        peak = qc.true_peak_dbtp
        if peak is not None and peak > params.max_dbtp:
            yield Finding(loc, f"true peak {peak:+.2f} dBTP")


class LoudnessParams(Params):
    min_lufs: float = -70.0
    max_lufs: float = 0.0
    """Integrated loudness window (ITU-R BS.1770-4 gated) in LUFS."""


def loudness(subject: Subject, params: LoudnessParams) -> Iterator[Finding]:
    """Every track's integrated loudness lies between min_lufs and max_lufs."""
    for loc, qc in _measured(subject):
        lufs = qc.integrated_lufs
        if lufs is not None and not params.min_lufs <= lufs <= params.max_lufs:
            yield Finding(loc, f"integrated loudness {lufs:.1f} LUFS")


class ClippingParams(Params):
    max_runs: int = 0
    """Runs of 3 or more full-scale samples allowed per file."""


def clipping(subject: Subject, params: ClippingParams) -> Iterator[Finding]:
    """No track has more than max_runs clipped runs."""
    for loc, qc in _measured(subject):
        runs = qc.clipped_runs
        if runs > params.max_runs:
            yield Finding(loc, f"{runs} clipped runs (longest {qc.longest_clip} samples)")


class SilenceParams(Params):
    max_seconds: float
    """Longest silence (below -60 dBFS) at the start or at the end of a track."""


def silence_max(subject: Subject, params: SilenceParams) -> Iterator[Finding]:
    """No track starts or ends with more than max_seconds of silence."""
    for loc, qc in _measured(subject):
        longest = max(qc.leading_silence, qc.trailing_silence)
        if longest > params.max_seconds:
            yield Finding(loc, f"{longest:.1f} s of silence at an end")


def fake_hi_res(subject: Subject, params: NoParams) -> Iterator[Finding]:
    """No track is padded or upsampled: 24-bit with the low 8 bits zero, or above 48 kHz with
    nothing above 22.5 kHz."""
    for loc, qc in _measured(subject):
        if qc.low_bits_zero:
            yield Finding(loc, "24-bit file holding 16-bit audio")
        high = qc.high_band_db
        if high is not None and high < UPSAMPLED_HIGH_BAND_DB:
            yield Finding(loc, f"{qc.sample_rate} Hz with nothing above 22.5 kHz")


def mono_in_stereo(subject: Subject, params: NoParams) -> Iterator[Finding]:
    """No stereo track holds mono content (left and right the same)."""
    for loc, qc in _measured(subject):
        side = qc.side_db
        if side is not None and side < MONO_SIDE_DB:
            yield Finding(loc, "stereo file with mono content")
