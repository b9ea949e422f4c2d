"""The command line: a thin click layer over the core API in ``stardust_git``.

Each command parses its options and calls a plain function in ``stardust_git.commands.<verb>``,
which returns the exit code. User errors print a clear message and exit 1 (2 for usage errors);
anything unexpected exits 3 with a one-line summary (set STARDUST_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import gc
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
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("STARDUST_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        hint = "this is a bug in stardust-git; rerun with STARDUST_DEBUG=1 for details"
        click.echo(hint, err=True)
        sys.exit(INTERNAL_ERROR)
    sys.exit(code)


def resolve_root(root: Path | None) -> Path:
    from stardust_git.source.layout import find_root

    return (root or find_root()).resolve()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stardust-git")
def cli() -> None:
    """stardust-git: a git repository as a music distributor."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text: one located line per problem; json: {valid, files, releases, errors, warnings}.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--no-assets", is_flag=True, help="Skip the audio and artwork checks.")
@click.option("--no-render", is_flag=True, help="Skip rendering and XSD validation.")
@click.option(
    "--warm",
    is_flag=True,
    help="Run in a resident process that has the imports loaded (started by the first such "
    "run, gone after 15 idle minutes): for the pre-commit hook.",
)
def validate(
    paths: tuple[Path, ...],
    root: Path | None,
    output: str,
    strict: bool,
    no_assets: bool,
    no_render: bool,
    warm: bool,
) -> None:
    """Check the catalog (or only PATHS) offline; exit 1 on any error."""
    # --warm is the console script's (stardust_git.warm.client): a run that reaches click
    # runs here, whether or not it was asked warm.
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
    """Regenerate schemas/ from the models.

    The JSON Schemas editors and CI check the YAML files against.
    """
    from stardust_git.commands.schemas import schemas_command

    run(schemas_command, root=resolve_root(root), check=check)


def _size(text: str) -> int:
    """A size option's bytes (``20G``), or a usage error."""
    from stardust_git.shards import parse_size

    try:
        return parse_size(text)
    except UserError as exc:
        raise click.BadParameter(exc.message) from None


base_option = click.option(
    "--base",
    default=None,
    metavar="REV",
    help="Diff from this revision (narrows what is examined); none: examine everything.",
)
head_option = click.option(
    "--head",
    default=None,
    metavar="REV",
    help="The catalog and receipts at this revision (default: the working tree).",
)
all_option = click.option("--all", "all_", is_flag=True, help="Examine every release.")
target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Only these targets (repeatable).",
)


def split_upcs(values: tuple[str, ...]) -> list[str] | None:
    """``--only A --only B,C`` -> ``["A", "B", "C"]`` (None when not given)."""
    upcs = [upc.strip() for value in values for upc in value.split(",") if upc.strip()]
    return list(dict.fromkeys(upcs)) or None


only_option = click.option(
    "--only",
    "only",
    multiple=True,
    metavar="UPC",
    help="Only these releases (repeatable, or comma-separated); an unknown UPC is an error.",
)


@cli.command()
@root_option
@base_option
@head_option
@all_option
@target_option
@only_option
@click.option(
    "--explain",
    "explain",
    multiple=True,
    metavar="UPC",
    help="Per target, say what the plan does with this release and why, or why not (repeatable).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "markdown", "json"]),
    default="table",
    help="table (default), markdown (a PR comment) or json (stable; changes with old and new "
    "values). With --explain: text, or json.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are actions (1 on problems).",
)
@click.option(
    "--shards",
    is_flag=True,
    help="Print only the shard list for deliver --shard, as JSON ([1, 2, 3]): one shard per "
    "--per-shard deliveries or --per-shard-bytes, at most --max-shards.",
)
@click.option(
    "--per-shard",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="With --shards: one shard per this many deliveries.",
)
@click.option(
    "--per-shard-bytes",
    default="20G",
    show_default=True,
    metavar="SIZE",
    callback=lambda _ctx, _param, value: _size(value),
    help="With --shards: one shard per this many bytes of assets sent (K, M, G, T).",
)
@click.option(
    "--max-shards",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="With --shards: never more shards than this.",
)
def plan(
    root: Path | None,
    base: str | None,
    head: str | None,
    all_: bool,
    targets: tuple[str, ...],
    only: tuple[str, ...],
    explain: tuple[str, ...],
    output: str,
    detailed_exitcode: bool,
    shards: bool,
    per_shard: int,
    per_shard_bytes: int,
    max_shards: int,
) -> None:
    """What a delivery run would send, and why."""
    from stardust_git.commands.plan import plan_command
    from stardust_git.shards import ShardSettings

    settings = ShardSettings(per_shard, per_shard_bytes, max_shards)
    run(
        plan_command,
        root=resolve_root(root),
        base=base,
        head=head,
        all_=all_,
        output=output,
        detailed_exitcode=detailed_exitcode,
        targets=list(targets) or None,
        only=split_upcs(only),
        explain=split_upcs(explain),
        shards=settings if shards else None,
    )


