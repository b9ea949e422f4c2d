"""``stardust-git report --out DIR``: the static HTML report of the catalog and its deliveries."""

from __future__ import annotations

from pathlib import Path

import click

from stardust_git.errors import UsageError
from stardust_git.report.build import BuildOptions, build_report


def report_command(
    root: Path,
    out: Path,
    base_url: str | None = None,
    validate: bool = True,
    messages: bool = True,
) -> int:
    """Build the report into ``out``; say where and how large it is."""
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        raise UsageError(f"--base-url must start with https:// or http://, not {base_url!r}")
    options = BuildOptions(base_url=base_url, validate=validate, messages=messages)
    summary = build_report(root, out, options)
    click.echo(
        f"report of {summary.releases} releases and {summary.targets} targets written to "
        f"{summary.out}/index.html ({summary.files} files, {summary.bytes / 1e6:.1f} MB; "
        f"{summary.problems} validation problems)"
    )
    return 0
