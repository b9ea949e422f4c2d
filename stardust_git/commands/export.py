"""``stardust-git export``: the catalog and its delivery state as CSV or JSON."""

from __future__ import annotations

from pathlib import Path

import click

from stardust_git.errors import UserError
from stardust_git.fileio import write_text_atomic
from stardust_git.report.export import Table, csv_text, export_rows, json_text


def export_command(
    root: Path, output: str, table: Table, out: Path | None = None, bom: bool = False
) -> int:
    """Write the table to ``out`` (atomically) or print it."""
    rows = export_rows(root, table)
    text = json_text(rows) if output == "json" else csv_text(rows, table, bom)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            write_text_atomic(out, text)
        except OSError as exc:
            raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
        click.echo(f"wrote {len(rows)} {table} rows to {out}", err=True)
    return 0