@cli.command()
@root_option
@base_option
@head_option
@all_option
@target_option
@only_option
@click.option(
    "--resend",
    multiple=True,
    metavar="UPC",
    help="Send these live releases again in full (assets included) as updates, though nothing "
    "changed; needs --target and --reason (repeatable, or comma-separated).",
)
@click.option(
    "--reason",
    default="",
    metavar="TEXT",
    help="Why --resend sends again (recorded in the receipt), e.g. the shop's ticket.",
)
@click.option("--dry-run", is_flag=True, help="Render and validate only: send nothing.")
@click.option("--commit", is_flag=True, help="Commit the receipts (message ends in [skip ci]).")
@click.option(
    "--push",
    is_flag=True,
    help="Sync with origin first, commit and push the receipts (fetch-rebase-retry).",
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    help="Deliver only this share of the plan (1/4 .. 4/4), by a stable hash of the UPC.",
)
@click.option(
    "--lock-wait",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another deliver run on this repository to finish.",
)
def deliver(
    root: Path | None,
    base: str | None,
    head: str | None,
    all_: bool,
    targets: tuple[str, ...],
    only: tuple[str, ...],
    resend: tuple[str, ...],
    reason: str,
    dry_run: bool,
    commit: bool,
    push: bool,
    shard: str | None,
    lock_wait: float,
) -> None:
    """Send what the plan says and write the receipts.

    Optionally commit and push the receipts (--commit, --push).
    """
    from stardust_git.commands.deliver import deliver_command

    run(
        deliver_command,
        root=resolve_root(root),
        base=base,
        head=head,
        all_=all_,
        dry_run=dry_run,
        commit=commit,
        push=push,
        shard=shard,
        lock_wait=lock_wait,
        targets=list(targets) or None,
        only=split_upcs(only),
        resend=split_upcs(resend),
        reason=reason,
    )


@cli.command()
@click.argument("upc", required=False)
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    help="table: one row per release and target (plain columns when piped); json: a list.",
)
def status(upc: str | None, root: Path | None, output: str) -> None:
    """Where each release stands per target, from the receipts."""
    from stardust_git.commands.status import status_command

    run(status_command, root=resolve_root(root), upc=upc, output=output)


@cli.command()
@click.argument("upc")
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    help="yaml: the release, values from a _defaults.yaml marked '# from FILE:LINE'; json: "
    '{"release": {...}, "sources": {field: "FILE:LINE"}}.',
)
def show(upc: str, root: Path | None, output: str) -> None:
    """Print a release as resolved with its defaults, with sources."""
    from stardust_git.commands.show import show_command

    run(show_command, root=resolve_root(root), upc=upc, output=output)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--action",
    default="stardust-git/stardust-git@v1",
    show_default=True,
    metavar="OWNER/REPO@REF",
    help="The stardust-git action the workflows use.",
)
@click.option(
    "--label",
    default="Example Records",
    show_default=True,
    help="The label name in the example release and target.",
)
def init(directory: Path, action: str, label: str) -> None:
    """Start a new catalog repository.

    With workflows, a pre-commit config, an example release and the local target.
    """
    from stardust_git.commands.init import init_command

    run(init_command, directory=directory, action=action, label=label)


