"""Catalog and DSP text made safe to show: in a terminal, in rich markup and in markdown.

Text from the catalog, a receipt or a DSP's acknowledgement is data, never formatting: a title
must not move the cursor, recolour the terminal, open a ``<details>`` in a pull request comment,
mention ``@org/team`` or turn into a link.
"""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, bidirectional overrides and isolates (they reorder what follows them
#: on the line), zero-width and line/paragraph separators, and the byte order mark.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
#: What makes inline markdown (emphasis, code, links, images, strike-through, table cells); the
#: text never starts a line, so list and heading markers need no escape.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()!|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_ZERO_WIDTH_SPACE = "\u200b"
_AUTOLINKS = (
    ("@", "@" + _ZERO_WIDTH_SPACE),
    ("://", ":" + _ZERO_WIDTH_SPACE + "//"),
    ("www.", "www" + _ZERO_WIDTH_SPACE + "."),
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control or invisible formatting character written as an escape
    (``ESC`` -> ``\\x1b``), so a terminal shows it instead of obeying it."""
    if keep_newlines:
        return "\n".join(_UNSAFE.sub(_escaped, line) for line in text.split("\n"))
    return _UNSAFE.sub(_escaped, text)


def terminal(text: str, keep_newlines: bool = False) -> str:
    """``text`` for a rich console: controls visible, ``[bold]`` shown as written."""
    from rich.markup import escape  # rich loads only for commands that draw tables

    return escape(visible(text, keep_newlines))


def markdown(text: str) -> str:
    """``text`` as literal markdown inline text (a table cell included): controls visible, HTML
    escaped, markdown punctuation backslash-escaped (no links, images, emphasis or cell breaks),
    and a zero-width space after ``@``, in ``://`` and in ``www.``, so ``@org/team`` notifies
    nobody and no address becomes a link."""
    shown = visible(text)
    for plain, broken in _AUTOLINKS:
        shown = shown.replace(plain, broken)
    shown = _MARKDOWN_SPECIAL.sub(r"\\\1", shown)
    return "".join(_HTML.get(char, char) for char in shown)


def counted(count: int, noun: str, plural: str = "") -> str:
    """``"1 release"``, ``"2 releases"`` (``plural`` for nouns that do not just take an s)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
