"""Generated audio of known loudness, peaks, clipping and silence for the QC tests (numpy,
written by soundfile), and musically different 'songs' for the fingerprint tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile


def sine(seconds: float, rate: int, freq: float = 997.0, level: float = 0.1) -> np.ndarray:
    """A sine of peak ``level`` (0.1 = -20 dBFS), one channel."""
    t = np.arange(round(seconds * rate)) / rate
    return level * np.sin(2 * np.pi * freq * t)


def stereo(left: np.ndarray, right: np.ndarray | None = None) -> np.ndarray:
    return np.stack([left, left if right is None else right], axis=1)


def write(path: Path, samples: np.ndarray, rate: int, subtype: str = "PCM_24") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, subtype=subtype)
    return path


def song(seed: int, seconds: float = 30.0, rate: int = 44100) -> np.ndarray:
    """Stereo chords of a random progression with noise bursts: each seed a different piece."""
    rng = np.random.default_rng(seed)
    t = np.arange(rate // 2) / rate
    parts = []
    for _ in range(round(seconds * 2)):
        root = rng.choice([220.0, 247.0, 262.0, 294.0, 330.0, 349.0, 392.0])
        chord = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1.0, 1.26, 1.5))
        burst = 0.05 * rng.standard_normal(len(t)) * (rng.random() < 0.3)
        parts.append(chord * np.exp(-3 * t) + burst)
    mono = 0.2 * np.concatenate(parts)
    return stereo(mono, 0.9 * mono)


def _quarter_rate(rate: int, level: float) -> np.ndarray:
    """A quarter-rate sine at 45 degrees: its peaks fall between samples (+3 dB over them)."""
    t = np.arange(3 * rate) / rate
    return stereo(level * np.sin(2 * np.pi * rate / 4 * t + np.pi / 4))


def _clipped(rate: int) -> np.ndarray:
    samples = stereo(sine(3, rate, 440.0), sine(3, rate, 660.0))
    samples[1000:1010] = 1.0
    return samples


def _padded(rate: int) -> np.ndarray:
    """16-bit audio in a 24-bit file: every sample's low 8 bits zero (as int32, low 16)."""
    samples = stereo(sine(3, rate, 440.0), sine(3, rate, 660.0))
    return (np.round(samples * 32767).astype(np.int32)) << 16


SIGNALS = {
    "clean": lambda rate: stereo(sine(3, rate, 440.0), sine(3, rate, 660.0)),
    "hot": lambda rate: _quarter_rate(rate, 0.99),
    "loud": lambda rate: stereo(sine(3, rate, 997.0, 0.9), sine(3, rate, 660.0, 0.9)),
    "clipped": _clipped,
    "padded": _padded,
    "gaps": lambda rate: np.concatenate(
        [np.zeros((12 * rate, 2)), stereo(sine(3, rate, 440.0), sine(3, rate, 660.0))]
    ),
    "mono": lambda rate: stereo(sine(3, rate, 440.0)),
}
"""Named signals for the profile rule cases (tests/profile_cases.yaml), 24-bit at 44.1 kHz."""


def write_signal(path: Path, name: str, rate: int = 44100) -> Path:
    return write(path, SIGNALS[name](rate), rate, "PCM_24")
