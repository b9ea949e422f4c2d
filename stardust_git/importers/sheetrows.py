"""The rows of a CSV or XLSX file, streamed, with located errors for files that cannot be read."""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from stardust_git.errors import closest, did_you_mean
from stardust_git.importers.sheetmapping import SpreadsheetMapping
from stardust_git.importers.xmlsafe import input_error

XLSX_SUFFIXES = (".xlsx", ".xlsm")


def sheet_rows(path: Path, shown: str, mapping: SpreadsheetMapping) -> Iterator[tuple[Any, ...]]:
    """Every row of the file, the header first: text cells for a CSV, typed cells for XLSX."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise input_error(shown, "an Excel 97-2003 workbook: save it as .xlsx or CSV")
    if suffix in XLSX_SUFFIXES:
        return _xlsx_rows(path, shown, mapping)
    return _csv_rows(path, shown, mapping)


def _csv_rows(path: Path, shown: str, mapping: SpreadsheetMapping) -> Iterator[tuple[Any, ...]]:
    encoding = mapping.encoding
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # spreadsheet programs start their UTF-8 CSVs with a BOM
    with path.open("rb") as handle:
        reader = csv.reader(_decoded_lines(handle, shown, encoding), delimiter=mapping.delimiter)
        try:
            for row in reader:
                yield tuple(row)
        except csv.Error as exc:
            raise input_error(shown, f"cannot read the CSV: {exc}", reader.line_num) from None


def _decoded_lines(handle: IO[bytes], shown: str, encoding: str) -> Iterator[str]:
    """Lines as text; a byte the encoding cannot read is an error placed on its line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    for number, line in enumerate(handle, start=1):
        try:
            yield decoder.decode(line)
        except UnicodeDecodeError as exc:
            raise _not_decodable(shown, encoding, number, line, exc) from None


def _not_decodable(
    shown: str, encoding: str, number: int, line: bytes, exc: UnicodeDecodeError
) -> Exception:
    column = len(line[: exc.start].decode(encoding, "replace")) + 1
    name = "UTF-8" if encoding == "utf-8-sig" else encoding
    return input_error(
        shown,
        f"not {name} text: byte 0x{line[exc.start]:02x} ({exc.reason}); save the file as UTF-8"
        " or name its encoding in a mapping file (encoding: cp1252)",
        number,
        column,
    )


def _xlsx_rows(path: Path, shown: str, mapping: SpreadsheetMapping) -> Iterator[tuple[Any, ...]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise input_error(shown, f"not an XLSX workbook: {exc}") from None
    try:
        yield from _worksheet(book, shown, mapping.sheet).iter_rows(values_only=True)
    finally:
        book.close()


def _worksheet(book: Any, shown: str, name: str | None) -> Any:
    if name is None:
        return book.worksheets[0]
    if name not in book.sheetnames:
        hint = did_you_mean(closest(name, book.sheetnames))
        raise input_error(shown, f"no worksheet '{name}' (the mapping's sheet:){hint}")
    return book[name]
