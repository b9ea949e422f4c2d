"""``profile list`` and ``profile show``: the DSP profiles and their rules."""

from __future__ import annotations

import json

import click

from stardust_git.commands.tables import Rows, print_rows
from stardust_git.models.profile import Profile, ProfileRule
from stardust_git.profiles import RULE_KINDS, load_profile, profile_names


def profile_list_command(output: str) -> int:
    """Every profile a target may name, with its version, the day its sources were read, and
    its number of rules."""
    profiles = [load_profile(name) for name in profile_names()]
    if output == "json":
        rows = [_summary(profile) for profile in profiles]
        click.echo(json.dumps(rows, indent=2))
        return 0
    table = Rows(["profile", "shop", "version", "read", "rules"])
    for profile in profiles:
        cells = [profile.name, profile.title, str(profile.version), str(profile.read)]
        table.add([*cells, str(len(profile.rules))])
    print_rows(table)
    return 0


def _summary(profile: Profile) -> dict[str, object]:
    shown = profile.model_dump(mode="json", exclude={"rules"})
    return {**shown, "rules": len(profile.rules)}


def profile_show_command(name: str, output: str) -> int:
    """The rules of profile ``name`` (those it extends first), each with its id, level,
    message, rule function and source."""
    profile = load_profile(name)
    if output == "json":
        click.echo(json.dumps(profile.model_dump(mode="json"), indent=2))
        return 0
    extends = f", extends {profile.extends}" if profile.extends else ""
    click.echo(
        f"{profile.name}: {profile.title} (version {profile.version}, read {profile.read}{extends})"
    )
    for rule in profile.rules:
        click.echo("")
        click.echo("\n".join(_rule_lines(rule)))
    return 0


def _rule_lines(rule: ProfileRule) -> list[str]:
    params = ", ".join(f"{key}={value}" for key, value in rule.params.items())
    lines = [
        f"{rule.id} [{rule.level}] {rule.message}",
        f"  check: {rule.check}({params}): {RULE_KINDS[rule.check].summary}",
    ]
    if rule.source.url:
        lines.append(f"  source: {rule.source.url} (read {rule.source.read})")
    if rule.source.note:
        lines.append(f"  note: {rule.source.note}")
    return lines
