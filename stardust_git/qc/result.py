"""What the audio QC measured in one file: a plain record, importable without the measuring
libraries (a warm run reads every result from the cache and never loads scipy)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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

    def figures(self) -> str:
        """The measurements a person reads first, in one line."""
        shape = f"{self.bit_depth}-bit " if self.bit_depth else ""
        parts = [
            f"{shape}{self.sample_rate / 1000:g} kHz, {self.channels} ch",
            f"{_db(self.integrated_lufs)} LUFS",
            f"true peak {_db(self.true_peak_dbtp)} dBTP",
            f"LRA {_db(self.loudness_range)} LU",
        ]
        if self.clipped_runs:
            parts.append(f"{self.clipped_runs} clipped runs")
        return ", ".join(parts)


def _db(value: float | None) -> str:
    return "-inf" if value is None else f"{value:.1f}"
