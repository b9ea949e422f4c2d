"""Artwork measurements the shops judge a cover by: size, colour mode, alpha, JPEG scan mode.

Read from the image header with Pillow (no pixel decoding), and cached per file state like
:func:`stardust_git.assets.probe_image`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})


@dataclass(frozen=True)
class Artwork:
    """What a cover is made of, as far as the shops' artwork rules look."""

    format: str
    """Pillow's format name: JPEG, PNG, ..."""
    width: int
    height: int
    mode: str
    """Pillow's colour mode: RGB, CMYK, L, P, RGBA, ..."""
    has_alpha: bool
    """An alpha channel, or a PNG transparency entry."""
    progressive: bool
    """A progressive (multi-scan) JPEG."""
    bytes: int


def measure_artwork(path: Path) -> Artwork | None:
    """The cover's measurements, or None when Pillow cannot read it (the assets check says why)."""
    stat = path.stat()
    return _measure_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _measure_cached(resolved: str, size: int, mtime_ns: int) -> Artwork | None:
    from PIL import Image, UnidentifiedImageError  # Pillow only when a cover is measured

    try:
        with Image.open(resolved) as image:
            return _artwork(image, size)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def _artwork(image: Image.Image, size: int) -> Artwork:
    alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    progressive = bool(image.info.get("progressive") or image.info.get("progression"))
    fmt = image.format or ""
    return Artwork(fmt, image.width, image.height, image.mode, alpha, progressive, size)
