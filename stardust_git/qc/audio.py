"""Measure decoded audio: loudness and true peak (ITU-R BS.1770-4), loudness range (EBU Tech
3342), clipping, leading and trailing silence, fake high resolution and mono content in stereo.

libsndfile (soundfile) decodes WAV, FLAC, AIFF and MP3 in blocks of a few seconds, so memory
stays bounded for any length; pyloudnorm gives the K-weighting filters, run here block by block
with their state carried over; scipy oversamples 4x for the true peak.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pyloudnorm
import soundfile
from scipy import signal

STEP_SECONDS = 0.1
"""Loudness is summed per 100 ms step: a 400 ms gating block is 4 steps (75 % overlap), a 3 s
short-term window 30 steps."""
STEPS_PER_READ = 50
CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
LRA_RELATIVE_GATE = -20.0
CLIP_RUN = 3
"""Consecutive full-scale samples that count as a clipped run."""
SILENCE_DBFS = -60.0
OVERSAMPLING = 4
PEAK_CHUNK = 4096
HIGH_BAND_HZ = 22_500.0
SPECTRUM_SIZE = 8192
_INT_SCALE = 2.0**31


@dataclass(frozen=True)
class AudioQC:
    """What was measured in one audio file (dB values are None for digital silence)."""

    sample_rate: int
    channels: int
    bit_depth: int
    """Bits per sample of integer PCM; 0 for float or lossy audio."""
    duration: float
    integrated_lufs: float | None
    loudness_range: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    clipped_runs: int
    longest_clip: int
    """Samples in the longest run of full-scale samples."""
    leading_silence: float
    trailing_silence: float
    low_bits_zero: bool
    """A 24-bit file whose low 8 bits are zero in every sample: 16-bit audio padded."""
    high_band_db: float | None
    """Energy above 22.5 kHz relative to the whole (files above 48 kHz only)."""
    side_db: float | None
    """Energy of L - R relative to L + R (stereo only): very low means mono content."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_BIT_DEPTHS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}


def measure_audio(path: str) -> AudioQC:
    """Decode ``path`` once, block by block, and measure it (raises soundfile.LibsndfileError
    or RuntimeError when libsndfile cannot decode it)."""
    info = soundfile.info(path)
    meter = _Meter(info.samplerate, info.channels, _BIT_DEPTHS.get(info.subtype, 0))
    step = round(info.samplerate * STEP_SECONDS)
    for block in soundfile.blocks(path, step * STEPS_PER_READ, dtype="int32", always_2d=True):
        meter.add(block)
    return meter.result()


@dataclass
class _ClipRuns:
    """Runs of full-scale samples per channel, carried across blocks."""

    channels: int
    open_runs: np.ndarray = field(init=False)
    runs: int = 0
    longest: int = 0

    def __post_init__(self) -> None:
        self.open_runs = np.zeros(self.channels, dtype=np.int64)

    def add(self, full_scale: np.ndarray) -> None:
        for channel in range(self.channels):
            self.open_runs[channel] = self._add_channel(full_scale[:, channel], channel)

    def _add_channel(self, mask: np.ndarray, channel: int) -> int:
        if not mask.any():
            self._close(int(self.open_runs[channel]))
            return 0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
        starts, ends = edges[::2], edges[1::2]
        lengths = ends - starts
        lengths[0] += self.open_runs[channel] if starts[0] == 0 else 0
        if starts[0] != 0:
            self._close(int(self.open_runs[channel]))
        still_open = ends[-1] == len(mask)
        for length in lengths[:-1] if still_open else lengths:
            self._close(int(length))
        return int(lengths[-1]) if still_open else 0

    def _close(self, length: int) -> None:
        if length >= CLIP_RUN:
            self.runs += 1
            self.longest = max(self.longest, length)

    def finish(self) -> None:
        for length in self.open_runs:
            self._close(int(length))
        self.open_runs[:] = 0


