"""Likely mistakes: values that are valid but rarely meant. Warnings, never errors: a label may
mean them, and says so by leaving them."""

from __future__ import annotations

import itertools

from stardust_git.errors import Diagnostics
from stardust_git.models import Release
from stardust_git.models.release import Deal
from stardust_git.source.catalog import Loaded

WORLDWIDE = "Worldwide"
ODD_LICENCES = {
    ("SubscriptionModel", "PermanentDownload"): "subscription downloads",
    ("PayAsYouGoModel", "OnDemandStream"): "pay-per-stream",
    ("PayAsYouGoModel", "NonInteractiveStream"): "pay-per-stream",
    ("AdvertisementSupportedModel", "PermanentDownload"): "free downloads paid by ads",
}
"""(commercial model, use type) pairs a deal licenses when it lists both, and what they mean."""


def check_likely_mistakes(loaded: Loaded[Release], diagnostics: Diagnostics) -> None:
    """Disc gaps, explicit tracks on a clean release, deals that disagree or combine oddly."""
    for loc, message in _disc_gaps(loaded.model) + _explicit_tracks(loaded.model):
        diagnostics.add(loaded.diagnostic(loc, message, severity="warning"))
    for loc, message in _odd_licences(loaded.model) + _two_start_dates(loaded.model):
        diagnostics.add(loaded.diagnostic(loc, message, severity="warning"))


Found = list[tuple[tuple[str | int, ...], str]]


def _disc_gaps(release: Release) -> Found:
    discs = sorted({track.disc for track in release.tracks})
    missing = sorted(set(range(1, discs[-1] + 1)) - set(discs)) if discs else []
    if not missing:
        return []
    first_after = next(i for i, t in enumerate(release.tracks) if t.disc > missing[0])
    shown = ", ".join(map(str, missing))
    return [(("tracks", first_after, "disc"), f"no track is on disc {shown}: is a disc missing?")]


def _explicit_tracks(release: Release) -> Found:
    if release.parental_warning != "NotExplicit":
        return []
    return [
        (("tracks", index, "parental_warning"), "an Explicit track on a release marked NotExplicit")
        for index, track in enumerate(release.tracks)
        if track.parental_warning == "Explicit"
    ]


def _odd_licences(release: Release) -> Found:
    found: Found = []
    for index, deal in enumerate(release.deals):
        pairs = itertools.product(deal.commercial_models, deal.use_types)
        odd = [f"{ODD_LICENCES[p]} ({p[0]} + {p[1]})" for p in pairs if p in ODD_LICENCES]
        if odd:
            message = (
                f"this deal also licenses {'; '.join(odd)}: is that meant? (split the deal so"
                " each commercial model gets only its use types)"
            )
            found.append((("deals", index, "use_types"), message))
    return found


def _two_start_dates(release: Release) -> Found:
    found: Found = []
    for (i, first), (j, second) in itertools.combinations(enumerate(release.deals), 2):
        if first.start_date == second.start_date or not _same_licence(first, second):
            continue
        shared = _shared_territories(first, second)
        if shared:
            message = (
                f"{shared} gets two start dates for the same licence: {first.start_date} "
                f"(deal {i + 1}) and {second.start_date} (deal {j + 1})"
            )
            found.append((("deals", j, "start_date"), message))
    return found


def _same_licence(first: Deal, second: Deal) -> bool:
    models = set(first.commercial_models) & set(second.commercial_models)
    return bool(models and set(first.use_types) & set(second.use_types))


def _shared_territories(first: Deal, second: Deal) -> str:
    """The territories both deals cover, as said to the user ("" when none)."""
    if WORLDWIDE in first.territories and WORLDWIDE in second.territories:
        return WORLDWIDE
    for wide, narrow in ((first, second), (second, first)):
        if WORLDWIDE in wide.territories:
            both = [t for t in narrow.territories if t not in wide.excluded_territories]
            return ", ".join(both)
    return ", ".join(sorted(set(first.territories) & set(second.territories)))
