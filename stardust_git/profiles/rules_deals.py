"""Rules on deal shapes: territories, commercial models, use types, end dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from stardust_git.models import Deal
from stardust_git.profiles.base import Finding, NoParams, Params, Subject


class TerritoryParams(Params):
    allowed: list[str]
    """Territory codes the shop takes (e.g. Worldwide alone)."""
    exclusions: bool = True
    """The shop takes excluded_territories."""


def deal_territories(subject: Subject, params: TerritoryParams) -> Iterator[Finding]:
    """Every deal territory is one the shop takes."""
    for index, deal in enumerate(subject.release.deals):
        for place, code in enumerate(deal.territories):
            if code not in params.allowed:
                yield Finding(("deals", index, "territories", place), f"territory {code}")
        if deal.excluded_territories and not params.exclusions:
            yield Finding(("deals", index, "excluded_territories"), "excluded territories")


class ValuesParams(Params):
    allowed: list[str]
    """The values the shop takes."""


def deal_commercial_models(subject: Subject, params: ValuesParams) -> Iterator[Finding]:
    """Every deal's commercial models are ones the shop takes."""
    for index, deal in enumerate(subject.release.deals):
        for place, model in enumerate(deal.commercial_models):
            if model not in params.allowed:
                yield Finding(("deals", index, "commercial_models", place), model)


def deal_use_types(subject: Subject, params: ValuesParams) -> Iterator[Finding]:
    """Every deal's use types are ones the shop takes."""
    for index, deal in enumerate(subject.release.deals):
        for place, use in enumerate(deal.use_types):
            if use not in params.allowed:
                yield Finding(("deals", index, "use_types", place), use)


class RequiredParams(Params):
    commercial_models: list[str] = []
    """Commercial models one deal must state together."""
    use_types: list[str] = []
    """Use types (any one of them) that deal must state."""


def deal_requires(subject: Subject, params: RequiredParams) -> Iterator[Finding]:
    """A live release has one deal with all the required models and one of the use types."""
    if not subject.release.deals or subject.release.takedown:
        return
    if not any(_has_required(deal, params) for deal in subject.release.deals):
        wanted = " + ".join(params.commercial_models) or "any model"
        uses = " or ".join(params.use_types) or "any use"
        yield Finding(("deals",), f"no deal states {wanted} for {uses}")


def _has_required(deal: Deal, params: RequiredParams) -> bool:
    models_ok = set(params.commercial_models) <= set(deal.commercial_models)
    return models_ok and (not params.use_types or bool(set(params.use_types) & set(deal.use_types)))


def no_end_dates(subject: Subject, params: NoParams) -> Iterator[Finding]:
    """No deal has an end date (the shop cannot read one; a takedown is sent another way)."""
    for index, deal in enumerate(subject.release.deals):
        if deal.end_date is not None:
            yield Finding(("deals", index, "end_date"), f"end_date {deal.end_date}")


class MarginParams(Params):
    days: int = 2
    """How many days in the past an end date must be to have passed in every time zone."""


def end_date_margin(subject: Subject, params: MarginParams) -> Iterator[Finding]:
    """An end date that has passed lies at least ``days`` back; the target's takedowns too."""
    latest = subject.today - dt.timedelta(days=params.days)
    for index, deal in enumerate(subject.release.deals):
        if deal.end_date is not None and latest < deal.end_date <= subject.today:
            yield Finding(("deals", index, "end_date"), f"end_date {deal.end_date}")
    if subject.target.takedown_end_days_ago < params.days:
        days = subject.target.takedown_end_days_ago
        yield Finding(subject.target_loc, f"target ends takedown deals {days} days back")
