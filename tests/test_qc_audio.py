"""Audio QC on generated audio with known values: BS.1770 loudness, true peak, clipping,
silence, fake high resolution, mono content in stereo; the content-hash cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from stardust_git import assets
from stardust_git.qc import audio
from stardust_git.qc.audio import measure_audio
from stardust_git.qc.findings import qc_findings
from stardust_git.qc.measure import MeasureStats, measure_assets
from tests.audiogen import sine, stereo, write

RATE = 44100


@pytest.mark.parametrize(("subtype", "suffix"), [("PCM_24", "wav"), ("PCM_16", "flac")])
def test_a_997_hz_sine_at_minus_20_dbfs_in_both_channels_measures_minus_20_lufs(
    tmp_path: Path, subtype: str, suffix: str
) -> None:
    # BS.1770-4: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS, in both 0 LKFS.
    path = write(tmp_path / f"sine.{suffix}", stereo(sine(10, RATE)), RATE, subtype)
    qc = measure_audio(str(path))
    assert qc.integrated_lufs == pytest.approx(-20.0, abs=0.5)
    assert qc.true_peak_dbtp == pytest.approx(-20.0, abs=0.2)
    assert qc.sample_peak_dbfs == pytest.approx(-20.0, abs=0.01)
    assert qc.duration == pytest.approx(10.0)


def test_a_mono_sine_reads_3_db_quieter_and_a_louder_one_louder(tmp_path: Path) -> None:
    mono = measure_audio(str(write(tmp_path / "m.wav", sine(10, 48000), 48000)))
    loud = measure_audio(str(write(tmp_path / "l.wav", sine(10, 48000, level=0.5), 48000)))
    assert mono.integrated_lufs == pytest.approx(-23.01, abs=0.5)
    assert loud.integrated_lufs == pytest.approx(-23.01 + 20 * np.log10(5), abs=0.5)


def test_an_inter_sample_peak_is_found_above_the_sample_peak(tmp_path: Path) -> None:
    # A quarter-rate sine at 45 degrees: every sample is at 0.707 of the peak between them.
    t = np.arange(10 * RATE) / RATE
    quarter = 0.9 * np.sin(2 * np.pi * RATE / 4 * t + np.pi / 4)
    qc = measure_audio(str(write(tmp_path / "isp.wav", stereo(quarter), RATE)))
    assert qc.sample_peak_dbfs == pytest.approx(20 * np.log10(0.9 * np.sqrt(0.5)), abs=0.05)
    assert qc.true_peak_dbtp == pytest.approx(20 * np.log10(0.9), abs=0.2)


def _with_full_scale_runs(runs: dict[int, int], rate: int = 8000) -> np.ndarray:
    """A quiet 16-bit sine with runs of full-scale samples: start frame -> length."""
    samples = np.round(sine(12, rate, 100.0) * 32767).astype(np.int16)
    for start, length in runs.items():
        samples[start : start + length] = 32767
    return samples


def test_clipping_counts_runs_of_three_or_more_full_scale_samples(tmp_path: Path) -> None:
    samples = _with_full_scale_runs({1000: 5, 5000: 3, 9000: 2, 20_000: 9})
    qc = measure_audio(str(write(tmp_path / "clip.wav", samples, 8000, "PCM_16")))
    assert (qc.clipped_runs, qc.longest_clip) == (3, 9)
    assert "clipped: 3 runs" in qc_findings(qc)[0]


def test_a_clipped_run_across_two_read_blocks_is_one_run(tmp_path: Path) -> None:
    block = round(8000 * audio.STEP_SECONDS) * audio.STEPS_PER_READ
    samples = _with_full_scale_runs({block - 3: 7})
    qc = measure_audio(str(write(tmp_path / "clip.wav", samples, 8000, "PCM_16")))
    assert (qc.clipped_runs, qc.longest_clip) == (1, 7)


def test_clean_audio_has_no_findings(tmp_path: Path) -> None:
    left, right = sine(12, RATE, 440.0), sine(12, RATE, 660.0)
    qc = measure_audio(str(write(tmp_path / "ok.wav", stereo(left, right), RATE)))
    assert (qc.clipped_runs, qc.low_bits_zero, qc_findings(qc)) == (0, False, [])


def test_leading_and_trailing_silence_are_measured(tmp_path: Path) -> None:
    tone = sine(5, RATE)
    samples = np.concatenate([np.zeros(2 * RATE), tone, np.zeros(round(12.5 * RATE))])
    qc = measure_audio(str(write(tmp_path / "gaps.wav", stereo(samples, samples * 0.5), RATE)))
    assert qc.leading_silence == pytest.approx(2.0, abs=0.01)
    assert qc.trailing_silence == pytest.approx(12.5, abs=0.01)
    assert qc_findings(qc) == ["ends with 12.5 s of silence (more than 10 s)"]


def test_a_24_bit_file_holding_16_bit_audio_is_fake(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = rng.uniform(-0.3, 0.3, (RATE * 3, 2))
    padded = (np.round(noise * 32767).astype(np.int32)) << 16
    fake = measure_audio(str(write(tmp_path / "fake.wav", padded, RATE, "PCM_24")))
    real = measure_audio(str(write(tmp_path / "real.wav", noise, RATE, "PCM_24")))
    assert (fake.bit_depth, fake.low_bits_zero, real.low_bits_zero) == (24, True, False)
    assert any("16-bit audio padded" in message for message in qc_findings(fake))


def test_a_96_khz_file_with_nothing_above_22_khz_is_upsampled(tmp_path: Path) -> None:
    rate = 96000
    tones = sine(5, rate, 440.0) + sine(5, rate, 15000.0)
    rng = np.random.default_rng(2)
    noise = rng.uniform(-0.2, 0.2, (5 * rate, 2))
    upsampled = measure_audio(str(write(tmp_path / "up.flac", stereo(tones), rate)))
    real = measure_audio(str(write(tmp_path / "real.flac", noise, rate)))
    assert upsampled.high_band_db is not None and upsampled.high_band_db < -90
    assert real.high_band_db is not None and real.high_band_db > -10
    assert any("upsampled" in message for message in qc_findings(upsampled))
    assert not any("upsampled" in message for message in qc_findings(real))


def test_a_stereo_file_with_the_same_left_and_right_is_mono_content(tmp_path: Path) -> None:
    left = sine(5, RATE, 440.0)
    mono = measure_audio(str(write(tmp_path / "mono.wav", stereo(left), RATE)))
    wide = measure_audio(str(write(tmp_path / "wide.wav", stereo(left, sine(5, RATE)), RATE)))
    assert mono.side_db is not None and mono.side_db < -60
    assert wide.side_db is not None and wide.side_db > -20
    assert "stereo file with mono content" in qc_findings(mono)[0]


def test_an_unchanged_asset_is_never_decoded_twice(tmp_path: Path) -> None:
    first = write(tmp_path / "a.wav", stereo(sine(3, RATE)), RATE)
    second = write(tmp_path / "b.flac", stereo(sine(3, RATE, 440.0)), RATE)
    cache_dir = tmp_path / "cache"
    cold, warm, renamed, changed = (MeasureStats() for _ in range(4))
    measured = measure_assets(cache_dir, [first, second], cold)
    again = measure_assets(cache_dir, [first, second], warm)
    shutil.copy(first, tmp_path / "copy.wav")
    measure_assets(cache_dir, [tmp_path / "copy.wav"], renamed)
    write(first, stereo(sine(3, RATE, level=0.5)), RATE)
    louder = measure_assets(cache_dir, [first], changed)
    assert (cold.decoded, warm.decoded, renamed.decoded, changed.decoded) == (2, 0, 0, 1)
    assert (warm.cached, renamed.cached) == (2, 1)
    assert again == measured
    assert louder[first].qc is not None and measured[first].qc is not None
    assert louder[first].qc.integrated_lufs > measured[first].qc.integrated_lufs + 10


def test_a_new_version_of_the_measuring_code_measures_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "a.wav", stereo(sine(2, RATE)), RATE)
    measure_assets(tmp_path / "cache", [path])
    monkeypatch.setattr("stardust_git.qc.measure.QC_VERSION", 999)
    stats = MeasureStats()
    measure_assets(tmp_path / "cache", [path], stats)
    assert stats.decoded == 1


def test_an_undecodable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "noise.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    result = measure_assets(tmp_path / "cache", [path])[path]
    assert result.qc is None and "cannot be decoded" in result.problem


def test_an_edit_that_keeps_size_and_mtime_is_measured_again(tmp_path: Path) -> None:
    path = write(tmp_path / "a.wav", stereo(sine(2, RATE)), RATE)
    cache_dir = tmp_path / "cache"
    quiet = measure_assets(cache_dir, [path])[path]
    before = path.stat()
    write(path, stereo(sine(2, RATE, level=0.5)), RATE)  # same length: same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assets.clear_cache()  # as in the next run: only the memo kept on disk remembers the file
    stats = MeasureStats()
    louder = measure_assets(cache_dir, [path], stats)[path]
    assert stats.decoded == 1
    assert louder.qc is not None and quiet.qc is not None
    assert louder.qc.integrated_lufs > quiet.qc.integrated_lufs + 10
