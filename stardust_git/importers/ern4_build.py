"""One ERN 4.x release built from what the message gathered: the release file's data in the
example catalog's key order, its files, its notes and the values the reader had to choose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stardust_git.importers import ern_common as common
from stardust_git.importers.model import (
    ImportContext,
    ImportedRelease,
    ImportNote,
    Loc,
    ResourceFile,
)
from stardust_git.importers.xmlsafe import Message

if TYPE_CHECKING:
    from stardust_git.importers.ern4 import Gathered

Data = dict[str, Any]
_TRACK_DEALS = "deals for track releases alone: the catalog's deals are the release's"


class ReleaseBuilder:
    """Builds one release of a gathered message."""

    def __init__(
        self, gathered: Gathered, release: Data, message: Message, context: ImportContext
    ) -> None:
        self.gathered, self.release, self.message = gathered, release, message
        self.genres = context.genres
        self.upc = common.icpn(release["icpn"])
        self.notes: list[ImportNote] = [*gathered.header_notes, *release["notes"]]
        self.guessed: dict[Loc, str] = {}
        self.resources: list[ResourceFile] = []
        self.track_releases: list[Data] = []
        self.recordings: list[Data] = []
        self.instant_grat: list[str] = []
        """The resource references of the instant-gratification tracks (see :meth:`_deals`)."""

    def build(self) -> ImportedRelease:
        """The release, ready for the writer."""
        self._check_icpn()
        release = self.release
        deals = self._deals()
        tracks = self._tracks()
        data = {
            "upc": self.upc,
            "title": release["title"],
            "version": release["version"],
            "artists": release["artists"],
            "label": release["label"],
            "release_type": release["release_type"],
            "release_date": release["release_date"] or self._release_date(deals),
            "original_release_date": release["original_release_date"],
            "genre": self._genre(release["genre"], ("genre",)),
            "language": self.gathered.language or None,
            "p_line": None,
            "c_line": None,
            "parental_warning": release["parental_warning"],
            "cover": self._cover(),
            "catalog_number": release["catalog_number"],
            "tracks": tracks,
            "deals": deals,
        }
        self._lines(data)
        self._party_notes(data)
        return self._imported(common.compact(data), deals)

    def _imported(self, data: Data, deals: list[Data]) -> ImportedRelease:
        header = self.gathered.header
        created = header.get("message_created", "")
        takedown = common.is_takedown(deals, common.created_date(created))
        return ImportedRelease(
            self.upc,
            data,
            self.message.shown,
            self.release["line"],
            notes=self.notes,
            guessed=self.guessed,
            resources=self.resources,
            delivered_action="takedown" if takedown else "initial",
            version=self.gathered.version,
            message_id=header.get("message_id", ""),
            message_created=created,
        )

    def _guess(self, loc: Loc, comment: str) -> None:
        self.guessed[loc] = comment
        where = f"{self.release['xpath']} ({'.'.join(str(part) for part in loc)})"
        self.notes.append(ImportNote("guessed", where, comment))

    def _check_icpn(self) -> None:
        stated = self.release["icpn"]
        if stated and not self.upc:
            message = f"ICPN '{stated}' is not a UPC-A or EAN-13 with a valid check digit"
            self.notes.append(ImportNote("info", f"{self.release['xpath']}/ReleaseId", message))

    # --- tracks and files ------------------------------------------------------------------

    def _tracks(self) -> list[Data]:
        resources = self.gathered.resources
        discs = [
            (disc, [ref for ref in refs if resources.get(ref, {}).get("kind") == "SoundRecording"])
            for disc, refs in self.release["discs"]
        ]
        discs = [(disc, refs) for disc, refs in discs if refs]
        if not self.release["artists"] and discs:
            # A track release names no display artists of its own: its recording's are its.
            self.release["artists"] = resources[discs[0][1][0]]["artists"]
        several = len(discs) > 1
        tracks: list[Data] = []
        for disc, references in discs:
            for reference in references:
                recording = resources[reference]
                self.recordings.append(recording)
                self.notes.extend(recording["notes"])
                tracks.append(self._track(recording, len(tracks), disc if several else None))
        return tracks

    def _track(self, recording: Data, index: int, disc: int | None) -> Data:
        release = self.release
        track_release = self._track_release(recording["ref"])
        genre = track_release["genre"] if track_release else None
        duration = recording["duration"]
        return {
            "isrc": recording["isrc"],
            "title": recording["title"],
            "version": recording["version"],
            "duration": common.catalog_number(duration) if duration else None,
            "audio": self._audio(recording, index),
            "disc": disc,
            "artists": _unless(recording["artists"], release["artists"]),
            "contributors": recording["contributors"],
            "parental_warning": _unless(
                recording["parental_warning"], release["parental_warning"] or "NoAdviceAvailable"
            ),
            "iswc": recording["iswc"],
            "language": _unless(recording["language"], self.gathered.language),
            "preview_start": recording["preview_start"],
            "genre": self._track_genre(genre, index),
            "instant_grat": True if recording["ref"] in self.instant_grat else None,
        }

    def _track_release(self, reference: str) -> Data | None:
        found = self.gathered.track_release_of.get(reference)
        if found is not None and found is not self.release:
            self.notes.extend(found["notes"])
            self.track_releases.append(found)
            return found
        return None

    def _audio(self, recording: Data, index: int) -> str:
        file = recording["file"]
        name = common.audio_name(index + 1, file.get("uri", ""))
        if not file:
            self._guess(("tracks", index, "audio"), "guessed: the message names no audio file")
        self._bring(file, name)
        return common.asset_path(self.upc, name)

    def _bring(self, file: Data, name: str) -> None:
        if not file:
            return
        source = common.local_file(file["uri"], self.message.path.parent)
        if source is None:
            message = f"'{file['uri']}' is not a file beside the message: bring it in by hand"
            self.notes.append(ImportNote("info", file["where"], message))
            return
        self.resources.append(ResourceFile(source, name, file["md5"], file["where"]))

    def _cover(self) -> str:
        image = self._image()
        file = image["file"] if image else {}
        name = common.cover_name(file.get("uri", ""))
        if image:
            self.notes.extend(image["notes"])
        if not file:
            self._guess(("cover",), "guessed: the message names no cover image file")
        self._bring(file, name)
        return common.asset_path(self.upc, name)

    def _image(self) -> Data | None:
        resources = self.gathered.resources
        linked = [resources.get(ref) for ref in self.release["linked"]]
        images = [image for image in linked if image and image["kind"] == "Image"]
        if not images and self.gathered.only_image is not None:
            images = [self.gathered.only_image]
        fronts = [image for image in images if image["type"] == "FrontCoverImage"]
        return (fronts or images or [None])[0]

    # --- genre, dates, lines, deals ----------------------------------------------------------

    def _genre(self, genre: tuple[str, str | None] | None, loc: Loc) -> str | None:
        found = common.genre_back(self.genres, genre)
        if found.problem:
            where = f"{self.release['xpath']}/Genre"
            self.notes.append(ImportNote("info", where, found.problem))
        if found.guess:
            self._guess(loc, found.guess)
        return found.code

    def _track_genre(self, genre: tuple[str, str | None] | None, index: int) -> str | None:
        if genre is None or genre == self.release["genre"]:
            return None
        return self._genre(genre, ("tracks", index, "genre"))

    def _release_date(self, deals: list[Data]) -> Any:
        starts = [deal["start_date"] for deal in deals if deal.get("start_date")]
        if not starts:
            return None
        self._guess(("release_date",), "guessed: the earliest deal start (no ReleaseDate)")
        return min(starts)

    def _lines(self, data: Data) -> None:
        recordings = self._recording_lines()
        image = self._image()
        found = {
            "p_line": self.release["p_line"] or (recordings[0] if recordings else {}),
            "c_line": self.release["c_line"] or (image["c_line"] if image else {}),
        }
        for key, line in found.items():
            data[key] = self._complete_line(key, dict(line), data)

    def _recording_lines(self) -> list[Data]:
        """The tracks' P lines; one that differs from the release's is not carried."""
        release_line = self.release["p_line"]
        lines = []
        for recording in self.recordings:
            line = recording["p_line"]
            if line and release_line and line != release_line:
                message = f"the track's P line {line} differs from the release's"
                self.notes.append(ImportNote("unmapped", f"{recording['xpath']}/PLine", message))
            if line:
                lines.append(line)
        return lines

    def _complete_line(self, key: str, line: Data, data: Data) -> Data:
        date = data.get("release_date")
        if "year" not in line and date is not None:
            line["year"] = date.year
            self._guess((key, "year"), "guessed: the release date's year")
        if "owner" not in line and data.get("label"):
            line["owner"] = data["label"]
            self._guess((key, "owner"), "guessed: the label")
        return {"year": line.get("year"), "owner": line.get("owner")}

    def _deals(self) -> list[Data]:
        entries = self.gathered.deals_of.get(self.release["ref"] or "", [])
        for entry in entries:
            self.notes.extend(entry["notes"])
        self._track_deal_notes(entries)
        stated = [deal for entry in entries for deal in entry["deals"]]
        regular, self.instant_grat, unmatched = common.fold_preorders(stated)
        for _ in unmatched:
            self.notes.append(ImportNote("unmapped", self.release["xpath"], common.LONE_PREORDER))
        return common.merge_deals(regular)

    def _track_deal_notes(self, own: list[Data]) -> None:
        """Deals stated for the release's track releases only: the catalog has no such field."""
        seen = {id(entry) for entry in own}
        for _, references in self.release["discs"]:
            for reference in references:
                track_release = self.gathered.track_release_of.get(reference)
                found = self.gathered.deals_of.get(track_release["ref"]) if track_release else None
                for entry in found or []:
                    if id(entry) not in seen:
                        seen.add(id(entry))
                        self.notes.append(ImportNote("unmapped", entry["xpath"], _TRACK_DEALS))

    def _party_notes(self, data: Data) -> None:
        names = {data.get("label")}
        for person in [*data["artists"], *_track_people(data["tracks"])]:
            names.add(person["name"])
        for name in names:
            self.notes.extend(self.gathered.party_notes.get(name or "", []))


def _track_people(tracks: list[Data]) -> list[Data]:
    return [
        person
        for track in tracks
        for key in ("artists", "contributors")
        for person in track[key] or []
    ]


def _unless(value: Any, default: Any) -> Any:
    """``value`` when it says something ``default`` does not, else None (left out)."""
    return None if value == default else value
