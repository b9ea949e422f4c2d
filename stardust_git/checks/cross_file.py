"""Rules across release files: one UPC per release file; an ISRC on two releases carries the
same title and duration."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from stardust_git.errors import Diagnostic
from stardust_git.index import ReleaseFacts, facts_of
from stardust_git.models import Release
from stardust_git.source.catalog import Loaded
from stardust_git.source.yamlio import Loc, YamlDocument

DURATION_TOLERANCE = 1.0


@dataclass(frozen=True)
class CheckedRelease:
    """What cross-file rules need of a loaded release: its facts and where they are written.

    Positions are looked up in the release's document when first asked for (a valid release
    never pays for them). Sent to another process the document stays behind: ``placed`` is then
    False and every position (0, 0), until the caller loads the file again (validate does, for
    the few releases a cross-file rule finds wrong)."""

    facts: ReleaseFacts
    tracks_in: str = ""
    """The file the tracks are written in when it is not the release file (a defaults file)."""
    document: YamlDocument | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "document": None}

    @property
    def placed(self) -> bool:
        return self.document is not None

    def at(self, loc: Loc) -> tuple[int, int]:
        """Line and column of ``loc`` in the release, (0, 0) when not placed."""
        return self.document.locate(loc) if self.document is not None else (0, 0)

    @property
    def upc_at(self) -> tuple[int, int]:
        return self.at(("upc",))

    @property
    def isrcs_at(self) -> tuple[tuple[int, int], ...]:
        return tuple(self.at(("tracks", i, "isrc")) for i in range(len(self.facts.tracks)))

    @property
    def audio_at(self) -> tuple[tuple[int, int], ...]:
        return tuple(self.at(("tracks", i, "audio")) for i in range(len(self.facts.tracks)))


def checked_release(loaded: Loaded[Release]) -> CheckedRelease:
    """The facts of a loaded release, with its document to place cross-file errors."""
    tracks_in = getattr(loaded.document, "origins", {}).get("tracks", "")
    return CheckedRelease(facts_of(loaded.path, loaded.model), tracks_in, loaded.document)


def check_cross_file(checked: list[CheckedRelease], others: list[ReleaseFacts]) -> list[Diagnostic]:
    """Unique UPCs; an ISRC on two releases carries the same title and duration."""
    facts = [release.facts for release in checked] + others
    # Only codes used more than once can clash: a whole-catalog run has 575,000 ISRCs, nearly
    # all used once, and lists of every use of each cost seconds. Counted in C first.
    upc_uses = Counter(fact.upc for fact in facts)
    isrc_uses = Counter(track[0] for fact in facts for track in fact.tracks)
    # Only the checked releases' codes are looked up: a one-file run indexes 1 release, not all.
    upcs = {release.facts.upc for release in checked if upc_uses[release.facts.upc] > 1}
    isrcs = {
        track[0] for release in checked for track in release.facts.tracks if isrc_uses[track[0]] > 1
    }
    by_upc: dict[str, list[str]] = defaultdict(list)
    by_isrc: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for fact in facts:
        if fact.upc in upcs:
            by_upc[fact.upc].append(fact.path)
        if isrcs:
            for isrc, title, duration in fact.tracks:
                if isrc in isrcs:
                    by_isrc[isrc].append((fact.path, title, duration))
    found: list[Diagnostic] = []
    for release in checked:
        path, upc = release.facts.path, release.facts.upc
        duplicates = [p for p in by_upc.get(upc, ()) if p != path]
        if duplicates:
            message = (
                f"UPC {upc} is also used by {', '.join(sorted(duplicates))}: a UPC names one "
                "release, in one file; give one of them its own UPC (or remove the copy)"
            )
            found.append(Diagnostic(path, *release.upc_at, "upc", message))
        for index, track in enumerate(release.facts.tracks):
            if track[0] not in by_isrc:
                continue
            field_name = f"tracks[{index}].isrc"
            for message in _isrc_conflicts(path, track, by_isrc[track[0]]):
                found.append(_at_track(release, index, field_name, message))
    return found


def _at_track(release: CheckedRelease, index: int, field_name: str, message: str) -> Diagnostic:
    return at_track(release, index, field_name, message, release.at(("tracks", index, "isrc")))


def at_track(
    release: CheckedRelease, index: int, field_name: str, message: str, at: tuple[int, int]
) -> Diagnostic:
    """A track's problem at ``at``, in the file its tracks are written in (saying for which
    release)."""
    path = release.facts.path
    if not release.tracks_in:
        return Diagnostic(path, *at, field_name, message)
    shown = f"{message} (for release {path})"
    return Diagnostic(release.tracks_in, *at, field_name, shown, release=path)


def _isrc_conflicts(
    path: str, track: tuple[str, str, float], uses: list[tuple[str, str, float]]
) -> list[str]:
    isrc, title, duration = track
    conflicts = []
    for other_path, other_title, other_duration in uses:
        if other_path == path:
            continue
        if other_title != title:
            conflicts.append(
                f"ISRC {isrc} is titled '{other_title}' in {other_path}, not '{title}'"
            )
        elif abs(other_duration - duration) > DURATION_TOLERANCE:
            conflicts.append(
                f"ISRC {isrc} lasts {other_duration:g} s in {other_path}, not {duration:g} s"
            )
    return conflicts