@cli.command()
@click.argument("upc")
@click.option("--target", "target", required=True, help="The target to render for (NAME.yaml).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the package into (default: ./out).",
)
@click.option(
    "--action",
    type=click.Choice(["initial", "update", "takedown"]),
    default=None,
    help="Which delivery to render (default: the one a plan would send now: takedown when the"
    " release says takedown: true, update when it is live at the target, else initial).",
)
@root_option
def render(upc: str, target: str, out: Path | None, action: str | None, root: Path | None) -> None:
    """Write the package a delivery of UPC would send.

    The exact files a delivery of UPC to the target would send, byte for byte.
    """
    from stardust_git.commands.render import render_command

    run(render_command, root=resolve_root(root), upc=upc, target=target, out=out, action=action)


@cli.group()
def genre() -> None:
    """Genre maps: coverage and suggestions."""


@genre.command()
@click.argument("map_name", metavar="[MAP]", required=False)
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text: a report per map; json: a list of maps with their genres and releases affected.",
)
def coverage(map_name: str | None, root: Path | None, output: str) -> None:
    """Genres a map cannot map, and releases affected.

    Per map (or only MAP): the genres it cannot map and the releases sent through it that
    use them.
    """
    from stardust_git.commands.genre import genre_coverage_command

    run(genre_coverage_command, root=resolve_root(root), map_name=map_name, output=output)


@genre.command()
@click.argument("map_name", metavar="MAP")
@root_option
def suggest(map_name: str, root: Path | None) -> None:
    """Mappings to paste for MAP's unmapped genres.

    The closest vocabulary entries for each genre MAP does not map, as YAML for mappings:.
    """
    from stardust_git.commands.genre import genre_suggest_command

    run(genre_suggest_command, root=resolve_root(root), map_name=map_name)


@cli.group()
def xsd() -> None:
    """The DDEX XSDs every message is checked against."""


@xsd.command("install")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A folder with ern382/ ern42/ ern43/ holding the official XSDs (default: download).",
)
def xsd_install(source: Path | None) -> None:
    """Put the XSDs into the cache, checked against pins.

    Each file is checked against its pinned SHA-256 (for a machine that delivers without
    network).
    """
    from stardust_git.commands.xsd import xsd_install_command

    run(xsd_install_command, source=source)


@cli.group()
def target() -> None:
    """Delivery targets."""


@target.command("secrets")
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "env", "json"]),
    default="text",
    help="text: names, one a line; env: workflow env: lines; json: names and their targets.",
)
def target_secrets(root: Path | None, output: str) -> None:
    """The ${NAME} secrets the targets reference.

    What the deliver workflow must pass to the deliver step.
    """
    from stardust_git.commands.target import target_secrets_command

    run(target_secrets_command, root=resolve_root(root), output=output)


@target.command("test")
@click.argument("name")
@root_option
def target_test(name: str, root: Path | None) -> None:
    """Try a target: connect, write, list, delete a probe.

    Connect, authenticate, write, list and delete a probe file on target NAME.
    """
    from stardust_git.commands.target import target_test_command

    run(target_test_command, root=resolve_root(root), name=name)


@target.command("add")
@click.argument("name")
@root_option
@click.option(
    "--protocol",
    required=True,
    type=click.Choice(["local", "sftp", "ftp", "ftps", "s3", "azure", "api"]),
    help="How the packages are sent.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["ern", "apple"]),
    default="ern",
    show_default=True,
    help="ern: DDEX ERN messages (with sender and recipient); apple: Apple Music packages.",
)
@click.option(
    "--ern-version",
    type=click.Choice(["3.8.2", "4.2", "4.3"]),
    default="4.3",
    show_default=True,
    help="The ERN version to render (--format ern).",
)
def target_add(name: str, root: Path | None, protocol: str, output: str, ern_version: str) -> None:
    """Scaffold targets/NAME.yaml for a protocol.

    Every setting comes with its description; secrets are ${NAME_FIELD} references and what
    cannot be guessed is a TODO(...) placeholder that validate reports until it is filled.
    """
    from stardust_git.commands.target_files import target_add_command

    run(
        target_add_command,
        root=resolve_root(root),
        name=name,
        protocol=protocol,
        output=output,
        version=ern_version,
    )


