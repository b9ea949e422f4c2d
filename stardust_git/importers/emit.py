"""Release data as YAML text in the example catalog's style.

Block style for the release and its tracks and deals; flow style for mappings of plain values
(``artists``, ``contributors``, ``p_line``) and for short lists of plain values (``[Worldwide]``);
the UPC quoted, dates plain. Scalars are written plain when that is certain to read back as the
same string; anything else goes through PyYAML's representer, which quotes and escapes it.
A guessed value gets a ``# guessed: ...`` comment on its line.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import yaml

from stardust_git.importers.model import Loc

FLOW_WIDTH = 96
"""A flow mapping or list longer than this is written in block style instead."""
COMMENT_COLUMN = 32
"""Comments start at this column (as in the example catalog) or two spaces after the value."""
QUOTED_KEYS = frozenset({"upc"})
"""Keys whose string values are always quoted (an identifier that looks like a number)."""
FLOW_KEYS = frozenset({"artists", "contributors", "p_line", "c_line"})
"""Mappings written in flow style: these values, and the items of these lists."""

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._/()&!'+-]*")
_YAML_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
)  # YAML 1.1 booleans and null: never plain
_FLOW_UNSAFE = frozenset(",[]{}")

Line = tuple[str, Loc]
"""One emitted line and the location of the value it holds."""


def release_yaml(data: dict[str, Any], guessed: dict[Loc, str], modeline: str) -> str:
    """The release file's text: the modeline, then ``data`` in key order, comments beside the
    values in ``guessed``."""
    lines = list(_mapping_block(data, (), 0))
    comments = _comments_by_line(lines, guessed)
    body = [_with_comment(text, comments.get(index)) for index, (text, _) in enumerate(lines)]
    return "\n".join([modeline, *body]) + "\n"


def _mapping_block(data: dict[str, Any], loc: Loc, indent: int) -> list[Line]:
    lines: list[Line] = []
    for key, value in data.items():
        lines += _entry(key, value, (*loc, key), indent)
    return lines


def _entry(key: str, value: Any, loc: Loc, indent: int) -> list[Line]:
    head = " " * indent + f"{key}:"
    inline = _inline(value, key)
    if inline is not None:
        return [(f"{head} {inline}", loc)]
    if isinstance(value, dict):
        return [(head, loc), *_mapping_block(value, loc, indent + 2)]
    return [(head, loc), *_sequence_block(value, loc, indent + 2)]


def _sequence_block(items: list[Any], loc: Loc, indent: int) -> list[Line]:
    lines: list[Line] = []
    key = str(loc[-1]) if loc else ""
    for index, item in enumerate(items):
        item_loc = (*loc, index)
        inline = _inline(item, key)
        if inline is not None:
            lines.append((" " * indent + f"- {inline}", item_loc))
            continue
        nested = _mapping_block(item, item_loc, indent + 2) if isinstance(item, dict) else []
        if not nested:  # a long list inside a list: not a release's shape, kept valid anyway
            lines.append((" " * indent + f"- {_flow(item)}", item_loc))
            continue
        first, first_loc = nested[0]
        lines += [(" " * indent + "- " + first[indent + 2 :], first_loc), *nested[1:]]
    return lines


def _inline(value: Any, key: str) -> str | None:
    """``value`` on one line when the style wants it so: scalars, and flow collections of
    scalars short enough; None for a block."""
    if not isinstance(value, dict | list):
        return _scalar(value, quoted=key in QUOTED_KEYS)
    if not value:
        return _flow(value)
    if isinstance(value, dict) and key not in FLOW_KEYS:
        return None
    if any(isinstance(item, dict | list) for item in _values(value)):
        return None
    text = _flow(value)
    return text if len(text) <= FLOW_WIDTH else None


def _values(value: dict[str, Any] | list[Any]) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else value


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        parts = [f"{key}: {_flow(item)}" for key, item in value.items()]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return _scalar(value, flow=True)


def _scalar(value: Any, quoted: bool = False, flow: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return _string(str(value), quoted, flow)


@lru_cache(maxsize=65536)
def _string(text: str, quoted: bool, flow: bool) -> str:
    """``text`` as a YAML scalar that the catalog's loader reads back as exactly ``text``."""
    if quoted and text.isascii() and text.isalnum():
        return f'"{text}"'
    if _plain_is_safe(text, flow):
        return text
    return _dumped(text, flow)


def _plain_is_safe(text: str, flow: bool) -> bool:
    if not _PLAIN.fullmatch(text) or text.endswith(" ") or text.casefold() in _YAML_WORDS:
        return False
    return not (flow and _FLOW_UNSAFE.intersection(text))


def _dumped(text: str, flow: bool) -> str:
    """PyYAML's choice of style and escapes (it quotes what YAML 1.1 would read as another type,
    a superset of what the catalog's YAML 1.2 loader would)."""
    if flow:
        dumped = yaml.safe_dump([text], default_flow_style=True, width=1 << 30, allow_unicode=True)
        return dumped.strip()[1:-1]
    dumped = yaml.safe_dump(text, width=1 << 30, allow_unicode=True)
    return dumped.removesuffix("\n...\n").strip()


def _comments_by_line(lines: list[Line], guessed: dict[Loc, str]) -> dict[int, str]:
    """Line index -> comment, each guessed location on the line holding it (or its nearest
    enclosing value: a guessed role inside a flow mapping goes on the mapping's line)."""
    index_of = {loc: index for index, (_, loc) in reversed(list(enumerate(lines)))}
    comments: dict[int, list[str]] = {}
    for loc, text in guessed.items():
        holder = next((loc[:n] for n in range(len(loc), 0, -1) if loc[:n] in index_of), None)
        if holder is not None:
            comments.setdefault(index_of[holder], []).append(_comment_text(text))
    return {index: "; ".join(texts) for index, texts in comments.items()}


def _comment_text(text: str) -> str:
    flat = " ".join(text.split())
    return flat if flat.startswith("guessed") else f"guessed: {flat}"


def _with_comment(text: str, comment: str | None) -> str:
    if comment is None:
        return text
    return f"{text.ljust(COMMENT_COLUMN - 2)}  # {comment}"
