"""Files every release depends on: targets (party ids, genre map references) and genre maps."""

from __future__ import annotations

from stardust_git.errors import Diagnostics
from stardust_git.models import Target
from stardust_git.models.common import party_id_check_character
from stardust_git.source.catalog import Catalog, Loaded

PLACEHOLDER_DPID = "PADPIDA0000000000Q"
"""The sender id ``init`` writes: a well-formed DPID that belongs to nobody."""


def check_targets(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """Party id check characters and genre map references of every target."""
    for loaded in catalog.targets.values():
        target = loaded.model
        for role in ("sender", "recipient"):
            party = getattr(target, role)
            expected = party and party_id_check_character(party.party_id)
            if expected:
                message = (
                    f"{party.party_id}: the check character should be '{expected}' "
                    "(ISO 7064 Mod 37,36); is the id right?"
                )
                diagnostics.add(loaded.diagnostic((role, "party_id"), message, severity="warning"))
        if target.sender and target.sender.party_id == PLACEHOLDER_DPID:
            _report_placeholder_sender(loaded, diagnostics)
        if target.genre_map and target.genre_map not in catalog.genre_maps:
            message = (
                f"unknown genre map '{target.genre_map}' (no genre-maps/{target.genre_map}.yaml)"
            )
            diagnostics.add(loaded.diagnostic(("genre_map",), message))


def _report_placeholder_sender(loaded: Loaded[Target], diagnostics: Diagnostics) -> None:
    """A warning while the target only writes locally; an error once it sends to a shop."""
    local = loaded.model.delivery.protocol == "local"
    message = (
        f"{PLACEHOLDER_DPID} is the placeholder stardust-git init wrote: put your own DDEX party"
        " id here (apply at https://dpid.ddex.net)"
    )
    severity = "warning" if local else "error"
    diagnostics.add(loaded.diagnostic(("sender", "party_id"), message, severity=severity))


def check_genre_maps(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """Every map points at a vocabulary, maps known genres to known vocabulary values."""
    known_genres = catalog.taxonomy.model.genres if catalog.taxonomy else None
    for loaded in catalog.genre_maps.values():
        genre_map = loaded.model
        vocabulary = catalog.vocabularies.get(genre_map.vocabulary)
        if vocabulary is None:
            message = f"unknown vocabulary '{genre_map.vocabulary}'"
            diagnostics.add(loaded.diagnostic(("vocabulary",), message))
            continue
        entries = vocabulary.model.entries
        if genre_map.fallback and genre_map.fallback not in entries:
            message = f"'{genre_map.fallback}' is not in vocabulary '{genre_map.vocabulary}'"
            diagnostics.add(loaded.diagnostic(("fallback",), message))
        for code, value in genre_map.mappings.items():
            if known_genres is not None and code not in known_genres:
                message = f"'{code}' is not a genre in genre-maps/genres.yaml"
                diagnostics.add(loaded.diagnostic(("mappings", code), message))
            if value not in entries:
                message = f"'{value}' is not in vocabulary '{genre_map.vocabulary}'"
                diagnostics.add(loaded.diagnostic(("mappings", code), message))
