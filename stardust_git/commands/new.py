"""``stardust-git new release``: a new release file from a template of the catalog repository.

Values not given as flags are asked for on a terminal (stdin and stdout are terminals and CI is
not set); piped or in CI they stay ``TODO(...)`` placeholders that ``validate`` reports.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from stardust_git.authoring.templates import FILLABLE, unfilled, write_new_release
from stardust_git.display import counted
from stardust_git.errors import UserError
from stardust_git.source.catalog import ISO_DATE, relative

_PROMPTS = {
    "upc": "UPC or EAN",
    "title": "Release title",
    "artist": "Main artist",
    "label": "Label",
    "date": "Release date (YYYY-MM-DD)",
}


def interactive() -> bool:
    """Whether a person is at a terminal to answer questions (never in CI or when piped)."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def new_release_command(
    root: Path, template: str, given: dict[str, str | None], out: Path | None
) -> int:
    """Write the release; say where, and which placeholders are left to fill."""
    values = {name: value for name, value in given.items() if value}
    if interactive():
        values |= _asked([name for name in FILLABLE if name not in values])
    _check_date(values.get("date"))
    path = write_new_release(root, template, values, out)
    click.echo(f"created {relative(root, path)} from template '{template}'")
    say_unfilled(path.read_text(encoding="utf-8"))
    return 0


def say_unfilled(text: str) -> None:
    """Name the placeholders left in a file just written."""
    left = unfilled(text)
    if left:
        count = counted(len(left), "placeholder")
        click.echo(f"{count} left to fill (validate lists each): {', '.join(left)}")


def _asked(names: list[str]) -> dict[str, str]:
    """The answers given at the prompt (an empty answer leaves the placeholder)."""
    answers = {}
    for name in names:
        answer = click.prompt(_PROMPTS[name], default="", show_default=False).strip()
        if answer:
            answers[name] = answer
    return answers


def _check_date(date: str | None) -> None:
    if date is None:
        return
    try:
        valid = bool(ISO_DATE.fullmatch(date)) and bool(dt.date.fromisoformat(date))
    except ValueError:
        valid = False
    if not valid:
        raise UserError(f"--date {date}: not a date; write it as YYYY-MM-DD (e.g. 2025-03-14)")
