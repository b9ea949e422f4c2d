"""Assets: the files a release names exist inside the repository, are decoded and measured, and
match the metadata (cover size for every target, audio duration)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from stardust_git import assets
from stardust_git.checks.profiles import profile_checks
from stardust_git.errors import Diagnostics
from stardust_git.models import Release
from stardust_git.qc.cache import media_cache_dir
from stardust_git.qc.probes import prime_audio_probes, prime_image_probes
from stardust_git.source.catalog import Catalog, Loaded

AUDIO_KINDS = {"wav", "flac", "mp3"}
IMAGE_KINDS = {"jpeg", "png"}
DURATION_TOLERANCE = 1.0
DEFAULT_COVER_SIZE = 1400


def check_assets(catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    """Files exist inside the repository, are what they claim, and match the metadata."""
    release = loaded.model
    cache_dir = media_cache_dir(catalog.root)
    named = (repository_file(catalog.root, track.audio) for track in release.tracks)
    prime_audio_probes(cache_dir, [path for path in named if path is not None])
    cover_file = repository_file(catalog.root, release.cover)
    prime_image_probes(cache_dir, [cover_file] if cover_file is not None else [])
    cover = _asset_path(catalog.root, loaded, ("cover",), release.cover, diagnostics)
    if cover:
        _check_cover(catalog, loaded, cover, diagnostics)
    for index, track in enumerate(release.tracks):
        loc = ("tracks", index, "audio")
        audio = _asset_path(catalog.root, loaded, loc, track.audio, diagnostics)
        if audio:
            _check_audio(loaded, index, audio, diagnostics)


def _asset_path(
    root: Path,
    loaded: Loaded[Release],
    loc: tuple[str | int, ...],
    value: str,
    diagnostics: Diagnostics,
) -> Path | None:
    def fail(message: str) -> None:
        diagnostics.add(loaded.diagnostic(loc, message))

    candidate = Path(value)
    if candidate.is_absolute() or value.startswith(("/", "\\")):
        return fail(f"'{value}' must be a path relative to the repository root")
    if ".." in candidate.parts:
        return fail(f"'{value}' must not contain '..'")
    path = root / candidate
    if not path.exists():
        return fail(f"'{value}' does not exist")
    resolved = resolved_path(path)
    if not resolved.is_relative_to(root):
        return fail(f"'{value}' is a link that leads outside the repository")
    if not resolved.is_file():
        return fail(f"'{value}' is not a file")
    return resolved


def repository_file(root: Path, value: str) -> Path | None:
    """The path ``value`` names when it is relative and stays inside the repository ``root``
    (a resolved path), links followed; None otherwise (:func:`check_assets` says why). Cheap
    enough for thousands of files: on strings, each folder resolved once."""
    if not value or value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/"):
        return None
    name = os.path.join(root, value)
    return Path(name) if _real_path(name).startswith(os.path.join(root, "")) else None


@lru_cache(maxsize=16_384)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


def resolved_path(path: Path) -> Path:
    """``path.resolve()`` of an existing path (see :func:`_real_path`)."""
    return Path(_real_path(str(path)))


def _real_path(name: str) -> str:
    """``os.path.realpath(name)``, each folder resolved once per process (the tracks of a
    release share one; resolving every component was much of a large run)."""
    if os.path.islink(name):
        return os.path.realpath(name)
    folder, base = os.path.split(name)
    return os.path.join(_real_folder(folder), base)


def _check_cover(
    catalog: Catalog, loaded: Loaded[Release], path: Path, diagnostics: Diagnostics
) -> None:
    loc = ("cover",)
    try:
        image = assets.probe_image(path)  # usually known already: no need to sniff the file
    except assets.AssetError as exc:
        kind = assets.sniff_type(path)
        if kind not in IMAGE_KINDS:
            found = f"a {kind.upper()} file" if kind else "not a JPEG or PNG image"
            message = f"'{loaded.model.cover}' is {found}, not an image"
            diagnostics.add(loaded.diagnostic(loc, message))
            return
        diagnostics.add(loaded.diagnostic(loc, exc.reason))
        return
    square_by_profile = any(
        "artwork_square" in profile_checks(catalog, name) for name in loaded.model.targets
    )
    if image.width != image.height and not square_by_profile:
        message = f"cover art must be square, it is {image.width}x{image.height}"
        diagnostics.add(loaded.diagnostic(loc, message))
    needed, who = _cover_size_needed(catalog, loaded.model)
    if min(image.width, image.height) < needed:
        message = (
            f"cover art is {image.width}x{image.height}, {who} needs at least {needed}x{needed}"
        )
        diagnostics.add(loaded.diagnostic(loc, message))


def _cover_size_needed(catalog: Catalog, release: Release) -> tuple[int, str]:
    """The largest minimum of the targets whose profile does not check the size itself."""
    sizes = [
        (catalog.targets[name].model.cover_min_size, f"target '{name}'")
        for name in release.targets
        if name in catalog.targets and "artwork_size" not in profile_checks(catalog, name)
    ]
    return max(sizes, default=(DEFAULT_COVER_SIZE, "the default"))


def _check_audio(loaded: Loaded[Release], index: int, path: Path, diagnostics: Diagnostics) -> None:
    track = loaded.model.tracks[index]
    loc = ("tracks", index, "audio")
    try:
        audio = assets.probe_audio(path)  # usually known already: no need to sniff the file
    except assets.AssetError as exc:
        kind = assets.sniff_type(path)
        if kind not in AUDIO_KINDS:
            found = f"a {kind.upper()} file" if kind else "not a WAV, FLAC or MP3 file"
            diagnostics.add(loaded.diagnostic(loc, f"'{track.audio}' is {found}, not audio"))
            return
        _check_extension(loaded, index, path, kind, diagnostics)
        diagnostics.add(loaded.diagnostic(loc, exc.reason))
        return
    _check_extension(loaded, index, path, audio.kind, diagnostics)
    if abs(audio.duration - track.duration) > DURATION_TOLERANCE:
        message = (
            f"declared duration {track.duration:g} s but the audio lasts {audio.duration:.2f} s"
        )
        diagnostics.add(loaded.diagnostic(("tracks", index, "duration"), message))


def _check_extension(
    loaded: Loaded[Release], index: int, path: Path, kind: str, diagnostics: Diagnostics
) -> None:
    extension = path.suffix.lower().lstrip(".")
    if extension and extension not in _EXTENSIONS[kind]:
        audio = loaded.model.tracks[index].audio
        message = f"'{audio}' holds {kind.upper()} audio but its name ends in .{extension}"
        diagnostics.add(loaded.diagnostic(("tracks", index, "audio"), message, severity="warning"))


_EXTENSIONS = {"wav": {"wav", "wave"}, "flac": {"flac"}, "mp3": {"mp3"}}
