"""``stardust-git xsd install``: the official DDEX XSDs into the cache, for offline deliveries."""

from __future__ import annotations

from pathlib import Path

import click

from stardust_git.xsd import install


def xsd_install_command(source: Path | None) -> int:
    for directory in install(source):
        click.echo(f"verified {directory}")
    return 0
