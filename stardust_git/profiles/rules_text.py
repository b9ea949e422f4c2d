"""Style-guide rules on titles and artist names (what the shops' editors send back)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stardust_git.models import Release
from stardust_git.profiles.base import Finding, Loc, Params, Subject

# Each marker, and the release field that already says it.
_MARKERS: dict[str, re.Pattern[str]] = {
    "clean": re.compile(r"[(\[]\s*clean(\s+version)?\s*[)\]]", re.IGNORECASE),
    "explicit": re.compile(r"[(\[]\s*explicit(\s+version)?\s*[)\]]", re.IGNORECASE),
    "featuring": re.compile(r"\b(feat\.|ft\.|featuring)\s", re.IGNORECASE),
    "remastered": re.compile(r"\bremaster(ed)?\b", re.IGNORECASE),
}
_SAID_BY = {
    "clean": "parental_warning",
    "explicit": "parental_warning",
    "featuring": "a FeaturedArtist credit",
    "remastered": "version",
}


def titles(release: Release) -> Iterator[tuple[Loc, str]]:
    """Every title of the release (release and tracks) with where it is."""
    yield ("title",), release.title
    for index, track in enumerate(release.tracks):
        yield ("tracks", index, "title"), track.title


class MarkerParams(Params):
    markers: list[str] = list(_MARKERS)
    """Which words to look for: clean, explicit, featuring, remastered."""


def title_markers(subject: Subject, params: MarkerParams) -> Iterator[Finding]:
    """No title carries what a field says: (Clean), (Explicit), feat., Remastered."""
    for loc, title in titles(subject.release):
        for marker in params.markers:
            if _MARKERS[marker].search(title):
                yield Finding(loc, f"'{title}' says {marker} (that is {_SAID_BY[marker]}'s job)")


class CapsParams(Params):
    min_letters: int = 4
    """Titles with fewer letters (acronyms such as 'DNA') are left alone."""


def title_all_caps(subject: Subject, params: CapsParams) -> Iterator[Finding]:
    """No title is written in capitals throughout."""
    for loc, title in titles(subject.release):
        if not title.isupper():  # a lower-case letter, or no cased letter at all: not capitals
            continue
        letters = [char for char in title if char.isalpha()]
        if len(letters) >= params.min_letters and all(char.isupper() for char in letters):
            yield Finding(loc, f"'{title}' is all capitals")


class GenericTitleParams(Params):
    pattern: str = r"^\s*(track|untitled|title)\s*\d*\s*$"
    """Titles matching this (case-insensitive) are placeholders."""


def generic_titles(subject: Subject, params: GenericTitleParams) -> Iterator[Finding]:
    """No title is a placeholder such as 'Track 1' or 'Untitled'."""
    placeholder = re.compile(params.pattern, re.IGNORECASE)
    for loc, title in titles(subject.release):
        if placeholder.match(title):
            yield Finding(loc, f"'{title}' is a placeholder title")


class VariousParams(Params):
    names: list[str] = ["Various Artists", "Various", "VA"]
    """Names that mean 'many artists'."""


def various_artists(subject: Subject, params: VariousParams) -> Iterator[Finding]:
    """'Various Artists' is a release artist only of a compilation (tracks by two or more
    different main artists), and never a track artist."""
    release, various = subject.release, {name.casefold() for name in params.names}
    compilation = len(_track_main_artists(release)) >= 2
    for index, artist in enumerate(release.artists):
        if artist.name.casefold() in various and not compilation:
            yield Finding(("artists", index, "name"), f"'{artist.name}' on a non-compilation")
    for number, track in enumerate(release.tracks):
        for index, artist in enumerate(track.artists or []):
            if artist.name.casefold() in various:
                yield Finding(("tracks", number, "artists", index, "name"), artist.name)


def _track_main_artists(release: Release) -> set[str]:
    return {
        artist.name
        for track in release.tracks
        for artist in track.artists or []
        if artist.role == "MainArtist"
    }
