"""Charts drawn at build time as inline SVG (no script, no network): horizontal bar charts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from markupsafe import Markup, escape

from stardust_git.models import Release
from stardust_git.report.gather import DeliveryEvent

BAR_HEIGHT = 18
LABEL_WIDTH = 150
BAR_WIDTH = 320
WEEKS = 12
#: Buckets of the time to acknowledgement: (upper bound in hours, label).
ACK_BUCKETS = ((1, "< 1 h"), (6, "1-6 h"), (24, "6-24 h"), (72, "1-3 days"), (None, "> 3 days"))


def bar_chart(title: str, bars: list[tuple[str, int]]) -> Markup:
    """An SVG of one bar per (label, value), longest bar = the largest value."""
    if not bars:
        return Markup('<p class="empty">{}: no data</p>').format(title)
    top = max(value for _, value in bars) or 1
    height = BAR_HEIGHT * len(bars) + 4
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(bars):
        parts.append(_bar(index, label, value, round(BAR_WIDTH * value / top)))
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(index: int, label: str, value: int, length: int) -> str:
    y = index * BAR_HEIGHT + 2
    text_y = y + BAR_HEIGHT - 5
    return (
        f'<text x="{LABEL_WIDTH - 6}" y="{text_y}" text-anchor="end">{escape(label)}</text>'
        f'<rect x="{LABEL_WIDTH}" y="{y}" width="{max(length, 1)}" height="{BAR_HEIGHT - 4}"/>'
        f'<text x="{LABEL_WIDTH + length + 4}" y="{text_y}">{value}</text>'
    )


def by_genre(releases: Iterable[Release]) -> list[tuple[str, int]]:
    return Counter(release.genre for release in releases).most_common(20)


def by_year(releases: Iterable[Release]) -> list[tuple[str, int]]:
    years = Counter(release.release_date.year for release in releases)
    return [(str(year), years[year]) for year in sorted(years)]


def weekly_by_target(
    events: list[DeliveryEvent], today: dt.date
) -> dict[str, list[tuple[str, int]]]:
    """Target -> deliveries in each of the last WEEKS weeks (Monday of the week, count)."""
    monday = today - dt.timedelta(days=today.weekday())
    weeks = [monday - dt.timedelta(weeks=back) for back in range(WEEKS - 1, -1, -1)]
    counts: Counter[tuple[str, dt.date]] = Counter()
    for event in events:
        day = event.delivery.started.date()
        counts[(event.target, day - dt.timedelta(days=day.weekday()))] += 1
    targets = sorted({event.target for event in events})
    return {name: [(week.isoformat(), counts[(name, week)]) for week in weeks] for name in targets}


def ack_delays(events: list[DeliveryEvent]) -> list[tuple[str, int]]:
    """Successful deliveries by the time their first acknowledgement took."""
    counts: Counter[str] = Counter()
    for event in events:
        acks = event.delivery.acknowledgements
        if event.delivery.status == "success" and acks:
            hours = (acks[0].received_at - event.delivery.finished).total_seconds() / 3600
            counts[_bucket(hours)] += 1
    return [(label, counts[label]) for _, label in ACK_BUCKETS if counts[label]]


def _bucket(hours: float) -> str:
    return next(label for bound, label in ACK_BUCKETS if bound is None or hours < bound)
