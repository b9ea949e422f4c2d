"""Measure decoded audio: loudness and true peak (ITU-R BS.1770-4), loudness range (EBU Tech
3342), clipping, leading and trailing silence, fake high resolution and mono content in stereo.

libsndfile (soundfile) decodes WAV, FLAC, AIFF and MP3 in blocks of a few seconds, so memory
stays bounded for any length; pyloudnorm gives the K-weighting filters, run here block by block
with their state carried over; scipy oversamples 4x for the true peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyloudnorm
import soundfile
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from stardust_git.qc.result import AudioQC

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
PEAK_CHUNK = 64
PEAK_CONTEXT = 8
"""Frames either side of a chunk that its oversampling reads (the filter spans 6)."""
INTER_SAMPLE_MARGIN = 0.7
"""Chunks whose sample peak is below 0.7 (-3.1 dB) of the highest peak so far are not
oversampled: in band-limited audio an inter-sample peak is at most ~3 dB above its samples
(a quarter-rate sine at 45 degrees), and oversampling every sample would cost most of the
whole measurement."""
_PEAK_FILTER = OVERSAMPLING * signal.firwin(
    2 * 6 * OVERSAMPLING + 1, 1 / OVERSAMPLING, window=("kaiser", 5.0)
)
"""A 49-tap 4x interpolation filter (BS.1770-4's example has 48), designed as scipy's
resample_poly designs its own."""
HIGH_BAND_HZ = 22_500.0
SPECTRUM_SIZE = 8192
_INT_SCALE = 2.0**31


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

    def add(self, full_scale: np.ndarray | None) -> None:
        """``full_scale``: which samples are at full scale (None: none are)."""
        if full_scale is None:
            self.finish()
            return
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
        self.true_peak = _TruePeak(channels)
        self.low_bits = 0
        self.clips = _ClipRuns(channels)
        self.full_scale = _full_scale(bit_depth)
        self.side = self.total = 0.0
        self.spectrum_high = self.spectrum_total = 0.0
        self.partial = np.zeros((0, channels))

    def add(self, block: np.ndarray) -> None:
        if self.bit_depth == 24 and not self.low_bits:  # one sample using them settles it
            self.low_bits = int(np.bitwise_or.reduce(block & 0xFF00, axis=None))
        self._add_clipping(block)
        samples = block.astype(np.float32) * np.float32(1 / _INT_SCALE)
        frame_peaks = _frame_peaks(samples)
        self._add_silence(frame_peaks)
        self.sample_peak = max(self.sample_peak, float(frame_peaks.max(initial=0.0)))
        self.true_peak.add(samples, frame_peaks, self.sample_peak)
        self._add_loudness(samples)
        self._add_side(samples)
        self._add_spectrum(samples)
        self.frames += len(block)

    def _add_clipping(self, block: np.ndarray) -> None:
        full = self.full_scale
        if block.max(initial=0) < full and block.min(initial=0) > -full:
            self.clips.add(None)
        else:
            self.clips.add((block >= full) | (block <= -full))

    def _add_silence(self, frame_peaks: np.ndarray) -> None:
        loud = np.flatnonzero(frame_peaks > 10 ** (SILENCE_DBFS / 20))
        if loud.size:
            if self.loud_first is None:
                self.loud_first = self.frames + int(loud[0])
            self.loud_last = self.frames + int(loud[-1]) + 1

    def _add_loudness(self, samples: np.ndarray) -> None:
        filtered, self.filter_state = signal.sosfilt(
            self.sos, samples, axis=0, zi=self.filter_state
        )
        pending = np.concatenate((self.partial, filtered))
        whole = len(pending) // self.step * self.step
        squares = np.square(pending[:whole])
        self.step_energy.append(squares.reshape(-1, self.step, self.channels).mean(axis=1))
        self.partial = pending[whole:]

    def _add_side(self, samples: np.ndarray) -> None:
        if self.channels == 2:
            difference = samples[:, 0] - samples[:, 1]
            both = samples[:, 0] + samples[:, 1]
            self.side += float(np.dot(difference, difference))
            self.total += float(np.dot(both, both))

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
            true_peak_dbtp=_db(self.true_peak.finish(self.sample_peak), 20),
            sample_peak_dbfs=_db(self.sample_peak, 20),
            clipped_runs=self.clips.runs,
            longest_clip=self.clips.longest,
            leading_silence=first / self.rate,
            trailing_silence=(self.frames - last) / self.rate,
            low_bits_zero=self.bit_depth == 24 and self.frames > 0 and self.low_bits == 0,
            high_band_db=_ratio_db(self.spectrum_high, self.spectrum_total),
            side_db=_ratio_db(self.side, self.total) if self.channels == 2 else None,
        )


def _frame_peaks(samples: np.ndarray) -> np.ndarray:
    """Each frame's highest magnitude (channel by channel: numpy's max over a short last axis
    is several times slower)."""
    magnitude = np.abs(samples)
    peaks = np.ascontiguousarray(magnitude[:, 0])
    for channel in range(1, samples.shape[1]):
        np.maximum(peaks, magnitude[:, channel], out=peaks)
    return peaks


def _k_weighting(rate: int) -> np.ndarray:
    """pyloudnorm's BS.1770 K-weighting stages as second-order sections (gains folded in)."""
    stages = pyloudnorm.Meter(rate)._filters.values()
    return np.array([np.concatenate((stage.passband_gain * stage.b, stage.a)) for stage in stages])


