"""One ERN 3.8.2 release built from the records its message left: the release file's data in
the example catalog's key order, its files, its notes and the values the reader had to choose
(genres matched back to the taxonomy, a year-only date, the first track's P line ...)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from stardust_git import vocabulary
from stardust_git.importers import ern_common as common
from stardust_git.importers.ern382_items import VERSION, FileRef, PendingRelease, Picture, Recording
from stardust_git.importers.model import ImportedRelease, ImportNote, Loc, ResourceFile

if TYPE_CHECKING:
    from stardust_git.importers.ern382 import MessageState


def build(
    state: MessageState, pending: PendingRelease, shared: list[ImportNote]
) -> ImportedRelease:
    upc = pending.fields["upc"]
    builder = _Builder(state, pending, upc or "unknown")
    data = builder.data()
    guessed = {**pending.guessed, **builder.guessed}
    return ImportedRelease(
        upc,
        common.compact(data),
        state.message.shown,
        pending.line,
        notes=[
            *_absent(pending, data),
            *_guesses(pending, guessed),
            *shared,
            *pending.notes,
            *builder.notes,
        ],
        guessed=guessed,
        resources=builder.resources,
        delivered_action="takedown" if _taken_down(state, pending, data["deals"]) else "initial",
        version=VERSION,
        message_id=state.header.get("message_id", ""),
        message_created=state.header.get("message_created", ""),
    )


def _taken_down(state: MessageState, pending: PendingRelease, deals: list[dict[str, Any]]) -> bool:
    """TakeDown deals, no deals, or only deals ended when the message was created."""
    on = common.created_date(state.header.get("message_created", ""))
    return pending.taken_down or common.is_takedown(deals, on)


def _guesses(pending: PendingRelease, guessed: dict[Loc, str]) -> list[ImportNote]:
    return [
        ImportNote("guessed", pending.xpath, f"{_loc_text(loc)}: {comment}")
        for loc, comment in guessed.items()
    ]


_REQUIRED = {
    "upc": "no ICPN (UPC)",
    "language": "no LanguageAndScriptCode",
    "c_line": "no C line",
    "cover": "no cover image file",
    "release_date": "no release date",
    "genre": "no genre",
}


def _absent(pending: PendingRelease, data: dict[str, Any]) -> list[ImportNote]:
    """Notes for what the release file needs and the message does not state."""
    where = pending.xpath
    return [
        ImportNote("info", where, f"the message states {missing}: the release file needs one")
        for key, missing in _REQUIRED.items()
        if not data.get(key)
    ]


class _Builder:
    """One release's data from its pending record and the resources it references."""

    def __init__(self, state: MessageState, pending: PendingRelease, folder: str) -> None:
        self.state, self.pending, self.folder = state, pending, folder
        self.notes: list[ImportNote] = []
        self.guessed: dict[Loc, str] = {}
        self.resources: list[ResourceFile] = []
        self.seen_notes: set[int] = set()
        self.instant_grat: list[str] = []
        """The resource references of the instant-gratification tracks (see :meth:`_deals`)."""

    def data(self) -> dict[str, Any]:
        fields = self.pending.fields
        recordings = self._recordings()
        genre = self._genre(self.pending.genre, ("genre",))
        language = self._language(recordings)
        deals = self._deals()  # before the tracks: it finds the instant-gratification ones
        return {
            "upc": fields["upc"],
            "title": fields["title"],
            "version": fields["version"],
            "artists": self._artist_roles(fields["artists"], ("artists",)),
            "label": fields["label"],
            "release_type": fields["release_type"],
            "release_date": self._date(fields["release_date"], ("release_date",)),
            "original_release_date": self._date(
                fields["original_release_date"], ("original_release_date",)
            ),
            "genre": genre,
            "language": language,
            "p_line": self._p_line(recordings),
            "c_line": self._c_line(),
            "parental_warning": fields["parental_warning"],
            "cover": self._cover(),
            "catalog_number": fields["catalog_number"],
            "tracks": self._tracks(recordings, genre, language),
            "deals": deals,
        }

    def _recordings(self) -> list[tuple[int, Recording]]:
        """(disc, recording) in play order: the resource groups, else the reference list."""
        discs = self.pending.discs or [(1, self.pending.references)]
        found = []
        for disc, references in discs:
            for reference in references:
                recording = self.state.recordings.get(reference)
                if recording is not None:
                    found.append((disc, recording))
                    self._note(recording.notes)
                elif reference not in self.state.pictures:
                    self.notes.append(_missing(self.pending, reference))
        return found

    def _note(self, notes: list[ImportNote]) -> None:
        if id(notes) not in self.seen_notes:
            self.seen_notes.add(id(notes))
            self.notes.extend(notes)

    def _genre(self, texts: tuple[str, str | None] | None, loc: Loc) -> str | None:
        found = common.genre_back(self.state.context.genres, texts)
        if found.problem:
            message = f"{_loc_text(loc)}: {found.problem}"
            self.notes.append(ImportNote("info", self.pending.xpath, message))
        if found.guess:
            self.guessed[loc] = found.guess
        return found.code

    def _language(self, recordings: list[tuple[int, Recording]]) -> str | None:
        stated = self.state.header.get("language")
        if stated:
            return stated
        spoken = [r.track["language"] for _, r in recordings if r.track["language"]]
        if spoken:
            self.guessed[("language",)] = "guessed: the first track's language of performance"
            return spoken[0]
        return None

    def _date(self, text: str | None, loc: Loc) -> dt.date | None:
        value, comment = common.read_date(text)
        if comment:
            self.guessed[loc] = comment
        if text and value is None:
            message = f"{_loc_text(loc)}: '{text}' is not a date (YYYY-MM-DD)"
            self.notes.append(ImportNote("info", self.pending.xpath, message))
        return value

    def _p_line(self, recordings: list[tuple[int, Recording]]) -> dict[str, Any] | None:
        stated = self.pending.fields["p_line"]
        if stated or not recordings:
            return stated
        first = recordings[0][1].p_line
        if first:
            self.guessed[("p_line",)] = "guessed: the first track's P line"
        return first

    def _c_line(self) -> dict[str, Any] | None:
        stated = self.pending.fields["c_line"]
        if stated:
            return stated
        cover = self._picture()
        if cover and cover.c_line:
            self.guessed[("c_line",)] = "guessed: the cover image's C line"
            return cover.c_line
        return None

    def _picture(self) -> Picture | None:
        pictures = [
            self.state.pictures[r] for r in self.pending.references if r in self.state.pictures
        ]
        fronts = [p for p in pictures if p.kind == "FrontCoverImage"]
        return (fronts or pictures or [None])[0]

    def _cover(self) -> str | None:
        picture = self._picture()
        if picture is None:
            return None
        self._note(picture.notes)
        return self._asset(
            picture.file, common.cover_name(picture.file.name if picture.file else "")
        )

    def _asset(self, file: FileRef | None, name: str) -> str | None:
        """The file's ``assets/<UPC>/`` path (``name`` is its name there)."""
        if file is None:
            return None
        self.resources.append(ResourceFile(file.source, name, file.md5, file.where))
        return common.asset_path(self.folder, name)

    def _tracks(
        self, recordings: list[tuple[int, Recording]], genre: str | None, language: str | None
    ) -> list[dict[str, Any]]:
        several_discs = len({disc for disc, _ in recordings}) > 1
        tracks = []
        for index, (disc, recording) in enumerate(recordings):
            track = dict(recording.track)
            track["disc"] = disc if several_discs else None
            name = common.audio_name(index + 1, recording.file.name if recording.file else "")
            track["audio"] = self._asset(recording.file, name)
            self._same_as_release(track, genre, language)
            track["artists"] = self._artist_roles(track["artists"], ("tracks", index, "artists"))
            self._check_roles(track["contributors"], index)
            track["genre"] = self._track_genre(recording, genre, index)
            track["instant_grat"] = True if recording.reference in self.instant_grat else None
            tracks.append(common.compact(_track_order(track)))
        return tracks

    def _same_as_release(
        self, track: dict[str, Any], genre: str | None, language: str | None
    ) -> None:
        """Values the track states that are the release's are left to the release."""
        fields = self.pending.fields
        if track["artists"] == fields["artists"]:
            track["artists"] = None
        if track["parental_warning"] == fields["parental_warning"]:
            track["parental_warning"] = None
        if language and track["language"] in (language, language.split("-")[0]):
            track["language"] = None

    def _artist_roles(self, artists: list[dict[str, Any]] | None, loc: Loc) -> Any:
        """3.8.2 roles the catalog has no display role for (Conductor, Band ...) become Artist."""
        for index, artist in enumerate(artists or ()):
            if not vocabulary.is_artist_role(artist["role"]):
                self.guessed[(*loc, index, "role")] = (
                    f"guessed: the message says '{artist['role']}'"
                )
                artist["role"] = "Artist"
        return artists

    def _check_roles(self, contributors: list[dict[str, Any]], index: int) -> None:
        for number, contributor in enumerate(contributors):
            if not vocabulary.known_contributor_role(contributor["role"]):
                loc = _loc_text(("tracks", index, "contributors", number, "role"))
                message = f"{loc}: contributor role '{contributor['role']}' has no catalog name"
                self.notes.append(ImportNote("info", self.pending.xpath, message))

    def _track_genre(self, recording: Recording, genre: str | None, index: int) -> str | None:
        code = self._genre(recording.genre, ("tracks", index, "genre"))
        return None if code == genre else code

    def _deals(self) -> list[dict[str, Any]]:
        deals = []
        for index, deal in enumerate(self.pending.deals):
            start = self._date(deal["start_date"], ("deals", index, "start_date"))
            if start is None:
                start = self._date(self.pending.fields["release_date"], ())
                self.guessed[("deals", index, "start_date")] = "guessed: the release date"
            end = self._date(deal["end_date"], ("deals", index, "end_date"))
            deals.append(common.compact({**deal, "start_date": start, "end_date": end}))
        regular, self.instant_grat, unmatched = common.fold_preorders(deals)
        for _ in unmatched:
            self.notes.append(ImportNote("unmapped", self.pending.xpath, common.LONE_PREORDER))
        return regular


def _track_order(track: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "isrc",
        "title",
        "version",
        "duration",
        "disc",
        "audio",
        "artists",
        "parental_warning",
        "language",
        "preview_start",
        "iswc",
        "genre",
        "contributors",
        "instant_grat",
    )
    return {key: track.get(key) for key in keys}


def _missing(pending: PendingRelease, reference: str) -> ImportNote:
    return ImportNote(
        "info",
        pending.xpath,
        f"the release lists resource {reference}, which the message does not describe",
    )


def _loc_text(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)
