"""Cover thumbnails made with Pillow, cached by the cover's content hash (MD5) between runs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from stardust_git.fileio import cache_folder, write_atomic

THUMB_PIXELS = 160


def thumbnail_cache() -> Path:
    return cache_folder("thumbnails")


def thumbnail(cover: Path, md5: str, out_dir: Path, cache: Path) -> str | None:
    """Write ``thumbs/<md5>.jpg`` under ``out_dir`` (made once per content, then copied from
    ``cache``); its path relative to ``out_dir``, or None when the image cannot be read."""
    name = f"thumbs/{md5}.jpg"
    if (out_dir / name).exists():
        return name
    cached = cache / f"{md5}-{THUMB_PIXELS}.jpg"
    if not cached.exists():
        data = _make(cover)
        if data is None:
            return None
        write_atomic(cached, data, durable=False)
    write_atomic(out_dir / name, cached.read_bytes(), durable=False)  # workers may race here
    return name


def _make(cover: Path) -> bytes | None:
    try:
        with Image.open(cover) as image:
            image.draft("RGB", (THUMB_PIXELS, THUMB_PIXELS))  # JPEG: decode at a smaller scale
            small = image.convert("RGB")
            small.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
