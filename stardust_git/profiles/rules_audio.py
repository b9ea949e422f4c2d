"""Rules on the audio files as the header states them (codec, rate, depth, channels, size) and
on the durations the release states. Measured audio QC (loudness, peaks) is qc/audio.py's."""

from __future__ import annotations

from collections.abc import Iterator

from stardust_git import assets
from stardust_git.profiles.base import Finding, Loc, Params, Subject


def _audio(subject: Subject) -> Iterator[tuple[Loc, assets.AudioInfo]]:
    """Each track's audio header, where the file exists and can be read."""
    for index, track in enumerate(subject.release.tracks):
        path = subject.asset(track.audio)
        if path is None:
            continue
        try:
            yield ("tracks", index, "audio"), assets.probe_audio(path)
        except assets.AssetError:
            continue  # the assets check reports the unreadable file


class CodecParams(Params):
    allowed: list[str]
    """DDEX AudioCodecType values the shop takes: PCM (WAV), FLAC, MP3."""


def audio_codec(subject: Subject, params: CodecParams) -> Iterator[Finding]:
    """Every audio file is in a codec the shop takes."""
    for loc, info in _audio(subject):
        if info.codec not in params.allowed:
            yield Finding(loc, f"audio is {info.codec}")


class RateParams(Params):
    allowed: list[int]
    """Sample rates in Hz the shop takes."""


def audio_sample_rate(subject: Subject, params: RateParams) -> Iterator[Finding]:
    """Every audio file has a sample rate the shop takes."""
    for loc, info in _audio(subject):
        if info.sample_rate not in params.allowed:
            yield Finding(loc, f"audio is {info.sample_rate} Hz")


class DepthParams(Params):
    allowed: list[int]
    """Bits per sample the shop takes (a lossy file has none and is the codec rule's)."""


def audio_bit_depth(subject: Subject, params: DepthParams) -> Iterator[Finding]:
    """Every lossless audio file has a bit depth the shop takes."""
    for loc, info in _audio(subject):
        if info.bits_per_sample is not None and info.bits_per_sample not in params.allowed:
            yield Finding(loc, f"audio is {info.bits_per_sample}-bit")


class ChannelParams(Params):
    allowed: list[int] = [2]
    """Channel counts the shop takes."""


def audio_channels(subject: Subject, params: ChannelParams) -> Iterator[Finding]:
    """Every audio file has a channel count the shop takes."""
    for loc, info in _audio(subject):
        if info.channels not in params.allowed:
            yield Finding(loc, f"audio has {info.channels} channel(s)")


class FileSizeParams(Params):
    max_mib: float
    """Largest audio file in MiB."""


def audio_file_size(subject: Subject, params: FileSizeParams) -> Iterator[Finding]:
    """Every audio file is at most max_mib MiB."""
    for loc, info in _audio(subject):
        if info.bytes > params.max_mib * 1024 * 1024:
            yield Finding(loc, f"audio file is {info.bytes / 1024 / 1024:.1f} MiB")


class DurationParams(Params):
    min_seconds: float = 0
    """Shortest track."""
    max_seconds: float = 86_400
    """Longest track."""


def track_duration(subject: Subject, params: DurationParams) -> Iterator[Finding]:
    """Every track's stated duration lies between min and max seconds (the assets check ties
    the stated duration to the file)."""
    for index, track in enumerate(subject.release.tracks):
        if not params.min_seconds <= track.duration <= params.max_seconds:
            yield Finding(("tracks", index, "duration"), f"track is {track.duration:g} s")
