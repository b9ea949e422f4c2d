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
