"""What is wrong with measured audio by the limits every shop shares (a profile may be
stricter). No measuring library is imported here: validate without assets never loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stardust_git.qc.result import AudioQC

SILENCE_MAX = 10.0
"""Seconds of silence (below -60 dBFS) at either end."""
MONO_SIDE_DB = -60.0
UPSAMPLED_HIGH_BAND_DB = -90.0


def qc_findings(qc: AudioQC) -> list[str]:
    """What is wrong with measured audio, by the default limits (true peak and loudness
    limits differ by shop: profiles set them)."""
    found = []
    if qc.clipped_runs:
        found.append(
            f"clipped: {qc.clipped_runs} runs of full-scale samples (longest {qc.longest_clip})"
        )
    for end, seconds in (("starts", qc.leading_silence), ("ends", qc.trailing_silence)):
        if seconds > SILENCE_MAX:
            found.append(f"{end} with {seconds:.1f} s of silence (more than {SILENCE_MAX:g} s)")
    if qc.low_bits_zero:
        found.append("24-bit file whose low 8 bits are all zero: 16-bit audio padded")
    if qc.high_band_db is not None and qc.high_band_db < UPSAMPLED_HIGH_BAND_DB:
        found.append(f"{qc.sample_rate} Hz but nothing above 22.5 kHz: upsampled audio")
    if qc.side_db is not None and qc.side_db < MONO_SIDE_DB:
        found.append("stereo file with mono content (left and right are the same)")
    return found
