"""A spreadsheet mapping file: another layout's headers, constants, CSV dialect and date format."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from stardust_git.errors import Diagnostics, UserError, closest, did_you_mean
from stardust_git.importers.sheetlayout import FIELDS
from stardust_git.models.common import StrictModel


def _check_field(name: str) -> str:
    if name not in FIELDS:
        hint = did_you_mean(closest(name, FIELDS))
        raise PydanticCustomError(
            "field", "'{v}' is not a column of the default layout" + hint, {"v": name}
        )
    return name


FieldName = Annotated[str, AfterValidator(_check_field)]
"""A column of the default layout (docs/import-spreadsheets.md)."""


class SpreadsheetMapping(StrictModel):
    """How to read a spreadsheet in another layout (docs/import-spreadsheets.md)."""

    columns: dict[FieldName, str] = {}
    """A field of the default layout -> the header that holds it in this layout."""
    defaults: dict[FieldName, str] = {}
    """A field -> the value it takes when its column is absent or its cell is empty."""
    ignore: list[str] = []
    """Headers of columns to skip (any other unknown column is an error)."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    """The CSV field delimiter (one character: ``,``, ``;``, a tab)."""
    encoding: str = "utf-8"
    """The CSV's text encoding (utf-8, cp1252, latin-1 ...)."""
    date_format: str = "%Y-%m-%d"
    """How dates are written, in strftime codes (``%d/%m/%Y``); ISO dates are always read."""
    sheet: str | None = None
    """The XLSX worksheet to read; the first one when absent."""

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise PydanticCustomError(
                "encoding", "'{v}' is not a text encoding Python knows", {"v": value}
            ) from None
        return value

    @field_validator("date_format")
    @classmethod
    def _usable_date_format(cls, value: str) -> str:
        sample = dt.date(2024, 7, 31)
        try:
            read_back = dt.datetime.strptime(sample.strftime(value), value).date()
        except ValueError:
            read_back = None
        if read_back != sample:
            raise PydanticCustomError(
                "date_format",
                "'{v}' does not write a whole date (day, month and year), e.g. %d/%m/%Y",
                {"v": value},
            )
        return value


def load_mapping(path: Path) -> SpreadsheetMapping:
    """The mapping file at ``path``; a :class:`UserError` locating every problem in it."""
    from stardust_git.source.catalog import load_model

    diagnostics = Diagnostics()
    loaded = load_model(path, str(path), SpreadsheetMapping, diagnostics)
    if loaded is None:
        raise UserError(f"cannot read the mapping file {path}", diagnostics.sorted())
    return loaded.model
