"""Applying a target's profile to a release: every rule, each finding a located problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stardust_git.models.profile import Profile, ProfileRule
from stardust_git.profiles.base import Finding, Loc, Subject
from stardust_git.profiles.loader import rule_params
from stardust_git.profiles.registry import RULE_KINDS


@dataclass(frozen=True)
class Breach:
    """One rule of a profile broken at one place of a release."""

    rule: ProfileRule
    loc: Loc
    message: str


def apply_profile(profile: Profile, subject: Subject, with_assets: bool) -> Iterator[Breach]:
    """Every breach of ``profile``'s rules by the release in ``subject``; the rules that read
    asset files only ``with_assets``."""
    for rule in profile.rules:
        kind = RULE_KINDS[rule.check]
        if kind.reads_assets and not with_assets:
            continue
        for finding in kind.run(subject, rule_params(rule)):
            yield Breach(rule, finding.loc, describe(profile, rule, subject, finding))


def describe(profile: Profile, rule: ProfileRule, subject: Subject, finding: Finding) -> str:
    """``target 'yt' (profile youtube v1): <message>: <found> (source: <url>)``."""
    where = f"target '{subject.target_name}' (profile {profile.name} v{profile.version})"
    source = rule.source.url or rule.source.note or "no public source"
    return f"{where}: {rule.message}: {finding.found} (source: {source})"
