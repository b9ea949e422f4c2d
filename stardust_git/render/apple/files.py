"""The files of a package: the cover and the audio of each track, named, sized and hashed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stardust_git import assets
from stardust_git.models import Release, Track
from stardust_git.render import PackageFile, RenderError
from stardust_git.render.apple.spec import EXTENSIONS, Loc


@dataclass(frozen=True)
class PackageAssets:
    """The files of a full package: the cover, then the audio of each track in order."""

    cover: PackageFile
    audio: tuple[PackageFile, ...]

    def all(self) -> tuple[PackageFile, ...]:
        return (self.cover, *self.audio)


def package_assets(root: Path, release: Release, folder: str) -> PackageAssets:
    cover = _resource(root, release.cover, folder + release.upc, ("cover",))
    positions = track_positions(release.tracks)
    audio = []
    for index, (track, (disc, number)) in enumerate(zip(release.tracks, positions, strict=True)):
        stem = f"{folder}{release.upc}_{disc:02}_{number:03}"
        audio.append(_resource(root, track.audio, stem, ("tracks", index, "audio")))
    return PackageAssets(cover, tuple(audio))


def _resource(root: Path, value: str, stem: str, loc: Loc) -> PackageFile:
    path = root / value
    if not path.resolve().is_relative_to(root.resolve()):
        raise RenderError(f"'{value}' is outside the repository", loc)
    try:
        kind = assets.sniff_type(path)
        extension = EXTENSIONS.get(kind or "", path.suffix.lower().lstrip("."))
        return PackageFile(
            f"{stem}.{extension}", "resource", path.stat().st_size, assets.md5_file(path), path
        )
    except (assets.AssetError, OSError) as error:
        raise RenderError(f"cannot read '{value}': {_reason(error)}", loc) from None


def _reason(error: Exception) -> str:
    return error.reason if isinstance(error, assets.AssetError) else str(error)


def track_positions(tracks: Sequence[Track]) -> list[tuple[int, int]]:
    """(disc, number on that disc) of each track, counting in catalog order."""
    counts: dict[int, int] = defaultdict(int)
    positions = []
    for track in tracks:
        counts[track.disc] += 1
        positions.append((track.disc, counts[track.disc]))
    return positions
