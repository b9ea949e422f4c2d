"""``stardust-git edit --set FIELD=VALUE [--where FIELD=VALUE] [PATH...]``: bulk edits.

Every selected release is edited in memory and checked against the model first; if any edit
would make a release invalid, nothing is written and each problem is reported where it is.
``--dry-run`` prints the unified diff instead of writing.
"""

from __future__ import annotations

from pathlib import Path

import click

from stardust_git.authoring.edit import Edited, edit_text, new_errors, parse_edit, parse_where
from stardust_git.display import counted
from stardust_git.errors import Diagnostic, UserError
from stardust_git.fileio import MAX_YAML_BYTES, UnreadableFile, read_regular, write_text_atomic
from stardust_git.source.catalog import CATALOG_DIR, iter_yaml_paths, relative


def edit_command(
    root: Path, paths: list[Path], sets: list[str], wheres: list[str], dry_run: bool
) -> int:
    """Apply the edits to every release under ``paths`` (default catalog/) that matches."""
    edits, filters = [parse_edit(text) for text in sets], [parse_where(text) for text in wheres]
    files = [
        p for p in iter_yaml_paths(paths or [root / CATALOG_DIR]) if not p.name.startswith("_")
    ]
    results: list[Edited] = []
    problems: list[Diagnostic] = []
    for path in files:
        shown = relative(root, path)
        edited = edit_text(_read(path, shown), shown, edits, filters)
        if edited is not None:
            results.append(edited)
            problems += new_errors(edited) if edited.changed else []
    if problems:
        raise UserError("the edit would make releases invalid: nothing was written", problems)
    changed = [edited for edited in results if edited.changed]
    _finish(root, changed, dry_run)
    click.echo(_summary(len(files), len(results), len(changed), dry_run), err=True)
    return 0


def _is_release_file(path: Path) -> bool:
    """Not a folder's shared settings (``_defaults.yaml`` and the like)."""
    return not path.name.startswith("_")


def _read(path: Path, shown: str) -> str:
    try:
        return read_regular(path, MAX_YAML_BYTES).decode("utf-8")
    except (UnreadableFile, OSError, UnicodeDecodeError) as error:
        raise UserError(f"{shown}: {getattr(error, 'reason', error)}") from error


def _finish(root: Path, changed: list[Edited], dry_run: bool) -> None:
    for edited in changed:
        if dry_run:
            click.echo(edited.diff(), nl=False)
        else:
            write_text_atomic(root / edited.shown, edited.after)


def _summary(files: int, matched: int, changed: int, dry_run: bool) -> str:
    verb = "would change" if dry_run else "changed"
    skipped = f", {files - matched} not matching --where" if files != matched else ""
    return f"{verb} {counted(changed, 'release')} of {counted(matched, 'matching file')}{skipped}"
