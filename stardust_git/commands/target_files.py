"""``stardust-git target add NAME``: scaffold a target file; ``stardust-git target list``: each
target's format and version, protocol, profile, secrets and last delivery (from receipts/)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from pydantic import TypeAdapter, ValidationError

from stardust_git.authoring.targets import scaffold_target
from stardust_git.commands.new import say_unfilled
from stardust_git.commands.tables import Rows, print_rows
from stardust_git.errors import UsageError, UserError
from stardust_git.fileio import write_text_atomic
from stardust_git.models import Target
from stardust_git.models.common import Name
from stardust_git.models.receipt import Delivery
from stardust_git.receipts import load_recorded
from stardust_git.redaction import secret_names
from stardust_git.source.catalog import TARGETS_DIR, Catalog, Loaded, load_targets
from stardust_git.source.tree import Tree


def target_add_command(root: Path, name: str, protocol: str, output: str, version: str) -> int:
    """Write ``targets/<name>.yaml`` (never over an existing one); say what is left to fill."""
    _check_target_name(name)
    path = root / TARGETS_DIR / f"{name}.yaml"
    if path.exists():
        raise UserError(f"{TARGETS_DIR}/{name}.yaml exists: a target file is never overwritten")
    text = scaffold_target(name, protocol, output, version)
    write_text_atomic(path, text)
    click.echo(f"created {TARGETS_DIR}/{name}.yaml ({output}, {protocol})")
    say_unfilled(text)
    return 0


def _check_target_name(name: str) -> None:
    try:
        TypeAdapter(Name).validate_python(name)
    except ValidationError as error:
        raise UsageError(f"NAME: {error.errors()[0]['msg']}") from error


@dataclass(frozen=True)
class TargetSummary:
    """One target in ``target list`` (its JSON form as is)."""

    name: str
    format: str
    ern_version: str | None
    protocol: str
    profile: str | None
    """The ERN ReleaseProfileVersionId the target writes."""
    dsp_profile: str | None
    """The DSP profile whose rules validate applies (profile: in the target file)."""
    secrets: list[str]
    last_delivery: str | None
    """When the latest delivery to the target finished (ISO 8601, UTC), over all releases."""
    last_status: str | None
    last_release: str | None
    """The UPC that delivery was of."""


def target_list_command(root: Path, output: str = "table") -> int:
    """Print every valid target's summary; the invalid ones are reported and exit 1."""
    catalog = Catalog(root=root)
    load_targets(root, catalog)
    summaries = summarise_targets(root, catalog)
    if output == "json":
        click.echo(json.dumps([asdict(summary) for summary in summaries], indent=2))
    else:
        _print_table(summaries)
    for diagnostic in catalog.diagnostics.errors:
        click.echo(diagnostic.format(), err=True)
    return 1 if catalog.diagnostics.errors else 0


def summarise_targets(root: Path, catalog: Catalog) -> list[TargetSummary]:
    """The summary of each target in ``catalog``, by name."""
    latest = last_deliveries(root)
    names = sorted(catalog.targets)
    return [_summary(name, catalog.targets[name], latest.get(name)) for name in names]


def last_deliveries(root: Path) -> dict[str, tuple[str, Delivery]]:
    """Per target, the UPC and the most recent delivery over all releases (by its end)."""
    latest: dict[str, tuple[str, Delivery]] = {}
    for upc, by_target in load_recorded(Tree.working(root)).items():
        for target, receipt in by_target.items():
            last = receipt.last()
            if last and (target not in latest or last.finished > latest[target][1].finished):
                latest[target] = (upc, last)
    return latest


def _summary(name: str, loaded: Loaded[Target], last: tuple[str, Delivery] | None) -> TargetSummary:
    target = loaded.model
    upc, delivery = last or (None, None)
    return TargetSummary(
        name=name,
        format=target.format,
        ern_version=target.ern_version,
        protocol=target.delivery.protocol,
        profile=target.release_profile,
        dsp_profile=target.profile,
        secrets=secret_names(target.delivery),
        last_delivery=delivery.finished.isoformat() if delivery else None,
        last_status=delivery.status if delivery else None,
        last_release=upc,
    )


def _print_table(summaries: list[TargetSummary]) -> None:
    table = Rows(["target", "format", "protocol", "dsp", "profile", "secrets", "last delivery"])
    for summary in summaries:
        shown_format = " ".join(filter(None, [summary.format, summary.ern_version]))
        secrets = ", ".join(summary.secrets) or "-"
        style = "red" if summary.last_status == "failed" else ""
        profiles = [summary.dsp_profile or "-", summary.profile or "-"]
        cells = [summary.name, shown_format, summary.protocol, *profiles, secrets]
        table.add([*cells, _last(summary)], style)
    print_rows(table)


def _last(summary: TargetSummary) -> str:
    if summary.last_delivery is None:
        return "never"
    when = summary.last_delivery[:16].replace("T", " ")
    return f"{when} UTC {summary.last_status} ({summary.last_release})"
