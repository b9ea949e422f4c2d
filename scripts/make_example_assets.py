"""Generate the example catalog's media files under assets/<UPC>/ (deterministically).

Every run writes the same bytes: audio is synthesised with integer arithmetic only (a sine
table built once, integer phase accumulators, seeded integer noise), images from integer
gradients, and no writer stores a timestamp. WAV goes through the stdlib ``wave`` module, FLAC
and MP3 through ``soundfile`` (its wheel ships libsndfile with libFLAC and LAME), JPEG and PNG
through Pillow.

    python scripts/make_example_assets.py [--out DIR]

Tests import the writer functions from this file (see tests/media.py).
"""

from __future__ import annotations

import argparse
import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image
from stdnum import ean

REPO_ROOT = Path(__file__).resolve().parents[1]
COVER_SIZE = 3000
JPEG_QUALITY = 88

_TABLE_BITS = 12
_TABLE_SIZE = 1 << _TABLE_BITS
_PHASE_FRACTION_BITS = 20
_FULL_SCALE = 32767
_SINE_TABLE = np.array(
    [round(_FULL_SCALE * math.sin(2 * math.pi * i / _TABLE_SIZE)) for i in range(_TABLE_SIZE)],
    dtype=np.int64,
)
# I - V - vi - IV as (numerator, denominator) ratios of the root, each a just major/minor triad
_PROGRESSION = (
    ((1, 1), (5, 4), (3, 2)),
    ((3, 2), (15, 8), (9, 4)),
    ((5, 3), (2, 1), (5, 2)),
    ((4, 3), (5, 3), (2, 1)),
)
_CHORD_SECONDS = 2
_BEAT_SECONDS = 0.5


# --- audio synthesis -----------------------------------------------------------------------


def _tone(freq: float, frames: int, rate: int) -> np.ndarray:
    """A full-scale sine at ``freq`` Hz as int64 samples, from the table (no libm per sample)."""
    step = round(freq * _TABLE_SIZE * (1 << _PHASE_FRACTION_BITS) / rate)
    phase = (np.arange(frames, dtype=np.int64) * step) >> _PHASE_FRACTION_BITS
    return _SINE_TABLE[phase & (_TABLE_SIZE - 1)]


