"""ISO 639 language codes, looked up in ``data/iso639.json`` (pycountry's table, written by
``scripts/extract_languages.py``): importing pycountry and indexing its 7,900 languages at run
time cost a one-file validate about 50 ms for this one membership test."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files


@cache
def _codes() -> frozenset[str]:
    text = files("stardust_git").joinpath("data/iso639.json").read_text(encoding="utf-8")
    table = json.loads(text)
    return frozenset(table["alpha_2"]) | frozenset(table["alpha_3"])


def is_language(code: str) -> bool:
    """Whether ``code`` is an ISO 639-1 (two-letter) or 639-3 (three-letter) code, lower case."""
    return code in _codes()
