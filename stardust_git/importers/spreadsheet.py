"""Spreadsheets (CSV, XLSX) with one row per track read into releases, grouped by UPC.

The file is read once, row by row: each release keeps only its release-level cells (checked for
agreement as rows arrive) and its tracks' cells. Releases are built and validated once the whole
file is read, so every error of the file is reported together before any release is handed over.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stardust_git.errors import Diagnostic, UserError, closest, did_you_mean
from stardust_git.importers.model import ImportContext, ImportedRelease
from stardust_git.importers.sheetbuild import ReleaseBuilder
from stardust_git.importers.sheetcells import as_text, number_instead_of_text
from stardust_git.importers.sheetlayout import FIELDS, RELEASE_FIELDS, REQUIRED
from stardust_git.importers.sheetmapping import SpreadsheetMapping
from stardust_git.importers.sheetrows import sheet_rows
from stardust_git.models.release import Release

_IDENTIFIERS = ("upc", "isrc")
"""Columns whose cells must be text: a number cell has lost its leading zeros."""


@dataclass
class Columns:
    """The header row read: which field each column holds."""

    fields: list[str | None]
    """Per column position: its field, "" for an ignored (or unknown) column, None for a column
    without a header."""
    headers: dict[str, tuple[str, int]]
    """Field -> its header as written and its 1-based column position."""
    mapping: SpreadsheetMapping

    def header(self, name: str) -> str:
        """The header that holds ``name`` (or, for a constant, the field's own name)."""
        return self.headers[name][0] if name in self.headers else name

    def position(self, name: str) -> int:
        return self.headers[name][1] if name in self.headers else 0


@dataclass
class PendingRelease:
    """A release's cells gathered while the file is read."""

    first_row: int
    cells: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Release-level field -> its first non-empty value and the row it is on."""
    tracks: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """(row, track-level field -> non-empty value) per row."""


def read_spreadsheet(
    path: Path, shown: str, context: ImportContext, mapping: SpreadsheetMapping | None = None
) -> Iterator[ImportedRelease]:
    """The releases of a CSV or XLSX file (one row per track), in order of their first row.

    Raises one :class:`UserError` listing every problem of the file (rows as lines, headers as
    fields) before any release is yielded.
    """
    reader = _SheetReader(path, shown, context, mapping or SpreadsheetMapping())
    yield from reader.check(reader.gather())


class _SheetReader:
    def __init__(
        self, path: Path, shown: str, context: ImportContext, mapping: SpreadsheetMapping
    ) -> None:
        self.path, self.shown, self.context, self.mapping = path, shown, context, mapping
        self.problems: list[Diagnostic] = []
        self.columns = Columns([], {}, mapping)
        self.refused_upc_row = 0

    def error(self, row: int, name: str, message: str) -> None:
        """A problem with a cell (``name`` a field) or, with an empty name, the row."""
        header = self.columns.header(name) if name else ""
        self.problems.append(
            Diagnostic(self.shown, row, self.columns.position(name), header, message)
        )

    def fail(self) -> None:
        if self.problems:
            raise UserError(f"cannot import {self.shown}", sorted(set(self.problems)))

    def gather(self) -> dict[str, PendingRelease]:
        rows = enumerate(sheet_rows(self.path, self.shown, self.mapping), start=1)
        header = next(rows, None)
        if header is None or not any(as_text(cell) for cell in header[1]):
            raise UserError(
                f"cannot import {self.shown}",
                [Diagnostic(self.shown, 1, 0, "", "the file is empty: expected a header row")],
            )
        self.columns = self._read_header(header[1])
        self.fail()
        pending: dict[str, PendingRelease] = {}
        for number, row in rows:
            self._take(number, row, pending)
        if not pending and not self.problems:
            self.error(1, "", "no rows below the header: nothing to import")
        self.fail()
        return pending

    def _read_header(self, row: tuple[Any, ...]) -> Columns:
        names = {header.casefold(): name for name, header in self.mapping.columns.items()}
        names.update({name: name for name in FIELDS if name not in self.mapping.columns})
        ignored = {header.casefold() for header in self.mapping.ignore}
        columns = Columns([], {}, self.mapping)
        for position, cell in enumerate(row, start=1):
            header = as_text(cell)
            name = names.get(header.casefold())
            columns.fields.append(name or ("" if header else None))
            if name in columns.headers:
                self._duplicate(header, position, columns.headers[name][1])
            elif name:
                columns.headers[name] = (header, position)
            elif header and header.casefold() not in ignored:
                self._unknown(header, position, names, columns)
        self._missing(columns)
        return columns

    def _duplicate(self, header: str, position: int, first: int) -> None:
        message = f"column '{header}' appears twice (columns {first} and {position})"
        self.problems.append(Diagnostic(self.shown, 1, position, header, message))

    def _unknown(self, header: str, position: int, names: dict[str, str], columns: Columns) -> None:
        expected = [header for header, name in names.items() if name not in columns.headers]
        hint = did_you_mean(closest(header.casefold(), expected))
        message = f"unknown column '{header}'{hint} (a mapping file can rename or ignore it)"
        self.problems.append(Diagnostic(self.shown, 1, position, header, message))

    def _missing(self, columns: Columns) -> None:
        for name in REQUIRED:
            if name not in columns.headers and name not in self.mapping.defaults:
                header = self.mapping.columns.get(name, name)
                message = f"missing column '{header}' (required; or give a constant in defaults:)"
                self.problems.append(Diagnostic(self.shown, 1, 0, header, message))

    def _take(self, number: int, row: tuple[Any, ...], pending: dict[str, PendingRelease]) -> None:
        values = self._values(number, row)
        if not values:
            return
        upc = values.pop("upc", None) or self.mapping.defaults.get("upc")
        if not upc:
            if self.refused_upc_row != number:
                self.error(number, "upc", "empty: every row needs the UPC of its release")
            return
        release = pending.get(upc)
        if release is None:
            release = pending[upc] = PendingRelease(number, {"upc": (upc, number)})
        self._agree(number, upc, values, release)
        release.tracks.append((number, values))

    def _values(self, number: int, row: tuple[Any, ...]) -> dict[str, str]:
        """The row's non-empty cells by field (release-level ones included)."""
        values: dict[str, str] = {}
        for position, cell in enumerate(row):
            if cell is None or cell == "":
                continue
            name = self.columns.fields[position] if position < len(self.columns.fields) else None
            text = cell.strip() if isinstance(cell, str) else self._typed(number, name, cell)
            if text and name:
                values[name] = text
            elif text and name is None:
                self._stray(number, position, text)
        return values

    def _typed(self, number: int, name: str | None, cell: Any) -> str:
        complaint = number_instead_of_text(cell) if name in _IDENTIFIERS else None
        if complaint and name:
            self.error(number, name, complaint)
            self.refused_upc_row = number if name == "upc" else self.refused_upc_row
            return ""
        return as_text(cell)

    def _stray(self, number: int, position: int, text: str) -> None:
        message = f"'{text}' is in column {position + 1}, which has no header"
        self.problems.append(Diagnostic(self.shown, number, position + 1, "", message))

    def _agree(
        self, number: int, upc: str, values: dict[str, str], release: PendingRelease
    ) -> None:
        for name in RELEASE_FIELDS:
            value = values.pop(name, None)
            if value is None:
                continue
            first = release.cells.setdefault(name, (value, number))
            if first[0] != value:
                self.error(
                    number,
                    name,
                    f"row {number} says '{value}' but row {first[1]} says '{first[0]}':"
                    f" the rows of release {upc} must agree",
                )

    def builder(self, upc: str, release: PendingRelease) -> ReleaseBuilder:
        return ReleaseBuilder(upc, release, self, self.context.genres)

    def check(self, pending: dict[str, PendingRelease]) -> list[ImportedRelease]:
        """Build and validate every release (each built once); raise with all the problems found."""
        built = []
        for upc, release in pending.items():
            builder = self.builder(upc, release)
            imported = builder.build()
            if not builder.failed:
                imported.validated = self._validate(imported, builder)
            built.append(imported)
        self.fail()
        return built

    def _validate(self, imported: ImportedRelease, builder: ReleaseBuilder) -> bool:
        try:
            Release.model_validate(imported.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                row, name = builder.locate(tuple(error["loc"]))
                self.error(row, name, _message(error))
            return False
        return True


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "required: the cell is empty"
    return str(error["msg"]).removeprefix("Value error, ")
