"""Media assets: what a file really is, its technical details and its MD5.

Everything here streams: the type comes from the first bytes, the details from the headers
(mutagen for audio, Pillow's lazy open for images), and a truncation check reads at most the
file's tail. Results are cached per process, keyed by (resolved path, size, mtime_ns), so
validate and the renderers can probe the same file without paying twice.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import mutagen.flac

# mutagen and Pillow are imported by the probes that use them: the renderers import this module
# for AudioInfo and ImageInfo, and a run without assets (validate --no-assets) never probes.

AUDIO_KINDS: frozenset[str] = frozenset({"wav", "flac", "mp3"})
IMAGE_KINDS: frozenset[str] = frozenset({"jpeg", "png"})

# The DDEX AudioCodecType / ImageCodecType value (identical in ERN 3.8.2, 4.2 and 4.3) of each kind.
AUDIO_CODECS: dict[str, str] = {"wav": "PCM", "flac": "FLAC", "mp3": "MP3"}
IMAGE_CODECS: dict[str, str] = {"jpeg": "JPEG", "png": "PNG"}

MIB = 1024 * 1024
_SNIFF_BYTES = 64
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_EXTENSIBLE
_WAV_PCM_TAGS = frozenset({0x0001, 0x0003, 0xFFFE})


class AssetError(Exception):
    """A media file that cannot be used: missing, unreadable, truncated or of the wrong format.

    ``reason`` is the human message alone (for a diagnostic that names the path itself);
    ``str(error)`` is ``"<path>: <reason>"``.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class AudioInfo:
    """Technical details of an audio file; ``codec`` is the DDEX AudioCodecType value."""

    kind: str
    codec: str
    duration: float
    sample_rate: int
    bits_per_sample: int | None
    channels: int
    bytes: int


@dataclass(frozen=True)
class ImageInfo:
    """Technical details of an image; ``codec`` is the DDEX ImageCodecType value.

    ``mode`` is Pillow's colour mode ("RGB", "CMYK", "L", "P", "RGBA", ...).
    """

    kind: str
    codec: str
    width: int
    height: int
    bytes: int
    mode: str


# --- sniffing ------------------------------------------------------------------------------


def sniff_type(path: Path) -> str | None:
    """The file's real type from its magic bytes: wav, flac, mp3, jpeg, png, or None."""
    try:
        with open(path, "rb") as stream:
            start = _audio_start(stream)
            stream.seek(start)
            head = stream.read(_SNIFF_BYTES)
    except OSError as error:
        raise AssetError(path, _os_reason(error)) from None
    kind = _sniff_head(head)
    if start and kind not in ("mp3", "flac"):
        return None  # only MP3 (usually) and FLAC (rarely) come behind an ID3v2 tag
    return kind


