"""The command line: a thin click layer over the core API in ``stardust_git``.

Each command parses its options and calls a plain function in ``stardust_git.commands.<verb>``,
which returns the exit code. User errors print a clear message and exit 1 (2 for usage errors);
anything unexpected exits 3 with a one-line summary (set STARDUST_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from stardust_git import __version__
from stardust_git.errors import UserError

INTERNAL_ERROR = 3

root_option = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Catalog repository root (default: found from the current directory).",
)


def run(command: Callable[..., int], **kwargs: Any) -> None:
    """Call a command function and turn its result or error into an exit code."""
    try:
        code = command(**kwargs)
    except UserError as exc:
        for diagnostic in exc.diagnostics:
            click.echo(diagnostic.format(), err=True)
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if os.environ.get("STARDUST_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("this is a bug in stardust-git; rerun with STARDUST_DEBUG=1 for details", err=True)
        sys.exit(INTERNAL_ERROR)
    sys.exit(code)


def resolve_root(root: Path | None) -> Path:
    from stardust_git.catalog import find_root

    return (root or find_root()).resolve()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stardust-git")
def cli() -> None:
    """stardust-git: a git repository as a music distributor."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@root_option
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--no-assets", is_flag=True, help="Skip the audio and artwork checks.")
@click.option("--no-render", is_flag=True, help="Skip rendering and XSD validation.")
def validate(
    paths: tuple[Path, ...], root: Path | None, output: str, strict: bool, no_assets: bool,
    no_render: bool,
) -> None:
    """Check the catalog (or only PATHS) offline; exit 1 on any error."""
    from stardust_git.commands.validate import validate_command

    run(
        validate_command,
        root=resolve_root(root),
        paths=list(paths) or None,
        output=output,
        strict=strict,
        check_assets=not no_assets,
        check_render=not no_render,
    )


@cli.command()
@root_option
@click.option("--check", is_flag=True, help="Exit 1 if schemas/ is out of date, write nothing.")
def schemas(root: Path | None, check: bool) -> None:
    """Regenerate schemas/ (JSON Schemas for editors and CI) from the models."""
    from stardust_git.commands.schemas import schemas_command

    run(schemas_command, root=resolve_root(root), check=check)


@cli.command()
@click.argument("upc")
@click.option("--target", "target", required=True, help="The target to render for (targets/NAME.yaml).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the package into (default: ./out).",
)
@click.option(
    "--action",
    type=click.Choice(["initial", "update", "takedown"]),
    default="initial",
    show_default=True,
    help="Which delivery to render.",
)
@root_option
def render(upc: str, target: str, out: Path | None, action: str, root: Path | None) -> None:
    """Write the exact package a delivery of UPC to the target would send."""
    from stardust_git.commands.render import render_command

    run(render_command, root=resolve_root(root), upc=upc, target=target, out=out, action=action)


@cli.group()
def genre() -> None:
    """Genre maps: what each map covers, and suggestions for the genres it misses."""


@genre.command()
@click.argument("map_name", metavar="[MAP]", required=False)
@root_option
def coverage(map_name: str | None, root: Path | None) -> None:
    """Genres each map (or only MAP) cannot map, and the releases they affect."""
    from stardust_git.commands.genre import genre_coverage_command

    run(genre_coverage_command, root=resolve_root(root), map_name=map_name)


@genre.command()
@click.argument("map_name", metavar="MAP")
@root_option
def suggest(map_name: str, root: Path | None) -> None:
    """Closest vocabulary entries for MAP's unmapped genres, as YAML for its mappings:."""
    from stardust_git.commands.genre import genre_suggest_command

    run(genre_suggest_command, root=resolve_root(root), map_name=map_name)


def main() -> None:
    cli(prog_name="stardust-git")
