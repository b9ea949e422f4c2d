"""Artists and contributors as Apple credits them: one element per name, roles merged."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from stardust_git import vocabulary
from stardust_git.models import Artist, Release, Track

# DDEX display artist role -> Apple role and whether the artist is a primary artist.
DISPLAY_ROLES = {
    "MainArtist": ("Performer", True),
    "Artist": ("Performer", True),
    "FeaturedArtist": ("Featuring", False),
    "Composer": ("Composer", False),
}
# DDEX 4.3 contributor roles whose Apple name is not just the words of the DDEX name.
APPLE_ROLE_NAMES = {
    "StudioProducer": "Producer",
    "AdditionalStudioProducer": "Additional Producer",
    "ComposerLyricist": "Songwriter",
    "MusicPublisher": "Publisher",
    "Vocalist": "Vocals",
    "LeadVocalist": "Lead Vocals",
    "BackgroundVocalist": "Background Vocals",
}


# --- artists ---------------------------------------------------------------------------------


@dataclass
class Credit:
    """One artist element: a name with every role it holds."""

    name: str
    roles: list[str]
    primary: bool


def apple_contributor_role(role: str) -> str:
    """Apple's name for a DDEX contributor role or friendly alias ("MixingEngineer" -> "Mixing
    Engineer")."""
    ddex = vocabulary.contributor_role(role, "4.3") or role
    return APPLE_ROLE_NAMES.get(ddex) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", ddex)


def artist_credits(artists: Iterable[Artist]) -> list[Credit]:
    credits: dict[str, Credit] = {}
    for artist in artists:
        role, primary = DISPLAY_ROLES.get(artist.role, ("Performer", False))
        _credit(credits, artist.name, role, primary)
    return list(credits.values())


def track_credits(release: Release, track: Track) -> list[Credit]:
    """The track's artists, then its contributors; one credit per name, roles merged."""
    credits = {credit.name: credit for credit in artist_credits(track.artists or release.artists)}
    for contributor in track.contributors:
        _credit(credits, contributor.name, apple_contributor_role(contributor.role), False)
    return list(credits.values())


def _credit(credits: dict[str, Credit], name: str, role: str, primary: bool) -> None:
    credit = credits.setdefault(name, Credit(name, [], primary))
    credit.primary = credit.primary or primary
    if role not in credit.roles:
        credit.roles.append(role)