class _Meter:
    """Running measurements over consecutive blocks of int32 samples."""

    def __init__(self, rate: int, channels: int, bit_depth: int) -> None:
        self.rate, self.channels, self.bit_depth = rate, channels, bit_depth
        self.step = round(rate * STEP_SECONDS)
        self.sos = _k_weighting(rate)
        self.filter_state = np.zeros((self.sos.shape[0], 2, channels))
        self.step_energy: list[np.ndarray] = []
        self.frames = 0
        self.loud_first: int | None = None
        self.loud_last = 0
        self.sample_peak = 0.0
        self.true_peak = 0.0
        self.low_bits = 0
        self.clips = _ClipRuns(channels)
        self.full_scale = _full_scale(bit_depth)
        self.side = self.total = 0.0
        self.spectrum_high = self.spectrum_total = 0.0
        self.partial = np.zeros((0, channels), dtype=np.float32)

    def add(self, block: np.ndarray) -> None:
        magnitude = np.abs(block.astype(np.int64))
        if self.bit_depth == 24:
            self.low_bits |= int(np.bitwise_or.reduce(block & 0xFF00, axis=None))
        self.clips.add(magnitude >= self.full_scale)
        self._add_silence(magnitude)
        samples = block.astype(np.float32) / np.float32(_INT_SCALE)
        self._add_peaks(samples, magnitude)
        self._add_loudness(samples)
        self._add_side(samples)
        self._add_spectrum(samples)
        self.frames += len(block)

    def _add_silence(self, magnitude: np.ndarray) -> None:
        loud = np.flatnonzero(magnitude.max(axis=1) > _INT_SCALE * 10 ** (SILENCE_DBFS / 20))
        if loud.size:
            if self.loud_first is None:
                self.loud_first = self.frames + int(loud[0])
            self.loud_last = self.frames + int(loud[-1]) + 1

    def _add_peaks(self, samples: np.ndarray, magnitude: np.ndarray) -> None:
        """True peak by 4x oversampling, only of the chunks whose sample peak comes within 6 dB
        of the highest peak so far: an inter-sample peak is at most ~3 dB above its samples in
        real audio, and oversampling every sample would cost most of the whole measurement."""
        chunk_peaks = _chunk_maxima(magnitude) / _INT_SCALE
        self.sample_peak = max(self.sample_peak, float(chunk_peaks.max(initial=0.0)))
        floor = max(self.true_peak, self.sample_peak) / 2
        for index in np.flatnonzero(chunk_peaks >= floor):
            start = int(index) * PEAK_CHUNK
            self.true_peak = max(self.true_peak, _oversampled_peak(samples, start))

    def _add_loudness(self, samples: np.ndarray) -> None:
        filtered, self.filter_state = signal.sosfilt(
            self.sos, samples, axis=0, zi=self.filter_state
        )
        pending = np.concatenate((self.partial, filtered.astype(np.float32)))
        whole = len(pending) // self.step * self.step
        squares = np.square(pending[:whole], dtype=np.float64)
        self.step_energy.append(squares.reshape(-1, self.step, self.channels).mean(axis=1))
        self.partial = pending[whole:]

    def _add_side(self, samples: np.ndarray) -> None:
        if self.channels == 2:
            left, right = samples[:, 0].astype(np.float64), samples[:, 1].astype(np.float64)
            self.side += float(np.square(left - right).sum())
            self.total += float(np.square(left + right).sum())

    def _add_spectrum(self, samples: np.ndarray) -> None:
        if self.rate <= 48_000 or len(samples) < SPECTRUM_SIZE:
            return
        starts = range(0, len(samples) - SPECTRUM_SIZE, 65536)
        frames = np.stack([samples[i : i + SPECTRUM_SIZE] for i in starts])
        window = np.hanning(SPECTRUM_SIZE)[None, :, None]
        power = np.square(np.abs(np.fft.rfft(window * frames, axis=1))).sum(axis=2)
        frequencies = np.fft.rfftfreq(SPECTRUM_SIZE, 1 / self.rate)
        self.spectrum_high += float(power[:, frequencies > HIGH_BAND_HZ].sum())
        self.spectrum_total += float(power.sum())

    def result(self) -> AudioQC:
        self.clips.finish()
        energy = np.concatenate([*self.step_energy, np.zeros((0, self.channels))])
        first = self.loud_first if self.loud_first is not None else self.frames
        last = self.loud_last if self.loud_first is not None else self.frames
        return AudioQC(
            sample_rate=self.rate,
            channels=self.channels,
            bit_depth=self.bit_depth,
            duration=self.frames / self.rate,
            integrated_lufs=_integrated(energy, self.channels),
            loudness_range=_loudness_range(energy, self.channels),
            true_peak_dbtp=_db(self.true_peak, 20),
            sample_peak_dbfs=_db(self.sample_peak, 20),
            clipped_runs=self.clips.runs,
            longest_clip=self.clips.longest,
            leading_silence=first / self.rate,
            trailing_silence=(self.frames - last) / self.rate,
            low_bits_zero=self.bit_depth == 24 and self.frames > 0 and self.low_bits == 0,
            high_band_db=_ratio_db(self.spectrum_high, self.spectrum_total),
            side_db=_ratio_db(self.side, self.total) if self.channels == 2 else None,
        )


