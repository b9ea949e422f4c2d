"""``stardust-git render UPC --target NAME``: write the exact package a delivery would send.

The message derives its ids from the HEAD commit and its creation time, like the folder's name,
from the commit and the receipt in the working tree (choreography.placement), and an update
leaves out the assets the target already has, so a render and the delivery of that commit are
byte-identical; outside a git repository a zero commit and the current time are used. The files
are laid out in the target's choreography: assets are copied under their DDEX names, every file
written atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import click

from stardust_git import choreography
from stardust_git.choreography import preview_action
from stardust_git.errors import UsageError, UserError
from stardust_git.fileio import write_atomic
from stardust_git.receipts import read_receipt
from stardust_git.render import ACTIONS, Action, PackageFile, RenderContext
from stardust_git.source.catalog import Catalog, load_catalog

ZERO_COMMIT = "0" * 40
DEFAULT_OUT = "out"


def head_context(root: Path) -> RenderContext | None:
    """Commit id and committer time of HEAD, or None when ``root`` is not in a git repository
    with a commit."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%H%x00%ct"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    commit, _, seconds = done.stdout.decode().strip().partition("\0")
    if done.returncode != 0 or len(commit) != 40 or not seconds.isdigit():
        return None
    return RenderContext(commit, dt.datetime.fromtimestamp(int(seconds), dt.UTC))


def render_command(
    root: Path, upc: str, target: str, out: Path | None, action: str | None = None
) -> int:
    """Write the package; without ``action``, the one a plan would send now (and say which)."""
    if action is not None and action not in ACTIONS:
        raise UsageError(f"--action must be one of {', '.join(ACTIONS)}, not {action!r}")
    catalog = load_catalog(root)
    loaded = catalog.release_by_upc(upc)
    if loaded is None:
        broken = [d for d in catalog.diagnostics.errors if d.path.startswith("catalog/")]
        hint = " (the release files above do not load)" if broken else ""
        raise UserError(f"no release with UPC {upc} in {root / 'catalog'}{hint}", broken)
    _require_target(catalog, target)
    context = head_context(root)
    if context is None:
        click.echo(
            f"note: {root} is not a git repository with a commit; rendering as commit "
            f"{ZERO_COMMIT[:12]} at the current time",
            err=True,
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        context = RenderContext(ZERO_COMMIT, now)
    if target not in catalog.targets:
        raise UserError(f"unknown target '{target}' (no targets/{target}.yaml)")
    receipt = read_receipt(root, loaded.model.upc, target)
    history = receipt.history if receipt else []
    if action is None:
        action, why = preview_action(loaded.model.takedown, receipt)
        click.echo(f"note: rendering the {action}: {why} (--action to choose)", err=True)
    moment = choreography.placement(context.commit, context.committed_at, history)
    context = replace(context, created_at=moment)
    package = choreography.package_as_sent(
        catalog, loaded, target, _action(action), context, history
    )
    settings = catalog.targets[target].model
    placed = choreography.layout(
        [package], settings.delivery.choreography, settings.priority, moment
    )
    destination = (out or Path(DEFAULT_OUT)).resolve()
    for remote_path, file in placed:
        write_file(inside(destination, remote_path), file)
        click.echo(f"{remote_path}  {file.size} bytes  md5 {file.md5}")
    click.echo(
        f"rendered {package.format} {action} of {upc} for {target} into {destination} "
        f"({len(placed)} files, commit {context.commit[:12]})",
        err=True,
    )
    return 0


def _require_target(catalog: Catalog, target: str) -> None:
    """A target whose file does not validate is reported with its located errors."""
    shown = f"targets/{target}.yaml"
    broken = [d for d in catalog.diagnostics.errors if d.path == shown]
    if target not in catalog.targets and broken:
        raise UserError(f"{shown} does not validate; nothing was written", broken)


def inside(destination: Path, relative: str) -> Path:
    """``destination / relative``, refused when it would land outside ``destination``."""
    path = (destination / relative).resolve()
    if not path.is_relative_to(destination):
        raise UserError(f"refused to write {relative!r}: it is outside {destination}")
    return path


def _action(name: str) -> Action:
    return next(action for action in ACTIONS if action == name)


def write_file(path: Path, file: PackageFile) -> None:
    """Generated data is written atomically; an asset is copied to a temporary name beside the
    destination and renamed into place."""
    if file.data is not None:
        write_atomic(path, file.data)
        return
    if file.source is None:
        raise UserError(f"{file.name}: neither data nor a source file")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        shutil.copyfile(file.source, temp)
        if os.path.getsize(temp) != file.size:
            raise UserError(f"{file.source} changed while the package was written; render again")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
