"""Rules on the message a target is set to send: format, ERN version, release profile."""

from __future__ import annotations

from collections.abc import Iterator

from stardust_git.models.release_profile import release_profile_id
from stardust_git.profiles.base import Finding, Params, Subject


class FormatParams(Params):
    allowed: list[str]
    """Target formats the shop takes: ern, apple."""


def target_format(subject: Subject, params: FormatParams) -> Iterator[Finding]:
    """The target renders a format the shop takes."""
    if subject.target.format not in params.allowed:
        yield Finding(subject.target_loc, f"target format is {subject.target.format}")


class VersionParams(Params):
    allowed: list[str]
    """ERN versions the shop takes: 3.8.2, 4.2, 4.3."""


def ern_versions(subject: Subject, params: VersionParams) -> Iterator[Finding]:
    """An ERN target renders a version the shop takes."""
    version = subject.target.ern_version
    if subject.target.format == "ern" and version not in params.allowed:
        yield Finding(subject.target_loc, f"target renders ERN {version}")


class ReleaseProfileParams(Params):
    allowed: list[str]
    """ReleaseProfileVersionId values the shop takes."""
    required: bool = False
    """The shop needs the message to name one."""


def release_profiles(subject: Subject, params: ReleaseProfileParams) -> Iterator[Finding]:
    """The release profile the message declares (the target's release_profile, else the
    release type's default) is one the shop takes, and is there when it must be."""
    if subject.target.format != "ern":
        return
    chosen = release_profile_id(subject.release, subject.target)
    if chosen is None and params.required:
        yield Finding(subject.target_loc, "the message declares no ReleaseProfileVersionId")
    elif chosen is not None and chosen not in params.allowed:
        yield Finding(subject.target_loc, f"the message declares ReleaseProfileVersionId {chosen}")
