"""``stardust-git schemas``: regenerate schemas/ from the models."""

from __future__ import annotations

from pathlib import Path

import click

from stardust_git.schemas import stale_schemas, write_schemas


def schemas_command(root: Path, check: bool = False) -> int:
    if check:
        stale = stale_schemas(root)
        for name in stale:
            click.echo(f"{name}: out of date; run `stardust-git schemas`")
        return 1 if stale else 0
    written = write_schemas(root)
    for name in written:
        click.echo(f"wrote {name}")
    if not written:
        click.echo("schemas/ is up to date")
    return 0