def _k_weighting(rate: int) -> np.ndarray:
    """pyloudnorm's BS.1770 K-weighting stages as second-order sections (gains folded in)."""
    stages = pyloudnorm.Meter(rate)._filters.values()
    return np.array([np.concatenate((stage.passband_gain * stage.b, stage.a)) for stage in stages])


def _full_scale(bit_depth: int) -> int:
    """The int32 magnitude of the largest positive sample of ``bit_depth`` bits (16 for lossy)."""
    bits = bit_depth if 8 <= bit_depth <= 32 else 16
    return int(_INT_SCALE) - (1 << (32 - bits))


def _chunk_maxima(magnitude: np.ndarray) -> np.ndarray:
    per_frame = magnitude.max(axis=1)
    padded = np.pad(per_frame, (0, -len(per_frame) % PEAK_CHUNK))
    return padded.reshape(-1, PEAK_CHUNK).max(axis=1).astype(np.float64)


def _oversampled_peak(samples: np.ndarray, start: int) -> float:
    """The 4x oversampled peak of one chunk, read with context on both sides: the ringing of
    the cut ends of the context is left out (it is not in the audio)."""
    context = 32
    before = min(start, context)
    end = min(len(samples), start + PEAK_CHUNK)
    after = min(len(samples) - end, context)
    piece = samples[start - before : end + after].astype(np.float64)
    upsampled = signal.resample_poly(piece, OVERSAMPLING, 1, axis=0)
    inner = upsampled[before * OVERSAMPLING : len(upsampled) - after * OVERSAMPLING]
    return float(np.abs(inner).max(initial=0.0))


def _block_loudness(energy: np.ndarray, steps: int, channels: int) -> np.ndarray:
    """Loudness of every window of ``steps`` consecutive steps (hop: one step)."""
    if len(energy) < steps:
        return np.zeros(0)
    gains = np.array(CHANNEL_GAINS[:channels] + (1.0,) * max(0, channels - 5))
    weighted = energy @ gains
    sums = np.convolve(weighted, np.ones(steps) / steps, mode="valid")
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(sums)


def _integrated(energy: np.ndarray, channels: int) -> float | None:
    """BS.1770-4 gated loudness: 400 ms blocks, absolute then relative gate."""
    loudness = _block_loudness(energy, 4, channels)
    gated = loudness[loudness >= ABSOLUTE_GATE]
    if not gated.size:
        return None
    relative = _power_mean(gated) + RELATIVE_GATE
    return round(_power_mean(gated[gated > relative]), 3)


def _loudness_range(energy: np.ndarray, channels: int) -> float | None:
    """EBU Tech 3342: 3 s short-term loudness every 100 ms, gated at -70 LUFS and -20 LU, the
    spread between its 10th and 95th percentiles."""
    short_term = _block_loudness(energy, 30, channels)
    gated = short_term[short_term >= ABSOLUTE_GATE]
    if not gated.size:
        return None
    gated = gated[gated >= _power_mean(gated) + LRA_RELATIVE_GATE]
    return round(float(np.percentile(gated, 95) - np.percentile(gated, 10)), 3)


def _power_mean(loudness: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(10 ** (loudness / 10))))


def _db(value: float, factor: int) -> float | None:
    return round(factor * math.log10(value), 3) if value > 0 else None


def _ratio_db(part: float, whole: float) -> float | None:
    if whole <= 0:
        return None
    return round(10 * math.log10(part / whole), 2) if part > 0 else -200.0
