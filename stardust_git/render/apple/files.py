"""The files of a package: the cover and the audio of each track, named, sized and hashed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stardust_git import assets
from stardust_git.models import Release
from stardust_git.qc.cache import content_hash, media_cache_dir
from stardust_git.render import PackageFile, RenderError
from stardust_git.render.apple.spec import EXTENSIONS, Loc
from stardust_git.render.shared import track_order


@dataclass(frozen=True)
class PackageAssets:
    """The files of a full package: the cover, then the audio of each track in play order."""

    cover: PackageFile
    audio: tuple[PackageFile, ...]

    def all(self) -> tuple[PackageFile, ...]:
        return (self.cover, *self.audio)


def package_assets(root: Path, release: Release, folder: str) -> PackageAssets:
    cover = _resource(root, release.cover, folder + release.upc, ("cover",))
    audio = []
    for index, disc, number in track_order(release.tracks):
        stem = f"{folder}{release.upc}_{disc:02}_{number:03}"
        audio.append(_resource(root, release.tracks[index].audio, stem, ("tracks", index, "audio")))
    return PackageAssets(cover, tuple(audio))


def _resource(root: Path, value: str, stem: str, loc: Loc) -> PackageFile:
    path = root / value
    base, resolved = root.resolve(), path.resolve()
    if not resolved.is_relative_to(base):
        raise RenderError(f"'{value}' is outside the repository", loc)
    try:
        kind = assets.sniff_type(path)
        extension = EXTENSIONS.get(kind or "", path.suffix.lower().lstrip("."))
        md5 = content_hash(media_cache_dir(base), resolved)  # as the ERN renderer and the QC
        return PackageFile(f"{stem}.{extension}", "resource", path.stat().st_size, md5, path)
    except (assets.AssetError, OSError) as error:
        raise RenderError(f"cannot read '{value}': {_reason(error)}", loc) from None


def _reason(error: Exception) -> str:
    return error.reason if isinstance(error, assets.AssetError) else str(error)