@target.command("list")
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    help="table: one row per target (plain columns when piped); json: a list of objects.",
)
def target_list(root: Path | None, output: str) -> None:
    """Each target's format, protocol, secrets, last delivery.

    Format and ERN version, protocol, release profile, the ${NAME} secrets it references, and
    its latest delivery over all releases (time and status, from receipts/).
    """
    from stardust_git.commands.target_files import target_list_command

    run(target_list_command, root=resolve_root(root), output=output)


@cli.command("import")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@root_option
@click.option(
    "--label-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the new release files (default: catalog/<slug of the label>).",
)
@click.option(
    "--assets",
    type=click.Choice(["copy", "link", "none"]),
    default="copy",
    show_default=True,
    help="Bring the audio and artwork into assets/<UPC>/ (MD5 checked), or leave them out.",
)
@click.option(
    "--delivered-to",
    "delivered_to",
    multiple=True,
    metavar="TARGET[,TARGET...]",
    help="Record the releases as already live at these targets (baseline receipts).",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A spreadsheet mapping file (other column layouts).",
)
@click.option("--dry-run", is_flag=True, help="Write nothing; say what would be written.")
@click.option("--overwrite", is_flag=True, help="Rewrite release files the input differs from.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text: a line per release and its notes; json: {releases, errors, summary}.",
)
def import_(
    inputs: tuple[Path, ...],
    root: Path | None,
    label_dir: Path | None,
    assets: str,
    delivered_to: tuple[str, ...],
    mapping: Path | None,
    dry_run: bool,
    overwrite: bool,
    output: str,
) -> None:
    """Bring ERN messages or spreadsheets in as releases.

    Existing ERN messages (3.8.2, 4.2, 4.3) or CSV/XLSX spreadsheets into release files, their
    assets, and baseline receipts with --delivered-to.
    """
    from stardust_git.commands.import_ import import_command
    from stardust_git.importers.run import ImportOptions

    targets = tuple(name.strip() for value in delivered_to for name in value.split(","))
    options = ImportOptions(
        label_dir=label_dir,
        assets=assets,  # type: ignore[arg-type]
        delivered_to=tuple(dict.fromkeys(name for name in targets if name)),
        mapping=mapping,
        dry_run=dry_run,
        overwrite=overwrite,
    )
    run(
        import_command,
        root=resolve_root(root),
        inputs=list(inputs),
        options=options,
        output=output,
    )


