"""Rules on the cover art: size, shape, colour mode, alpha, JPEG scan mode."""

from __future__ import annotations

from collections.abc import Iterator

from stardust_git.profiles.base import Finding, NoParams, Params, Subject
from stardust_git.qc.artwork import Artwork, measure_artwork

_COVER = ("cover",)
# The alpha channel is artwork_no_alpha's business; the colour mode is what is left.
_WITHOUT_ALPHA = {"RGBA": "RGB", "RGBa": "RGB", "LA": "L", "La": "L", "PA": "P"}


def _cover(subject: Subject) -> Artwork | None:
    path = subject.asset(subject.release.cover)
    return measure_artwork(path) if path else None


class SizeParams(Params):
    min: int = 1
    """Smallest edge in pixels."""
    max: int = 100_000
    """Largest edge in pixels."""


def artwork_size(subject: Subject, params: SizeParams) -> Iterator[Finding]:
    """Both edges of the cover lie between min and max pixels."""
    art = _cover(subject)
    if (
        art
        and not params.min <= min(art.width, art.height) <= max(art.width, art.height) <= params.max
    ):
        yield Finding(_COVER, f"cover is {art.width}x{art.height}")


def artwork_square(subject: Subject, params: NoParams) -> Iterator[Finding]:
    """The cover is square."""
    art = _cover(subject)
    if art and art.width != art.height:
        yield Finding(_COVER, f"cover is {art.width}x{art.height}")


class ModeParams(Params):
    allowed: list[str] = ["RGB"]
    """Pillow colour modes the shop takes (RGB; CMYK, greyscale L and palette P are refused)."""


def artwork_color_mode(subject: Subject, params: ModeParams) -> Iterator[Finding]:
    """The cover's colour mode is one the shop takes."""
    art = _cover(subject)
    if art and _WITHOUT_ALPHA.get(art.mode, art.mode) not in params.allowed:
        yield Finding(_COVER, f"cover is {art.mode}")


def artwork_no_alpha(subject: Subject, params: NoParams) -> Iterator[Finding]:
    """The cover has no alpha channel or transparency."""
    art = _cover(subject)
    if art and art.has_alpha:
        yield Finding(_COVER, f"cover has transparency ({art.mode})")


def artwork_not_progressive(subject: Subject, params: NoParams) -> Iterator[Finding]:
    """A JPEG cover is baseline, not progressive."""
    art = _cover(subject)
    if art and art.progressive:
        yield Finding(_COVER, "cover is a progressive JPEG")


class FileSizeParams(Params):
    max_mib: float
    """Largest file in MiB."""


def artwork_file_size(subject: Subject, params: FileSizeParams) -> Iterator[Finding]:
    """The cover file is at most max_mib MiB."""
    art = _cover(subject)
    if art and art.bytes > params.max_mib * 1024 * 1024:
        yield Finding(_COVER, f"cover is {art.bytes / 1024 / 1024:.1f} MiB")
