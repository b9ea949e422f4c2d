"""stardust_git.assets on real media files, and the example asset generator."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import mutagen.id3
import pytest
from PIL import Image
from stdnum import ean

from stardust_git import assets
from stardust_git.assets import AssetError, probe_audio, probe_image, sniff_type
from tests.media import (
    ASSETS_DIR,
    GENERATOR_PATH,
    generator,
    write_flac,
    write_jpeg,
    write_mp3,
    write_png,
    write_wav,
)

CONTRACT = ASSETS_DIR / "1234567890128"
ALBUM = ASSETS_DIR / "0885686123454"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    assets.clear_cache()


# --- sniffing ------------------------------------------------------------------------------

WRITERS: dict[str, Callable[[Path], Path]] = {
    "wav": lambda path: write_wav(path, 0.5),
    "flac": lambda path: write_flac(path, 0.5),
    "mp3": lambda path: write_mp3(path, 0.5),
    "jpeg": lambda path: write_jpeg(path, 64),
    "png": lambda path: write_png(path, 64),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_sniff_recognises_each_kind_whatever_its_name(tmp_path: Path, kind: str) -> None:
    path = WRITERS[kind](tmp_path / "file.bin")
    assert sniff_type(path) == kind


def test_a_jpeg_named_wav_is_sniffed_as_jpeg_and_refused_as_audio(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "01.wav", 64)
    assert sniff_type(path) == "jpeg"
    with pytest.raises(AssetError) as caught:
        probe_audio(path)
    assert caught.value.reason == "not a WAV, FLAC or MP3 file (it is a JPEG file)"


def test_a_wav_named_png_is_refused_as_an_image(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cover.png", 0.2)
    with pytest.raises(AssetError, match=r"not a JPEG or PNG file \(it is a WAV file\)"):
        probe_image(path)


def test_an_mp3_behind_a_large_id3_tag_is_sniffed_and_probed(tmp_path: Path) -> None:
    path = write_mp3(tmp_path / "tagged.mp3", 2.0)
    tag = mutagen.id3.ID3()
    tag.add(mutagen.id3.TIT2(encoding=3, text="Tagged"))
    tag.add(mutagen.id3.APIC(encoding=3, mime="image/jpeg", type=3, data=b"\x00\xff" * 20000))
    tag.save(path)
    assert path.read_bytes().startswith(b"ID3")
    assert sniff_type(path) == "mp3"
    assert probe_audio(path).duration == pytest.approx(2.0, abs=0.03)


EMPTY_ID3_TAG = b"ID3\x04\x00\x00\x00\x00\x00\x00"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"RIFF",
        b"hello, world\n" * 10,
        b"ID3\x04\x00\x00",
        EMPTY_ID3_TAG + b"\x89PNG\r\n\x1a\n" + bytes(40),  # only MP3 and FLAC sit behind ID3
        b"\xff\xf1\x50\x80" + bytes(60),  # an AAC (ADTS) frame header, not MPEG Layer III
    ],
)
def test_sniff_returns_none_for_anything_else(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "unknown.wav"
    path.write_bytes(content)
    assert sniff_type(path) is None


# --- audio details -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "seconds"), [("01.wav", 215), ("02.wav", 189)])
def test_contract_wavs_last_exactly_as_the_catalog_says(name: str, seconds: int) -> None:
    info = probe_audio(CONTRACT / name)
    assert info.duration == pytest.approx(seconds, abs=0.01)
    assert (info.kind, info.codec, info.sample_rate, info.channels) == ("wav", "PCM", 8000, 1)
    assert info.bits_per_sample == 8
    assert info.bytes == (CONTRACT / name).stat().st_size


def test_wav_details_are_read_from_the_file(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stereo.wav", 1.5, rate=22050, channels=2, bits=16)
    info = probe_audio(path)
    assert (info.codec, info.sample_rate, info.bits_per_sample, info.channels) == (
        "PCM",
        22050,
        16,
        2,
    )
    assert info.duration == pytest.approx(1.5, abs=1e-9)
    assert info.bytes == 44 + 33075 * 2 * 2


def test_flac_details_are_read_from_the_file(tmp_path: Path) -> None:
    path = write_flac(tmp_path / "hi-res.flac", 1.5, rate=48000, channels=1, bits=24, freq=330.0)
    info = probe_audio(path)
    assert (info.kind, info.codec) == ("flac", "FLAC")
    assert (info.sample_rate, info.bits_per_sample, info.channels) == (48000, 24, 1)
    assert info.duration == pytest.approx(1.5, abs=1e-9)
    assert info.bytes == path.stat().st_size


def test_example_album_flacs_are_cd_quality_and_of_their_catalog_lengths() -> None:
    flacs = sorted(ALBUM.glob("*.flac"))
    assert [path.name for path in flacs] == [f"{number:02}.flac" for number in range(1, 13)]
    for number, path in enumerate(flacs, start=1):
        info = probe_audio(path)
        assert (info.sample_rate, info.bits_per_sample, info.channels) == (44100, 16, 2)
        assert info.duration == pytest.approx(2 + number % 2, abs=1e-9)


def test_mp3_details_are_read_from_the_file(tmp_path: Path) -> None:
    path = write_mp3(tmp_path / "song.mp3", 3.0, rate=44100, channels=1)
    info = probe_audio(path)
    assert (info.kind, info.codec, info.sample_rate, info.channels) == ("mp3", "MP3", 44100, 1)
    assert info.bits_per_sample is None
    assert info.duration == pytest.approx(3.0, abs=0.03)


def test_generated_audio_is_not_silence(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "tone.wav", 1.0, bits=16)
    samples = memoryview(path.read_bytes()[44:]).cast("h")
    assert max(samples) > 8000
    assert min(samples) < -8000
    assert len(set(samples)) > 1000


# --- images --------------------------------------------------------------------------------


def test_image_dimensions_and_mode_come_from_the_header(tmp_path: Path) -> None:
    jpeg = tmp_path / "wide.jpg"
    Image.new("CMYK", (1200, 700), (0, 80, 160, 20)).save(jpeg, format="JPEG")
    png = tmp_path / "tall.png"
    Image.new("RGBA", (300, 1400), (10, 20, 30, 255)).save(png, format="PNG")
    assert probe_image(jpeg) == assets.ImageInfo(
        "jpeg", "JPEG", 1200, 700, jpeg.stat().st_size, "CMYK"
    )
    assert probe_image(png) == assets.ImageInfo("png", "PNG", 300, 1400, png.stat().st_size, "RGBA")


@pytest.mark.parametrize("cover", sorted(ASSETS_DIR.glob("*/cover.*")), ids=lambda p: p.parent.name)
def test_example_covers_are_3000_square_rgb_and_jpegs_are_baseline(cover: Path) -> None:
    info = probe_image(cover)
    assert (info.width, info.height, info.mode) == (3000, 3000, "RGB")
    assert info.codec == {".jpg": "JPEG", ".png": "PNG"}[cover.suffix]
    if info.codec == "JPEG":
        assert 150_000 < info.bytes < 450_000
        with Image.open(cover) as image:
            assert not image.info.get("progressive")
            assert not image.info.get("progression")


# --- MD5 and the cache ---------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 1000, 1 << 20])
def test_md5_equals_hashlib_over_the_whole_file(chunk: int) -> None:
    path = CONTRACT / "01.wav"
    if chunk == 1:
        path = CONTRACT / "cover.jpg"  # byte by byte over a smaller file
    assert assets.md5_file(path, chunk=chunk) == hashlib.md5(path.read_bytes()).hexdigest()


def test_probing_twice_is_served_from_the_cache_until_the_file_changes(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", 1.0)
    first = probe_audio(path)
    assert probe_audio(path) is first
    assert probe_audio(tmp_path / "." / "a.wav") is first  # keyed by the resolved path
    write_wav(path, 2.0)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert probe_audio(path).duration == pytest.approx(2.0)


def test_md5_is_recomputed_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"one")
    assert assets.md5_file(path) == hashlib.md5(b"one").hexdigest()
    path.write_bytes(b"three")
    assert assets.md5_file(path) == hashlib.md5(b"three").hexdigest()


# --- broken files --------------------------------------------------------------------------


def _cut(path: Path, keep: int) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return path


def _flip_byte(path: Path, offset: int) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _set_wav_format_tag(path: Path, tag: int) -> Path:
    data = bytearray(path.read_bytes())
    data[20:22] = tag.to_bytes(2, "little")  # fmt chunk: the first field after its header
    path.write_bytes(bytes(data))
    return path


def _clear_flac_sample_count(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[21] &= 0xF0  # STREAMINFO's 36-bit total: the low nibble of byte 21, then bytes 22..25
    data[22:26] = bytes(4)
    path.write_bytes(bytes(data))
    return path


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "wav cut in its audio": (
        lambda d: _cut(write_wav(d / "a.wav", 1.0), 3000),
        "truncated WAV: header says 16044 bytes, file has 3000",
    ),
    "wav cut in its header": (lambda d: _cut(write_wav(d / "a.wav", 1.0), 30), "truncated WAV"),
    "wav that is not PCM": (
        lambda d: _set_wav_format_tag(write_wav(d / "a.wav", 0.5), 0x0002),
        "WAV is not PCM (format tag 0x0002)",
    ),
    "flac missing its last byte": (
        lambda d: _cut(write_flac(d / "a.flac", 1.0), -1),
        "truncated or corrupt FLAC: it does not end with its last audio frame",
    ),
    "flac cut mid-stream": (
        lambda d: _cut(write_flac(d / "a.flac", 2.0), 40_000),
        "truncated or corrupt FLAC: it does not end with its last audio frame",
    ),
    "flac with a damaged last frame": (
        lambda d: _flip_byte(write_flac(d / "a.flac", 1.0), -10),
        "truncated or corrupt FLAC: it does not end with its last audio frame",
    ),
    "flac cut in its metadata": (
        lambda d: _cut(write_flac(d / "a.flac", 1.0), 20),
        "truncated or corrupt FLAC",
    ),
    "flac without a sample count": (
        lambda d: _clear_flac_sample_count(write_flac(d / "a.flac", 1.0)),
        "FLAC does not state its sample count",
    ),
    "mp3 cut short": (
        lambda d: _cut(write_mp3(d / "a.mp3", 2.0), 5000),
        "truncated MP3: header says",
    ),
    "mp3 that is only a frame header": (
        lambda d: _cut(write_mp3(d / "a.mp3", 1.0), 4),
        "truncated or corrupt MP3",
    ),
    "text named .flac": (
        lambda d: _write(d / "a.flac", b"not audio at all\n"),
        "not a WAV, FLAC or MP3 file",
    ),
    "empty file": (lambda d: _write(d / "a.wav", b""), "not a WAV, FLAC or MP3 file"),
    "missing file": (lambda d: d / "nowhere.wav", "file not found"),
    "directory": (lambda d: _mkdir(d / "dir.wav"), "not a regular file"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_audio_raises_asset_error_with_a_clean_message(tmp_path: Path, case: str) -> None:
    make, expected = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(AssetError) as caught:
        probe_audio(path)
    _assert_clean(caught.value, path, expected)


BROKEN_IMAGES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "jpeg cut in its pixels": (
        lambda d: _cut(write_jpeg(d / "c.jpg", 256), 2000),
        "truncated JPEG: no end-of-image marker",
    ),
    "jpeg cut in its header": (lambda d: _cut(write_jpeg(d / "c.jpg", 256), 40), "JPEG"),
    "png cut in its pixels": (
        lambda d: _cut(write_png(d / "c.png", 256), 300),
        "truncated PNG: no IEND chunk",
    ),
    "png cut in its header": (lambda d: _cut(write_png(d / "c.png", 256), 20), "PNG"),
    "png with a damaged header": (
        lambda d: _flip_byte(write_png(d / "c.png", 256), 12),
        "corrupt PNG: Pillow cannot read its header",
    ),
    "text named .png": (lambda d: _write(d / "c.png", b"<svg/>"), "not a JPEG or PNG file"),
    "missing image": (lambda d: d / "nowhere.jpg", "file not found"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_IMAGES))
def test_broken_images_raise_asset_error_with_a_clean_message(tmp_path: Path, case: str) -> None:
    make, expected = BROKEN_IMAGES[case]
    path = make(tmp_path)
    with pytest.raises(AssetError) as caught:
        probe_image(path)
    _assert_clean(caught.value, path, expected)


def _assert_clean(error: AssetError, path: Path, expected: str) -> None:
    assert expected in error.reason
    assert str(error) == f"{path}: {error.reason}"
    assert "\n" not in str(error)
    assert "Traceback" not in str(error)
    assert str(path) not in error.reason
    # raised "from None" or with nothing to chain: no library traceback rides along
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_md5_of_a_missing_file_raises_asset_error(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="file not found"):
        assets.md5_file(tmp_path / "gone.wav")


# --- the example asset generator -----------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _run_generator(out: Path) -> None:
    command = [sys.executable, str(GENERATOR_PATH), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def test_generator_is_deterministic_and_matches_the_committed_file_list(tmp_path: Path) -> None:
    # two separate processes: nondeterminism in a codec library (uninitialised memory,
    # time-based seeds) shows up between processes more readily than within one
    _run_generator(tmp_path / "one")
    _run_generator(tmp_path / "two")
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one == two
    committed = _tree(ASSETS_DIR)
    assert sorted(one) == sorted(committed)
    # WAV goes through the stdlib alone, so the committed bytes are reproducible anywhere;
    # FLAC, MP3, JPEG and PNG bytes depend on the bundled codec library versions.
    for name in ("1234567890128/01.wav", "1234567890128/02.wav"):
        assert one[name] == committed[name], name


def test_example_assets_are_real_valid_and_small() -> None:
    files = [path for path in ASSETS_DIR.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 8 * 1024 * 1024
    for release in generator.RELEASES:
        assert ean.is_valid(release.upc), release.upc
    for path in files:
        kind = sniff_type(path)
        if kind in assets.AUDIO_KINDS:
            assert probe_audio(path).duration > 0
        else:
            assert probe_image(path).width == 3000


def test_generator_refuses_an_invalid_upc(tmp_path: Path) -> None:
    bad = generator.ReleaseAssets("5060236631112", "cover.jpg", ())
    with pytest.raises(ValueError, match="5060236631112 is not a valid UPC/EAN"):
        generator.write_release(bad, tmp_path)
