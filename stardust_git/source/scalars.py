"""How a plain YAML scalar reads: the catalog's rules, stricter than YAML 1.1's.

Scalars follow YAML 1.2's core schema for booleans (only true/false), so a territory code ``NO``
stays the string "NO", and numbers with a leading zero stay strings, so an EAN-13 such as
``0885686123458`` keeps its zero. Numbers and dates remember how they were written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9]+([eE][-+]?[0-9]+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
NUMBER_START = frozenset("0123456789+-.")
"""A plain scalar starting otherwise is a word (a string) unless it is one of SPECIAL_WORDS."""
SPECIAL_WORDS = frozenset(_NULLS | _BOOLS.keys())


class WrittenInt(int):
    """An integer read from a plain scalar; ``yaml_text`` is how it was written."""

    yaml_text: str


class WrittenFloat(float):
    """A float read from a plain scalar; ``yaml_text`` is how it was written (``1.10``)."""

    yaml_text: str


class WrittenDate(dt.date):
    """A date read from a plain scalar; ``yaml_text`` is how it was written."""

    yaml_text: str


def _written(value: WrittenInt | WrittenFloat | WrittenDate, text: str) -> Any:
    # Numbers and dates equal the plain values; text fields take the source back (models.Text).
    value.yaml_text = text
    return value


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar written as ``text``."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text[0] not in NUMBER_START:
        return text  # most scalars are words: skip the number and date patterns
    if _INT.fullmatch(text):
        return _written(WrittenInt(text.replace("_", "")), text)
    if _FLOAT.fullmatch(text):
        return _written(WrittenFloat(text.replace("_", "")), text)
    if _DATE.fullmatch(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return text
        return _written(WrittenDate(day.year, day.month, day.day), text)
    return text
