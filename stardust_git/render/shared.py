"""What every renderer (ERN and Apple) must agree on: the order tracks are played in and the date
deals are judged against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from stardust_git.models import Track
from stardust_git.render import RenderContext


class TrackPosition(NamedTuple):
    """Where a track plays: its index in the release file, its disc, its number on that disc."""

    index: int
    disc: int
    number: int


def track_order(tracks: Sequence[Track]) -> list[TrackPosition]:
    """The tracks in play order: disc by disc (lowest first), list order within a disc."""
    by_disc: dict[int, list[int]] = {}
    for index, track in enumerate(tracks):
        by_disc.setdefault(track.disc, []).append(index)
    return [
        TrackPosition(index, disc, number)
        for disc in sorted(by_disc)
        for number, index in enumerate(by_disc[disc], start=1)
    ]


def render_date(context: RenderContext) -> dt.date:
    """The date deals are judged against: ``context.today``, else the commit's date in UTC."""
    return context.today or utc(context.committed_at).date()


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive moment is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