@cli.command()
@root_option
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable).")
@click.option("--commit", is_flag=True, help="Commit the receipts that changed.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text: one line per acknowledgement read; json: the same as a list.",
)
def acks(root: Path | None, targets: tuple[str, ...], commit: bool, output: str) -> None:
    """Read the shops' acknowledgements into the receipts.

    ACK_*.xml files are read back from the targets into the receipts.
    """
    from stardust_git.commands.acks import acks_command

    run(
        acks_command,
        root=resolve_root(root),
        targets=list(targets) or None,
        commit=commit,
        output=output,
    )


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@root_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    metavar="FIELD=VALUE",
    help="FIELD=VALUE sets, FIELD+=VALUE adds to a list (once), FIELD-=VALUE removes; FIELD is"
    " a dotted path (p_line.owner, deals[0].end_date), VALUE YAML ([a, b], 2025-01-01, 3).",
)
@click.option(
    "--where",
    "wheres",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Only releases whose FIELD is VALUE (or a list holding it); repeatable, all must hold.",
)
@click.option("--dry-run", is_flag=True, help="Print the unified diff; write nothing.")
def edit(
    paths: tuple[Path, ...],
    root: Path | None,
    sets: tuple[str, ...],
    wheres: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Bulk-edit releases, keeping comments and formatting.

    Each edited release must still be valid (checked before anything is written); PATHS
    default to catalog/.
    """
    from stardust_git.commands.edit import edit_command

    run(
        edit_command,
        root=resolve_root(root),
        paths=list(paths),
        sets=list(sets),
        wheres=list(wheres),
        dry_run=dry_run,
    )


@cli.group()
def profile() -> None:
    """DSP profiles: the rules each shop applies."""


_PROFILE_FORMATS = click.Choice(["text", "json"])


@profile.command("list")
@click.option(
    "--format",
    "output",
    type=_PROFILE_FORMATS,
    default="text",
    help="text: one row per profile; json: a list of objects.",
)
def profile_list(output: str) -> None:
    """The profiles a target may name (built in and from plugins)."""
    from stardust_git.commands.profile import profile_list_command

    run(profile_list_command, output=output)


@profile.command("show")
@click.argument("name")
@click.option(
    "--format",
    "output",
    type=_PROFILE_FORMATS,
    default="text",
    help="text: each rule with its id, level and source; json: the profile as loaded.",
)
def profile_show(name: str, output: str) -> None:
    """A profile's rules, each with its id, level and public source."""
    from stardust_git.commands.profile import profile_show_command

    run(profile_show_command, name=name, output=output)


@cli.group()
def new() -> None:
    """Start catalog files from the repository's templates."""


@new.command("release")
@root_option
@click.option(
    "--template",
    default="single",
    show_default=True,
    metavar="NAME",
    help="The template to start from: templates/NAME.yaml (single, ep, album, or your own).",
)
@click.option("--upc", default=None, help="The UPC-A or EAN-13.")
@click.option("--title", default=None, help="The release title.")
@click.option("--artist", default=None, help="The main artist.")
@click.option("--label", default=None, help="The label name (also the P and C line owner).")
@click.option("--date", default=None, metavar="YYYY-MM-DD", help="The street date.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: catalog/<artist>/<title>.yaml); never overwritten.",
)
def new_release(
    root: Path | None,
    template: str,
    upc: str | None,
    title: str | None,
    artist: str | None,
    label: str | None,
    date: str | None,
    out: Path | None,
) -> None:
    """A new release file from a template.

    What the flags give is filled in; on a terminal the rest is asked for. Anything left is a
    TODO(...) placeholder that validate reports until it is filled.
    """
    from stardust_git.commands.new import new_release_command

    given = {"upc": upc, "title": title, "artist": artist, "label": label, "date": date}
    run(new_release_command, root=resolve_root(root), template=template, given=given, out=out)


@cli.command()
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["csv", "json"]),
    default="csv",
    help="csv: a header and one line per row (lists joined with '; '); json: a list of objects.",
)
@click.option(
    "--what",
    "table",
    type=click.Choice(["releases", "tracks", "deliveries"]),
    default="tracks",
    show_default=True,
    help="One row per release, per track, or per delivery in the receipts.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output).",
)
@click.option("--bom", is_flag=True, help="Start the CSV with a UTF-8 BOM (for Excel).")
def export(root: Path | None, output: str, table: str, out: Path | None, bom: bool) -> None:
    """The catalog and its delivery state as CSV or JSON.

    UTF-8 (no BOM unless --bom); a CSV cell starting with = + - or @ gets a leading '.
    """
    from stardust_git.commands.export import export_command

    run(export_command, root=resolve_root(root), output=output, table=table, out=out, bom=bom)


@cli.command()
@root_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text: a line per target; json: per target its state (open or closed), the issue "
    "title and body, and the failures.",
)
def notices(root: Path | None, output: str) -> None:
    """Per target: open its failure issue, or close it.

    From the receipts: a target whose last delivery of some release failed gets one issue
    listing them; once they are delivered it is closed (the workflows apply it with gh).
    """
    from stardust_git.commands.notices import notices_command

    run(notices_command, root=resolve_root(root), output=output)


@cli.command()
@root_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder to write the site into (replaced as a whole once it is built).",
)
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="The repository on its host (https://github.com/org/catalog): commits become links.",
)
@click.option("--no-validate", is_flag=True, help="Leave out the validation problems (faster).")
@click.option("--no-messages", is_flag=True, help="Do not render each release's messages.")
def report(
    root: Path | None, out: Path, base_url: str | None, no_validate: bool, no_messages: bool
) -> None:
    """Write the catalog and its deliveries as a static HTML site."""
    from stardust_git.commands.report import report_command

    run(
        report_command,
        root=resolve_root(root),
        out=out,
        base_url=base_url,
        validate=not no_validate,
        messages=not no_messages,
    )


