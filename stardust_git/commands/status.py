"""``stardust-git status [UPC]``: where each release stands per target, from the receipts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stardust_git.commands.tables import Rows, print_rows
from stardust_git.display import terminal
from stardust_git.status import StatusRow, release_status

_STYLES = {"success": "green", "failed": "red", "pending": "yellow"}
_COLUMNS = (
    "UPC",
    "Release",
    "Target",
    "Wanted",
    "Status",
    "Last action",
    "When",
    "Commit",
    "Acknowledgement",
)


def status_command(root: Path, upc: str | None = None, output: str = "table") -> int:
    """Print the status; exit 1 when a UPC was asked for and nothing is known about it."""
    rows = release_status(root, upc)
    if output == "json":
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    elif rows or not upc:
        print_status(rows)
    if upc and not rows:
        click.echo(f"error: nothing is known about {upc} (no release file, no receipt)", err=True)
        return 1
    return 0


def print_status(rows: list[StatusRow]) -> None:
    if not rows:
        click.echo("no releases with targets, no receipts")
        return
    with_remote = any(row.remote for row in rows)  # only protocols that say anything have it
    table = Rows((*_COLUMNS, *(["Remote"] if with_remote else [])))
    for row in rows:
        status = f"[{_STYLES.get(row.status, 'white')}]{row.status}[/]"
        if row.error:
            status += f"\n{terminal(row.error, keep_newlines=True)}"
        cells = [
            row.upc,
            terminal(row.title),
            terminal(row.target),
            row.wanted,
            status,
            row.action,
            row.when,
            row.commit,
            terminal(row.acknowledgement),
        ]
        if with_remote:
            remote = "\n".join(f"{key}: {value}" for key, value in row.remote.items())
            cells.append(terminal(remote, keep_newlines=True))
        table.add(cells)
    print_rows(table)
