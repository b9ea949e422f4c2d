"""``stardust-git notices``: which per-target failure issues to open, update or close."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stardust_git.display import visible
from stardust_git.report.notices import compute_notices


def notices_command(root: Path, output: str = "text") -> int:
    """Print the notices (json: the list the workflows feed to ``gh issue``); exit 0."""
    notices = compute_notices(root)
    if output == "json":
        click.echo(json.dumps([notice.as_dict() for notice in notices], indent=2))
        return 0
    for notice in notices:
        count = len(notice.failures)
        said = f"{count} failed release{'s' * (count != 1)}" if count else "nothing failed"
        click.echo(visible(f"{notice.state:6}  {notice.target}: {said}"))
    return 0
