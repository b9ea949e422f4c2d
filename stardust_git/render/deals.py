"""The deals a message states, judged against the render date.

Every NewReleaseMessage carries all current and future deals (DDEX has no deltas). A takedown
keeps each deal that had started but ends it ``takedown_end_days_ago`` days (at least 2) before
the takedown date, so the receiver sees explicitly that nothing is live, in every time zone (the
day before is still today west of UTC). A deal that had not started by then is withdrawn: it is
marked ``never_live`` and written only by the 3.8.2 TakeDown form, never pulled back into a
window it never had. A withdrawn territory (delivered before, gone from the catalog now) gets its
own deal ended the same way. Resent live deals start no later than yesterday: a start date of
"today" is tomorrow in some time zones and makes the release drop out there. A deal with a
``preorder_date`` adds a pre-order deal, from that date to the day before the deal starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

from stardust_git.models import Deal, Release
from stardust_git.render import Action, RenderError
from stardust_git.render.ern import WORLDWIDE, DealView

ONE_DAY = dt.timedelta(days=1)
TAKEDOWN_END_DAYS_AGO = 2
"""The default (and least) number of days before the takedown date its deals end."""


def is_live(deal: Deal, today: dt.date) -> bool:
    return deal.start_date <= today and (deal.end_date is None or deal.end_date >= today)


def deal_views(
    release: Release,
    action: Action,
    today: dt.date,
    withdrawn: frozenset[str] = frozenset(),
    resend_in_past: bool = True,
    takedown_end_days_ago: int = TAKEDOWN_END_DAYS_AGO,
) -> tuple[DealView, ...]:
    """The deals of ``release`` as the message states them on ``today``.

    ``resend_in_past``: move the start of live deals back to yesterday when resending (update).
    ``takedown_end_days_ago``: how far back a takedown (or a withdrawn territory) ends its deals.
    """
    ended_on = today - dt.timedelta(days=takedown_end_days_ago)
    views = []
    for index, deal in enumerate(release.deals):
        start, end = deal.start_date, deal.end_date
        never_live = action == "takedown" and start > ended_on
        if action == "takedown":
            end = min(end or ended_on, ended_on)
        elif action == "update" and resend_in_past and is_live(deal, today):
            start = min(start, today - ONE_DAY)
        view = _view(deal, index, start, end)
        views.append(replace(view, ended=action == "takedown", never_live=never_live))
    if action != "takedown":
        views += _preorder_views(release, action, today, resend_in_past)
    if withdrawn:
        views.append(_withdrawn_view(release, withdrawn, ended_on, today))
    return tuple(views)


def _preorder_views(
    release: Release, action: Action, today: dt.date, resend_in_past: bool
) -> list[DealView]:
    """A pre-order deal (the main release only) for each deal with a ``preorder_date``, from
    that date to the day before the deal starts. A window that is over by ``today`` is left out
    (the message states current and future deals); a takedown states none."""
    instant = tuple(index for index, track in enumerate(release.tracks) if track.instant_grat)
    views = []
    for index, deal in enumerate(release.deals):
        opens, last_day = deal.preorder_date, deal.start_date - ONE_DAY
        if opens is None or opens > last_day or last_day < today:
            continue
        if action == "update" and resend_in_past and opens <= today:
            opens = min(opens, today - ONE_DAY)
        view = _view(deal, index, opens, last_day)
        views.append(replace(view, preorder=deal.preorder_date, instant_grat=instant))
    return views


def _view(deal: Deal, index: int, start: dt.date, end: dt.date | None) -> DealView:
    """``deal`` as the message states it, over ``start``..``end``."""
    territories, excluded = _territories(deal, index)
    return DealView(
        territories,
        excluded,
        tuple(deal.commercial_models),
        tuple(deal.use_types),
        start,
        end,
        deal.price_tier,
    )


def _territories(deal: Deal, index: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(included, excluded): ERN holds one or the other, so "Worldwide except X" is written as
    excluded X; exclusions outside listed countries say nothing and are dropped."""
    included = tuple(dict.fromkeys(deal.territories))
    excluded = tuple(dict.fromkeys(deal.excluded_territories))
    if not excluded:
        return included, ()
    if included == (WORLDWIDE,):
        return (), excluded
    if all(len(code) == 2 for code in included):
        return tuple(code for code in included if code not in excluded), ()
    raise RenderError(
        "ERN states either the territories of a deal or those it excludes, not both: list "
        "countries without exclusions, or use Worldwide with excluded_territories",
        ("deals", index, "excluded_territories"),
    )


def _withdrawn_view(
    release: Release, withdrawn: frozenset[str], ended_on: dt.date, today: dt.date
) -> DealView:
    live_codes = {
        code for deal in release.deals if is_live(deal, today) for code in deal.territories
    }
    clash = sorted(withdrawn & live_codes)
    if clash:
        raise RenderError(
            f"territories {', '.join(clash)} are withdrawn but still have a live deal"
        )
    starts = [deal.start_date for deal in release.deals]
    return DealView(
        territories=tuple(sorted(withdrawn)),
        excluded=(),
        commercial_models=_union(deal.commercial_models for deal in release.deals),
        use_types=_union(deal.use_types for deal in release.deals),
        start=min([*starts, ended_on]),
        end=ended_on,
        ended=True,
    )


def _union(lists: Iterable[list[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for values in lists for value in values))
