"""Parties of a message: every artist, contributor and the label, once each.

A party is the same when its name and identifiers are the same; references are numbered P1, P2 ...
in order of first appearance (release artists, label, then track by track), so they are stable.
"""

from __future__ import annotations

from stardust_git.models import Artist, Contributor
from stardust_git.render.ern import ArtistCredit, ContributorCredit, PartyView


class PartyRegistry:
    """Hands out one :class:`PartyView` per distinct (name, ISNI, IPI)."""

    def __init__(self) -> None:
        self._parties: dict[tuple[str, str | None, str | None], PartyView] = {}

    def party(self, name: str, isni: str | None = None, ipi: str | None = None) -> PartyView:
        key = (name, isni, ipi)
        found = self._parties.get(key)
        if found is None:
            found = PartyView(f"P{len(self._parties) + 1}", name, isni, ipi)
            self._parties[key] = found
        return found

    def artists(self, artists: list[Artist]) -> tuple[ArtistCredit, ...]:
        return tuple(ArtistCredit(self.party(a.name, a.isni, a.ipi), a.role) for a in artists)

    def contributors(self, contributors: list[Contributor]) -> tuple[ContributorCredit, ...]:
        """One credit per party with all its roles, in order of first appearance."""
        roles: dict[PartyView, list[str]] = {}
        for contributor in contributors:
            party = self.party(contributor.name, contributor.isni, contributor.ipi)
            party_roles = roles.setdefault(party, [])
            if contributor.role not in party_roles:
                party_roles.append(contributor.role)
        return tuple(ContributorCredit(party, tuple(names)) for party, names in roles.items())

    @property
    def all(self) -> tuple[PartyView, ...]:
        return tuple(self._parties.values())
