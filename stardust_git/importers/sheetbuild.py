"""One release's gathered spreadsheet cells built into an ImportedRelease, every cell located."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from stardust_git.errors import did_you_mean
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.model import ImportedRelease, Loc, ResourceFile
from stardust_git.importers.sheetcells import (
    CellError,
    read_artists,
    read_contributors,
    read_date,
    read_duration,
    read_int,
    read_list,
)
from stardust_git.importers.sheetlayout import DEAL_PARTS, DEAL_PREFIXES
from stardust_git.models.release import Release, Track

if TYPE_CHECKING:
    from stardust_git.importers.spreadsheet import PendingRelease, _SheetReader

Parse = Callable[[str], Any]
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_LAST = 10**9


class ReleaseBuilder:
    """Builds one release's data in the example catalog's key order, remembering which cell
    every value came from (to place the model's complaints)."""

    def __init__(
        self, upc: str, pending: PendingRelease, reader: _SheetReader, genres: GenreLookup
    ) -> None:
        self.upc, self.pending, self.reader, self.genres = upc, pending, reader, genres
        self.where: dict[Loc, tuple[int, str]] = {("upc",): (pending.first_row, "upc")}
        self.failed = False
        self.guessed: dict[Loc, str] = {}
        self.resources: list[ResourceFile] = []
        self.file_rows: dict[str, int] = {}

    def locate(self, loc: Loc) -> tuple[int, str]:
        """The row and field a model error at ``loc`` is about (the deepest known part)."""
        for end in range(len(loc), 0, -1):
            found = self.where.get(loc[:end])
            if found:
                return found
        return self.pending.first_row, ""

    def build(self) -> ImportedRelease:
        data = self._release()
        if data["release_type"] is None and not self.failed:
            data["release_type"] = self._guessed_type(data["tracks"])
        return ImportedRelease(
            self.upc,
            _compact(data),
            self.reader.shown,
            self.pending.first_row,
            guessed=self.guessed,
            resources=self.resources,
        )

    def _release(self) -> dict[str, Any]:
        value = self._release_cell
        return {
            "upc": self.upc,
            "title": value("release_title", ("title",)),
            "version": value("release_version", ("version",)),
            "artists": value("release_artists", ("artists",), read_artists),
            "label": value("label", ("label",)),
            "release_type": value("release_type", ("release_type",)),
            "release_date": value("release_date", ("release_date",), self._date),
            "original_release_date": value(
                "original_release_date", ("original_release_date",), self._date
            ),
            "genre": value("genre", ("genre",), self._genre),
            "language": value("language", ("language",)),
            "p_line": self._copyright_line("p"),
            "c_line": self._copyright_line("c"),
            "parental_warning": value("parental_warning", ("parental_warning",)),
            "cover": self._release_file(),
            "catalog_number": value("catalog_number", ("catalog_number",)),
            "tracks": self._tracks(),
            "deals": self._deals(),
        }

    def _cell(self, name: str, loc: Loc, text: str | None, row: int, parse: Parse | None) -> Any:
        """The value of field ``name`` on ``row`` (its constant when empty), parsed; a cell that
        cannot be read is reported and gives None."""
        text = text or self.reader.mapping.defaults.get(name)
        self.where[loc] = (row, name)
        if not text or parse is None:
            return text or None
        try:
            return parse(text)
        except CellError as exc:
            self.reader.error(row, name, str(exc))
            self.failed = True
            return None

    def _release_cell(self, name: str, loc: Loc, parse: Parse | None = None) -> Any:
        text, row = self.pending.cells.get(name, ("", self.pending.first_row))
        return self._cell(name, loc, text, row, parse)

    def _date(self, text: str) -> Any:
        return read_date(text, self.reader.mapping.date_format)

    def _genre(self, text: str) -> str:
        found = self.genres.match(text)
        if found.code is None:
            raise CellError(
                f"'{text}' is not a genre of the taxonomy{did_you_mean(found.suggestion)}"
            )
        if found.guessed:
            self.guessed[("genre",)] = f"guessed: several genres are sent as '{text}'"
        return found.code

    def _copyright_line(self, kind: str) -> dict[str, Any] | None:
        loc = (f"{kind}_line",)
        year = self._release_cell(f"{kind}_line_year", (*loc, "year"), _year)
        owner = self._release_cell(f"{kind}_line_owner", (*loc, "owner"))
        self.where[loc] = self.where[(*loc, "owner")]
        return _compact({"year": year, "owner": owner}) or None

    def _release_file(self) -> str | None:
        text, row = self.pending.cells.get("cover", ("", self.pending.first_row))
        md5 = self.pending.cells.get("cover_md5", ("", row))[0]
        return self._file("cover", ("cover",), (text, row), md5)

    def _file(self, name: str, loc: Loc, cell: tuple[str, int], md5_text: str) -> str | None:
        """The ``assets/<UPC>/`` path of the file a cell names; the file becomes a resource."""
        text, row = cell
        text = self._cell(name, loc, text, row, None)
        md5 = self._cell(f"{name}_md5", (), md5_text, row, _md5) if md5_text else None
        if not text:
            return None
        file_name = PurePosixPath(text.replace("\\", "/")).name
        if file_name in self.file_rows:
            first = self.file_rows[file_name]
            self.reader.error(row, name, f"'{file_name}' is also the file of row {first}")
            self.failed = True
        self.file_rows.setdefault(file_name, row)
        where = f"row {row}, column {self.reader.columns.header(name)}"
        self.resources.append(ResourceFile(self.reader.path.parent / text, file_name, md5, where))
        return f"assets/{self.upc}/{file_name}"

    def _tracks(self) -> list[dict[str, Any]]:
        rows = sorted(self.pending.tracks, key=self._order)
        self._check_positions(rows)
        return [self._track(index, row, cells) for index, (row, cells) in enumerate(rows)]

    def _order(self, track: tuple[int, dict[str, str]]) -> tuple[int, int, int]:
        row, cells = track
        disc = _int_or(self._text(cells, "disc"), 1)
        return disc, _int_or(self._text(cells, "track_number"), _LAST), row

    def _text(self, cells: dict[str, str], name: str) -> str | None:
        return cells.get(name) or self.reader.mapping.defaults.get(name)

    def _check_positions(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        seen: dict[tuple[int, int], int] = {}
        for track in rows:
            disc, number, row = self._order(track)
            if number != _LAST and seen.setdefault((disc, number), row) != row:
                message = f"track {number} of disc {disc} is also on row {seen[(disc, number)]}"
                self.reader.error(row, "track_number", message)
                self.failed = True

    def _track(self, index: int, row: int, cells: dict[str, str]) -> dict[str, Any]:
        loc: Loc = ("tracks", index)
        self.where[loc] = (row, "")

        def value(name: str, key: str, parse: Parse | None = None) -> Any:
            return self._cell(name, (*loc, key), cells.get(name), row, parse)

        value("track_number", "track_number", _track_number)
        audio = (cells.get("audio", ""), row)
        return _compact(
            {
                "isrc": value("isrc", "isrc"),
                "title": value("track_title", "title"),
                "version": value("track_version", "version"),
                "duration": value("duration", "duration", read_duration),
                "disc": value("disc", "disc", _disc),
                "audio": self._file("audio", (*loc, "audio"), audio, cells.get("audio_md5", "")),
                "artists": value("track_artists", "artists", read_artists),
                "parental_warning": value("track_parental_warning", "parental_warning"),
                "language": value("track_language", "language"),
                "preview_start": value("preview_start", "preview_start", _seconds),
                "iswc": value("iswc", "iswc"),
                "contributors": value("contributors", "contributors", read_contributors),
            }
        )

    def _deals(self) -> list[dict[str, Any]]:
        deals = []
        for prefix in DEAL_PREFIXES:
            if self._stated(prefix):
                deals.append(self._deal(prefix, ("deals", len(deals))))
        return deals

    def _stated(self, prefix: str) -> bool:
        """A deal is there when a cell states part of it or its territories are a constant (a
        constant commercial model alone applies to the deals the sheet states)."""
        in_sheet = any(prefix + part in self.pending.cells for part in DEAL_PARTS)
        return in_sheet or prefix + "territories" in self.reader.mapping.defaults

    def _deal(self, prefix: str, loc: Loc) -> dict[str, Any]:
        def value(part: str, parse: Parse | None = None) -> Any:
            return self._release_cell(prefix + part, (*loc, part), parse)

        lists = ("territories", "excluded_territories", "commercial_models", "use_types")
        deal = {part: value(part, read_list) for part in lists}
        deal["start_date"] = value("start_date", self._date) or self._street_date(loc)
        deal["end_date"] = value("end_date", self._date)
        deal["price_tier"] = value("price_tier")
        self.where[loc] = self.where[(*loc, "territories")]
        return _compact(deal)

    def _street_date(self, loc: Loc) -> Any:
        release_date = self._release_cell("release_date", ("release_date",), self._date)
        if release_date is not None:
            self.guessed[(*loc, "start_date")] = "the release date: the sheet gives no start date"
        return release_date

    def _guessed_type(self, tracks: list[dict[str, Any]]) -> str | None:
        durations = [track.get("duration") for track in tracks]
        if not durations or None in durations:
            return None
        shape = Release.model_construct(
            release_type=None, tracks=[Track.model_construct(duration=d) for d in durations]
        )
        guess = shape.effective_release_type()
        total = int(shape.duration)
        self.guessed[("release_type",)] = (
            f"guessed from {len(tracks)} track{'s' if len(tracks) > 1 else ''},"
            f" {total // 60}:{total % 60:02d} in all"
        )
        return guess


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != []}


def _int_or(text: str | None, fallback: int) -> int:
    try:
        return read_int(text, "") if text else fallback
    except CellError:
        return fallback


def _year(text: str) -> int:
    return read_int(text, "a year")


def _disc(text: str) -> int:
    return read_int(text, "a disc number")


def _track_number(text: str) -> int:
    return read_int(text, "a track number")


def _seconds(text: str) -> int:
    return read_int(text, "a whole number of seconds")


def _md5(text: str) -> str:
    if not _MD5.fullmatch(text):
        raise CellError(f"'{text}' is not an MD5 (32 hexadecimal digits)")
    return text.lower()