def _sniff_head(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if _is_mp3_frame_header(head):
        return "mp3"
    return None


def _audio_start(stream: BinaryIO) -> int:
    """Offset just past a leading ID3v2 tag and the zero padding after it; 0 without a tag."""
    head = stream.read(10)
    if len(head) < 10 or not head.startswith(b"ID3"):
        return 0
    has_footer = bool(head[5] & 0x10)
    end = 10 + _synchsafe(head[6:10]) + (10 if has_footer else 0)
    stream.seek(end)
    after = stream.read(4096)
    return end + len(after) - len(after.lstrip(b"\x00"))


def _synchsafe(four: bytes) -> int:
    return (four[0] << 21) | (four[1] << 14) | (four[2] << 7) | four[3]


def _is_mp3_frame_header(head: bytes) -> bool:
    """An MPEG audio Layer III frame header: sync, a real version, valid rate indexes."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate_index = head[2] >> 4
    rate_index = (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate_index != 0xF and rate_index != 0b11


# --- cache ---------------------------------------------------------------------------------


def _cache_key(path: Path) -> tuple[str, int, int]:
    # os.stat follows links without resolving every path component: resolve() was a third of
    # the time of validating a large catalog.
    try:
        stat = os.stat(path)
    except OSError as error:
        raise AssetError(path, _os_reason(error)) from None
    if not S_ISREG(stat.st_mode):
        raise AssetError(path, "not a regular file")
    return os.path.abspath(path), stat.st_size, stat.st_mtime_ns


def clear_cache() -> None:
    """Forget every cached probe and checksum (for long-lived processes and tests)."""
    _KNOWN.clear()
    _probe_audio_cached.cache_clear()
    _probe_image_cached.cache_clear()
    _md5_cached.cache_clear()


def _os_reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "not a regular file"
    return f"cannot read the file ({error.strerror or error})"


# --- MD5 -----------------------------------------------------------------------------------


def md5_file(path: Path, chunk: int = MIB) -> str:
    """The file's MD5 as lowercase hex, read in ``chunk``-byte pieces."""
    resolved, size, mtime_ns = _cache_key(path)
    try:
        return _md5_cached(resolved, size, mtime_ns, chunk)
    except AssetError as error:
        raise AssetError(path, error.reason) from None


@lru_cache(maxsize=4096)
def _md5_cached(resolved: str, size: int, mtime_ns: int, chunk: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with open(resolved, "rb") as stream:
            while block := stream.read(chunk):
                digest.update(block)
    except OSError as error:
        raise AssetError(resolved, _os_reason(error)) from None
    return digest.hexdigest()


# --- audio ---------------------------------------------------------------------------------


def probe_audio(path: Path) -> AudioInfo:
    """Codec, duration, rate, depth and channels of a WAV, FLAC or MP3 file.

    Raises AssetError when the file is not one of those or is truncated or corrupt.
    """
    key = _cache_key(path)
    if isinstance(known := _KNOWN.get(key), AudioInfo):
        return known
    try:
        return _probe_audio_cached(*key)
    except AssetError as error:
        raise AssetError(path, error.reason) from None


_KNOWN: dict[tuple[str, int, int], AudioInfo | ImageInfo] = {}
"""Probes of files as they are now, kept between runs (see :func:`remember_probe`)."""


def remember_probe(path: Path, info: AudioInfo | ImageInfo) -> None:
    """Take ``info`` as the probe of ``path`` as the file is now: a cache kept between runs
    vouches for it (the media cache, by content hash), so the file is not opened again."""
    _KNOWN[_cache_key(path)] = info


@lru_cache(maxsize=4096)
def _probe_audio_cached(resolved: str, size: int, mtime_ns: int) -> AudioInfo:
    path = Path(resolved)
    kind = sniff_type(path)
    if kind not in AUDIO_KINDS:
        found = f" (it is a {kind.upper()} file)" if kind else ""
        raise AssetError(path, f"not a WAV, FLAC or MP3 file{found}")
    prober = {"wav": _probe_wav, "flac": _probe_flac, "mp3": _probe_mp3}[kind]
    import mutagen

    try:
        return prober(path, size)
    except (mutagen.MutagenError, struct.error, ValueError, EOFError) as error:
        raise _corrupt(path, kind, error) from None
    except OSError as error:
        raise AssetError(path, _os_reason(error)) from None


def _corrupt(path: Path, kind: str, error: Exception) -> AssetError:
    return AssetError(path, f"truncated or corrupt {kind.upper()} ({_short(error, path)})")


def _short(error: Exception, path: Path) -> str:
    """The library's first line, without the path (the caller's message names it once)."""
    lines = str(error).replace(repr(str(path)), "the file").replace(str(path), "the file")
    first = lines.strip().splitlines()
    return first[0] if first else type(error).__name__


def _probe_wav(path: Path, size: int) -> AudioInfo:
    with open(path, "rb") as stream:
        riff_size = struct.unpack("<I", stream.read(8)[4:8])[0]
    if riff_size + 8 > size:
        raise AssetError(path, f"truncated WAV: header says {riff_size + 8} bytes, file has {size}")
    import mutagen.wave

    info = mutagen.wave.WAVE(path).info
    if info.audio_format not in _WAV_PCM_TAGS:
        raise AssetError(path, f"WAV is not PCM (format tag {info.audio_format:#06x})")
    if not info.sample_rate or not info.channels or not info.bits_per_sample:
        raise AssetError(path, "corrupt WAV: zero sample rate, channels or bit depth")
    if info.length <= 0:
        raise AssetError(path, "WAV has no audio data")
    return AudioInfo(
        "wav", "PCM", info.length, info.sample_rate, info.bits_per_sample, info.channels, size
    )


def _probe_flac(path: Path, size: int) -> AudioInfo:
    import mutagen.flac

    info = mutagen.flac.FLAC(path).info
    if not info.sample_rate or not info.total_samples:
        raise AssetError(path, "FLAC does not state its sample count (cannot tell its duration)")
    _check_flac_ends_with_last_frame(path, size, info)
    return AudioInfo(
        "flac", "FLAC", info.length, info.sample_rate, info.bits_per_sample, info.channels, size
    )


def _probe_mp3(path: Path, size: int) -> AudioInfo:
    import mutagen.mp3

    info = mutagen.mp3.MP3(path).info
    if not info.sample_rate or info.length <= 0:
        raise AssetError(path, "corrupt MP3: no playable frames")
    stated = _xing_stream_bytes(path)
    if stated and stated > size:
        raise AssetError(path, f"truncated MP3: header says {stated} bytes, file has {size}")
    return AudioInfo("mp3", "MP3", info.length, info.sample_rate, None, info.channels, size)


def _xing_stream_bytes(path: Path) -> int | None:
    """The stream length a Xing/Info (LAME) header states, if the first frame has one.

    mutagen takes an MP3's duration from that header's frame count, so a cut file still
    reports its full length; the stated byte count gives the cut away.
    """
    with open(path, "rb") as stream:
        stream.seek(_audio_start(stream))
        first_frame = stream.read(64)  # the tag sits at most 4 + 2 + 32 bytes into the frame
    at = max(first_frame.find(b"Xing"), first_frame.find(b"Info"))
    if at < 0 or len(first_frame) < at + 16:
        return None
    flags = int.from_bytes(first_frame[at + 4 : at + 8], "big")
    if not flags & 0b10:
        return None
    offset = at + 8 + (4 if flags & 0b01 else 0)
    return int.from_bytes(first_frame[offset : offset + 4], "big")


# --- FLAC truncation check -----------------------------------------------------------------
# mutagen reads only the metadata blocks, so a FLAC cut anywhere in its audio still probes
# fine. A whole FLAC ends with the frame holding the last sample, closed by that frame's
# CRC-16: find that frame's header in the tail and check the CRC against the file's last bytes.

_FLAC_BLOCK_SIZES = {1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608}
_FLAC_MAX_TAIL = 16 * MIB
_ID3V1_SIZE = 128


def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & top else crc << 1
        table.append(crc & mask)
    return tuple(table)


_CRC8 = _crc_table(0x07, 8)
_CRC16 = _crc_table(0x8005, 16)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


@dataclass(frozen=True)
class _FrameHeader:
    variable: bool
    number: int  # frame number (fixed block size) or first sample number (variable)
    block_size: int


def _check_flac_ends_with_last_frame(path: Path, size: int, info: mutagen.flac.StreamInfo) -> None:
    window = min(size, max(info.max_framesize * 2, 64 * 1024) if info.max_framesize else MIB)
    window = min(window, _FLAC_MAX_TAIL)
    with open(path, "rb") as stream:
        stream.seek(size - window)
        tail = stream.read(window)
    if len(tail) > _ID3V1_SIZE and tail[-_ID3V1_SIZE:].startswith(b"TAG"):
        tail = tail[:-_ID3V1_SIZE]
    for start in _sync_positions(tail):
        header = _parse_frame_header(tail, start)
        if header and _is_final_frame(header, info) and _frame_crc_ok(tail, start):
            return
    raise AssetError(path, "truncated or corrupt FLAC: it does not end with its last audio frame")


def _sync_positions(tail: bytes) -> Iterator[int]:
    """Positions of FLAC frame sync codes, last first."""
    position = len(tail)
    while (position := tail.rfind(b"\xff", 0, position)) >= 0:
        if position + 1 < len(tail) and tail[position + 1] in (0xF8, 0xF9):
            yield position


def _parse_frame_header(data: bytes, start: int) -> _FrameHeader | None:
    fixed = data[start : start + 4]
    if len(fixed) < 4:
        return None
    size_code, rate_code = fixed[2] >> 4, fixed[2] & 0x0F
    channel_code, depth_code = fixed[3] >> 4, (fixed[3] >> 1) & 0b111
    if size_code == 0 or rate_code == 0x0F or channel_code > 10 or depth_code == 3 or fixed[3] & 1:
        return None
    coded = _read_coded_number(data, start + 4)
    if coded is None:
        return None
    number, position = coded
    block_size, position = _read_block_size(data, position, size_code)
    position += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if position >= len(data) or _crc8(data[start:position]) != data[position]:
        return None
    return _FrameHeader(bool(fixed[1] & 1), number, block_size)


def _read_coded_number(data: bytes, position: int) -> tuple[int, int] | None:
    """FLAC's UTF-8-like coded frame/sample number: (value, position after it)."""
    if position >= len(data):
        return None
    first = data[position]
    if first < 0x80:
        return first, position + 1
    length = next((n for n in range(8) if not (first << n) & 0x80), 8)  # count of leading 1s
    if length < 2 or length > 7:
        return None  # a lone continuation byte, or 0xFF
    value = first & (0x7F >> length)
    following = data[position + 1 : position + length]
    if len(following) != length - 1 or any(byte & 0xC0 != 0x80 for byte in following):
        return None
    for byte in following:
        value = (value << 6) | (byte & 0x3F)
    return value, position + length


def _read_block_size(data: bytes, position: int, size_code: int) -> tuple[int, int]:
    if size_code == 6:
        return data[position] + 1 if position < len(data) else 0, position + 1
    if size_code == 7:
        return int.from_bytes(data[position : position + 2], "big") + 1, position + 2
    if size_code >= 8:
        return 256 << (size_code - 8), position
    return _FLAC_BLOCK_SIZES[size_code], position


def _is_final_frame(header: _FrameHeader, info: mutagen.flac.StreamInfo) -> bool:
    first_sample = header.number if header.variable else header.number * info.max_blocksize
    return first_sample + header.block_size == info.total_samples


def _frame_crc_ok(tail: bytes, start: int) -> bool:
    return _crc16(tail[start:-2]) == int.from_bytes(tail[-2:], "big")


# --- images --------------------------------------------------------------------------------


def probe_image(path: Path) -> ImageInfo:
    """Codec, dimensions and colour mode of a JPEG or PNG, without decoding its pixels.

    Raises AssetError when the file is not one of those or is truncated or corrupt.
    """
    key = _cache_key(path)
    if isinstance(known := _KNOWN.get(key), ImageInfo):
        return known
    try:
        return _probe_image_cached(*key)
    except AssetError as error:
        raise AssetError(path, error.reason) from None


@lru_cache(maxsize=4096)
def _probe_image_cached(resolved: str, size: int, mtime_ns: int) -> ImageInfo:
    path = Path(resolved)
    kind = sniff_type(path)
    if kind not in IMAGE_KINDS:
        found = f" (it is a {kind.upper()} file)" if kind else ""
        raise AssetError(path, f"not a JPEG or PNG file{found}")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path, formats=[IMAGE_CODECS[kind]]) as image:
            width, height, mode = image.width, image.height, image.mode
    except Image.DecompressionBombError:
        raise AssetError(path, f"{kind.upper()} is too large to be artwork") from None
    except UnidentifiedImageError:
        raise AssetError(path, f"corrupt {kind.upper()}: Pillow cannot read its header") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as error:
        raise _corrupt(path, kind, error) from None
    _check_image_end(path, size, kind)
    return ImageInfo(kind, IMAGE_CODECS[kind], width, height, size, mode)


def _check_image_end(path: Path, size: int, kind: str) -> None:
    """Pillow's lazy open reads only the header; a whole file ends with its end marker."""
    marker = b"\xff\xd9" if kind == "jpeg" else b"IEND"
    window = min(size, 64 * 1024)
    with open(path, "rb") as stream:
        stream.seek(size - window)
        tail = stream.read(window)
    if marker not in tail:
        end = "end-of-image marker" if kind == "jpeg" else "IEND chunk"
        raise AssetError(path, f"truncated {kind.upper()}: no {end}")