def _full_scale(bit_depth: int) -> int:
    """The int32 magnitude of the largest positive sample of ``bit_depth`` bits (16 for lossy)."""
    bits = bit_depth if 8 <= bit_depth <= 32 else 16
    return int(_INT_SCALE) - (1 << (32 - bits))


class _TruePeak:
    """BS.1770-4 Annex 2 true peak: 4x oversampled, of the chunks that can hold the maximum.

    Each block is read with the last frames of the one before, so every chunk is oversampled
    with its real neighbours on both sides (cut ends would ring); only the file's end is cut.
    """

    def __init__(self, channels: int) -> None:
        self.carry = np.zeros((PEAK_CONTEXT, channels), dtype=np.float32)  # before the start
        self.carry_peaks = np.zeros(PEAK_CONTEXT, dtype=np.float32)
        self.peak = 0.0

    def add(self, samples: np.ndarray, frame_peaks: np.ndarray, sample_peak: float) -> None:
        """``frame_peaks``: each frame's highest magnitude."""
        joined = np.concatenate((self.carry, samples))
        peaks = np.concatenate((self.carry_peaks, frame_peaks))
        chunks = (len(joined) - 2 * PEAK_CONTEXT) // PEAK_CHUNK
        end = PEAK_CONTEXT + chunks * PEAK_CHUNK
        self._measure(joined[: end + PEAK_CONTEXT], peaks, chunks, sample_peak)
        self.carry, self.carry_peaks = joined[end - PEAK_CONTEXT :], peaks[end - PEAK_CONTEXT :]

    def finish(self, sample_peak: float) -> float:
        """The true peak, once the last frames (with silence after the file's end) are in."""
        rest = len(self.carry) - PEAK_CONTEXT
        padding = np.zeros((-rest % PEAK_CHUNK + PEAK_CONTEXT, self.carry.shape[1]), np.float32)
        joined = np.concatenate((self.carry, padding))
        peaks = np.concatenate((self.carry_peaks, padding[:, 0]))
        chunks = (len(joined) - 2 * PEAK_CONTEXT) // PEAK_CHUNK
        self._measure(joined, peaks, chunks, sample_peak)
        return max(self.peak, sample_peak)

    def _measure(
        self, joined: np.ndarray, peaks: np.ndarray, chunks: int, sample_peak: float
    ) -> None:
        if chunks <= 0:
            return
        inner = peaks[PEAK_CONTEXT : PEAK_CONTEXT + chunks * PEAK_CHUNK]
        chunk_peaks = inner.reshape(chunks, -1).max(axis=1)
        floor = INTER_SAMPLE_MARGIN * max(self.peak, sample_peak)
        chosen = np.flatnonzero(chunk_peaks >= floor) * PEAK_CHUNK
        if not chosen.size:
            return
        span = PEAK_CHUNK + 2 * PEAK_CONTEXT
        windows = sliding_window_view(joined, span, axis=0)[chosen]
        upsampled = signal.upfirdn(_PEAK_FILTER, windows, OVERSAMPLING, 1, axis=-1)
        delay = (len(_PEAK_FILTER) - 1) // 2
        start = PEAK_CONTEXT * OVERSAMPLING + delay
        kept = upsampled[..., start : start + PEAK_CHUNK * OVERSAMPLING]
        self.peak = max(self.peak, float(np.abs(kept).max()))


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