def _chord_envelope(frames: int, rate: int) -> np.ndarray:
    """Per-chord envelope in 1/1024 units: 10 ms attack, then a slow decay to half."""
    segment = _CHORD_SECONDS * rate
    attack = max(rate // 100, 1)
    position = np.arange(frames, dtype=np.int64) % segment
    return np.minimum(position * 1024 // attack, 1024) - position * 512 // segment


def _hi_hat(frames: int, rate: int, seed: int) -> np.ndarray:
    """Short decaying noise bursts on every beat, in sample units."""
    beat = max(round(_BEAT_SECONDS * rate), 1)
    burst = max(rate * 40 // 1000, 1)
    position = np.arange(frames, dtype=np.int64) % beat
    level = np.maximum(burst - position, 0) * 2000 // burst
    noise = np.random.default_rng(seed).integers(-1024, 1025, size=frames, dtype=np.int64)
    return noise * level // 1024


def synthesize(seconds: float, rate: int, channels: int, freq: float, seed: int = 0) -> np.ndarray:
    """A chord progression on ``freq`` with a noise hi-hat, as int16 of shape (frames, channels)."""
    frames = round(seconds * rate)
    chord_index = (np.arange(frames, dtype=np.int64) // (_CHORD_SECONDS * rate)) % len(_PROGRESSION)
    envelope = _chord_envelope(frames, rate)
    columns = []
    for channel in range(channels):
        mixed = np.zeros(frames, dtype=np.int64)
        for index, chord in enumerate(_PROGRESSION):
            in_chord = chord_index == index
            for voice, (numerator, denominator) in enumerate(chord):
                weight = 3 if (voice + channel) % len(chord) == 0 else 2  # pans voices apart
                mixed += in_chord * weight * _tone(freq * numerator / denominator, frames, rate)
        mixed = mixed * envelope // (1024 * 14) + _hi_hat(frames, rate, seed + channel)
        columns.append(np.clip(mixed, -_FULL_SCALE, _FULL_SCALE))
    return np.stack(columns, axis=1).astype(np.int16)


# --- audio writers -------------------------------------------------------------------------


def write_wav(
    path: Path,
    seconds: float,
    rate: int = 8000,
    channels: int = 1,
    bits: int = 16,
    freq: float = 440.0,
    seed: int = 0,
) -> Path:
    """A PCM WAV (8-bit unsigned or 16-bit signed) of exactly round(seconds * rate) frames."""
    samples = synthesize(seconds, rate, channels, freq, seed)
    if bits == 8:
        data = ((samples.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    elif bits == 16:
        data = samples.astype("<i2").tobytes()
    else:
        raise ValueError(f"write_wav supports 8 or 16 bits, not {bits}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(bits // 8)
        out.setframerate(rate)
        out.writeframes(data)
    return path


def write_flac(
    path: Path,
    seconds: float,
    rate: int = 44100,
    channels: int = 2,
    bits: int = 16,
    freq: float = 440.0,
    seed: int = 0,
) -> Path:
    """A FLAC (16- or 24-bit) of exactly round(seconds * rate) frames."""
    samples = synthesize(seconds, rate, channels, freq, seed)
    subtypes = {16: "PCM_16", 24: "PCM_24"}
    if bits not in subtypes:
        raise ValueError(f"write_flac supports 16 or 24 bits, not {bits}")
    data = samples if bits == 16 else samples.astype(np.int32) << 16
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, data, rate, subtype=subtypes[bits], format="FLAC")
    return path


def write_mp3(
    path: Path,
    seconds: float,
    rate: int = 44100,
    channels: int = 2,
    freq: float = 440.0,
    seed: int = 0,
) -> Path:
    """An MP3 (LAME VBR, with a LAME header so its exact length is known)."""
    samples = synthesize(seconds, rate, channels, freq, seed)
    # libsndfile's MP3 encoder gives different bytes run to run for int16 stereo input, but
    # not for float input; int16 / 32768 is exact in float32, so nothing else changes
    as_float = samples.astype(np.float32) / 32768
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, as_float, rate, format="MP3", subtype="MPEG_LAYER_III")
    return path


# --- image writers -------------------------------------------------------------------------


def cover_pixels(size: int, seed: int = 0) -> np.ndarray:
    """An RGB uint8 artwork: crossed gradients under ten soft concentric rings, tinted by seed."""
    axis = np.arange(size, dtype=np.int32)
    x, y = axis[np.newaxis, :], axis[:, np.newaxis]
    span = max(size - 1, 1)
    centre = size // 2
    ring_width = max(size // 10, 2)
    # float64 sqrt is correctly rounded (IEEE 754), so the rings are the same on every machine
    radius = np.sqrt(((x - centre) ** 2 + (y - centre) ** 2).astype(np.float64)).astype(np.int32)
    rings = np.abs(radius % ring_width - ring_width // 2) * 128 // ring_width  # 0..64, no edges
    tint = [(seed * 53 + offset) % 64 for offset in (0, 21, 42)]
    gradients = (x * 120 // span, y * 120 // span, (x + y) * 60 // span)
    turn = seed % 3  # a different colour scheme per seed
    gradients = gradients[turn:] + gradients[:turn]
    planes = [gradient + rings + shift for gradient, shift in zip(gradients, tint, strict=True)]
    return np.stack(planes, axis=2).astype(np.uint8)  # each plane stays within 0..247


def write_jpeg(path: Path, size: int = COVER_SIZE, seed: int = 0) -> Path:
    """A baseline (non-progressive) RGB JPEG of size x size pixels."""
    image = Image.fromarray(cover_pixels(size, seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", quality=JPEG_QUALITY, progressive=False, optimize=True)
    return path


def write_png(path: Path, size: int = COVER_SIZE, seed: int = 0) -> Path:
    """An RGB PNG of size x size pixels (no tIME chunk: Pillow writes none)."""
    posterized = cover_pixels(size, seed) & 0xF0  # flat bands keep the PNG small
    image = Image.fromarray(posterized)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", compress_level=6)
    return path


# --- the example catalog -------------------------------------------------------------------


@dataclass(frozen=True)
class TrackAsset:
    name: str  # file name under assets/<UPC>/, e.g. 01.wav
    seconds: int
    freq: float


@dataclass(frozen=True)
class ReleaseAssets:
    upc: str
    cover: str  # cover.jpg or cover.png
    tracks: tuple[TrackAsset, ...]


def _album_tracks() -> tuple[TrackAsset, ...]:
    # a rising chromatic scale of roots from A3, alternating 2 s and 3 s tracks
    return tuple(
        TrackAsset(f"{number:02}.flac", 2 + number % 2, 220.0 * 2 ** ((number - 1) / 12))
        for number in range(1, 13)
    )


RELEASES: tuple[ReleaseAssets, ...] = (
    # the product spec's contract example, "Summer Vibes EP"
    ReleaseAssets(
        "1234567890128",
        "cover.jpg",
        (TrackAsset("01.wav", 215, 220.0), TrackAsset("02.wav", 189, 261.63)),
    ),
    ReleaseAssets("5060236631114", "cover.jpg", (TrackAsset("01.flac", 3, 329.63),)),
    ReleaseAssets("0885686123454", "cover.jpg", _album_tracks()),
    ReleaseAssets(
        "4250123456789",
        "cover.png",
        (TrackAsset("01.mp3", 4, 196.0), TrackAsset("02.mp3", 3, 293.66)),
    ),
)

# WAVs are 8 kHz mono 8-bit to keep the 404 s of the contract example small in git;
# FLAC and MP3 are CD-like (44.1 kHz, 16-bit, stereo).
_AUDIO_WRITERS = {
    ".wav": lambda path, track, seed: write_wav(
        path, track.seconds, rate=8000, channels=1, bits=8, freq=track.freq, seed=seed
    ),
    ".flac": lambda path, track, seed: write_flac(
        path, track.seconds, rate=44100, channels=2, bits=16, freq=track.freq, seed=seed
    ),
    ".mp3": lambda path, track, seed: write_mp3(
        path, track.seconds, rate=44100, channels=2, freq=track.freq, seed=seed
    ),
}
_COVER_WRITERS = {".jpg": write_jpeg, ".png": write_png}


def write_release(release: ReleaseAssets, out: Path) -> list[Path]:
    """Write one release's cover and audio under ``out/<UPC>/``; return the paths written."""
    if not ean.is_valid(release.upc):
        raise ValueError(f"{release.upc} is not a valid UPC/EAN (check digit)")
    folder = out / release.upc
    release_seed = int(release.upc) % 1000
    cover = folder / release.cover
    written = [_COVER_WRITERS[cover.suffix](cover, COVER_SIZE, release_seed)]
    for number, track in enumerate(release.tracks, start=1):
        audio = folder / track.name
        written.append(_AUDIO_WRITERS[audio.suffix](audio, track, release_seed * 100 + number))
    return written


def write_all(out: Path) -> list[Path]:
    """Write every example release's media under ``out``."""
    return [path for release in RELEASES for path in write_release(release, out)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "assets", help="default: assets/")
    args = parser.parse_args(argv)
    written = write_all(args.out)
    for path in written:
        print(f"{path.stat().st_size:>10}  {path.relative_to(args.out)}")
    total = sum(path.stat().st_size for path in written)
    print(f"{total:>10}  total ({total / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