EXAMPLES = {
    "validate": ["stardust-git validate", "stardust-git validate catalog/nova-lane --format json"],
    "schemas": ["stardust-git schemas", "stardust-git schemas --check"],
    "plan": [
        "stardust-git plan --base origin/main",
        "stardust-git plan --all --format json",
        "stardust-git plan --explain 5060236631114",
        "stardust-git plan --base origin/main --shards --per-shard 200 --max-shards 8",
    ],
    "deliver": [
        "stardust-git deliver --dry-run",
        "stardust-git deliver --target local --only 5060236631114",
        "stardust-git deliver --resend 5060236631114 --target spotify --reason 'ticket 4411'",
    ],
    "status": ["stardust-git status", "stardust-git status 5060236631114 --format json"],
    "init": ["stardust-git init my-label --label 'My Label'"],
    "show": ["stardust-git show 5060236631114", "stardust-git show 5060236631114 --format json"],
    "render": ["stardust-git render 5060236631114 --target spotify --out out/"],
    "genre": ["stardust-git genre coverage spotify"],
    "genre coverage": ["stardust-git genre coverage", "stardust-git genre coverage spotify"],
    "genre suggest": ["stardust-git genre suggest beatport >> genre-maps/beatport.yaml"],
    "xsd": ["stardust-git xsd install"],
    "xsd install": ["stardust-git xsd install", "stardust-git xsd install --from ./ddex-xsd"],
    "target": ["stardust-git target test local"],
    "target secrets": ["stardust-git target secrets --format env"],
    "target test": ["stardust-git target test spotify"],
    "target add": [
        "stardust-git target add spotify --protocol sftp",
        "stardust-git target add apple --protocol local --format apple",
    ],
    "target list": ["stardust-git target list", "stardust-git target list --format json"],
    "import": [
        "stardust-git import old-distributor/deliveries/ --delivered-to spotify,apple",
        "stardust-git import catalog.csv --assets none --dry-run",
        "stardust-git import export.xlsx --mapping docs/mappings/distributor-export.yaml",
    ],
    "acks": ["stardust-git acks", "stardust-git acks --target spotify --commit"],
    "edit": [
        "stardust-git edit --set targets+=deezer --where label='Indie Records'",
        "stardust-git edit --set p_line.owner='Indie Records Ltd' --dry-run catalog/beach-band",
    ],
    "new": ["stardust-git new release --template album --title 'Night Drive'"],
    "profile": ["stardust-git profile list", "stardust-git profile show youtube"],
    "profile list": ["stardust-git profile list", "stardust-git profile list --format json"],
    "profile show": [
        "stardust-git profile show apple",
        "stardust-git profile show audius --format json",
    ],
    "new release": [
        "stardust-git new release",
        "stardust-git new release --template ep --upc 5060236631114 --title 'Summer Vibes'"
        " --artist 'Beach Band' --label 'Indie Records' --date 2025-07-01",
    ],
    "export": [
        "stardust-git export --out catalog.csv",
        "stardust-git export --what releases --format json",
        "stardust-git export --what deliveries --bom --out deliveries.csv",
    ],
    "notices": ["stardust-git notices", "stardust-git notices --format json"],
    "report": [
        "stardust-git report --out site/",
        "stardust-git report --out site/ --base-url https://github.com/indie/catalog",
    ],
}
"""Shown under each command's --help (a test checks every command has some)."""


def _add_examples(group: click.Group, prefix: str = "") -> None:
    for name, command in group.commands.items():
        key = f"{prefix}{name}"
        lines = "\n".join(f"  {example}" for example in EXAMPLES.get(key, []))
        command.epilog = f"\b\nExamples:\n{lines}" if lines else None
        if isinstance(command, click.Group):
            _add_examples(command, f"{key} ")


_add_examples(cli)


def main() -> None:
    # What the imports built lives as long as the process: keep it out of every collection.
    gc.freeze()
    cli(prog_name="stardust-git")
