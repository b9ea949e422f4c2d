"""Which DDEX release profile (ERN 4 ``ReleaseProfileVersionId``) a message declares.

ERN 4 Part 2 "Release Profiles" (https://ern-rp.ddex.net), clause 6.2: the ``Audio`` profile
communicates "audio singles, albums and EPs which differ only in the total length of the
release": a main release plus one Track Release per sound recording, which is what the ERN 4
renderer writes. Clause 7.6.1: the profile is signalled only in ERN 4 messages, so 3.8.2 gets
none unless a target names one (3.8.2 types the attribute as free text; the official 3.8.2
samples write ``CommonReleaseTypes/13/AudioSingle``).
"""

from __future__ import annotations

from stardust_git.models.release import Release
from stardust_git.models.target import Target

AUDIO_PROFILE = "Audio"
AUDIO_RELEASE_TYPES = frozenset({"Album", "Single", "EP", "ClassicalAlbum"})
"""Release types clause 6.2 names (ClassicalAlbum: the Audio profile's classical variant)."""


def default_release_profile(release: Release) -> str | None:
    """The profile the release type asks for; None for a type no audio profile covers."""
    if release.effective_release_type() in AUDIO_RELEASE_TYPES:
        return AUDIO_PROFILE
    return None


def release_profile_id(release: Release, target: Target) -> str | None:
    """The ReleaseProfileVersionId a message of ``release`` for ``target`` carries: the
    target's ``release_profile`` when set, else (ERN 4 only) the release type's default."""
    if target.release_profile or target.ern_version == "3.8.2":
        return target.release_profile
    return default_release_profile(release)
