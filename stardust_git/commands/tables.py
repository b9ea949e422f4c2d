"""Tables on a terminal (rich, coloured, folded to fit) or plain aligned columns elsewhere.

Piped or in CI a table is read by people scrolling a log and by scripts: a UPC, ISRC, target or
status word must never wrap, so each row is one line and the columns are padded to align.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text


@dataclass
class Rows:
    """A table being built: column titles, then rows of cells (rich markup allowed)."""

    columns: Sequence[str]
    rows: list[tuple[list[str], str]] = field(default_factory=list)
    """Each row's cells and its style ("" for none)."""

    def add(self, cells: list[str], style: str = "") -> None:
        self.rows.append((cells, style))


def print_rows(table: Rows, console: Console | None = None) -> None:
    """Print ``table`` as a rich table on a terminal, as plain aligned columns otherwise."""
    console = console or Console(highlight=False)
    if console.is_terminal:
        console.print(_rich_table(table))
    else:
        for line in plain_lines(table):
            click.echo(line)


def _rich_table(table: Rows) -> Table:
    shown = Table(show_lines=False)
    for column in table.columns:
        shown.add_column(column, overflow="fold")
    for cells, style in table.rows:
        shown.add_row(*cells, style=style or None)
    return shown


def plain_lines(table: Rows) -> list[str]:
    """One line per row, markup removed, line breaks in a cell shown as "; ", padded to align."""
    lines = [list(table.columns)] + [[_plain(cell) for cell in cells] for cells, _ in table.rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(table.columns))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]


def _plain(cell: str) -> str:
    return "; ".join(Text.from_markup(cell).plain.splitlines())
