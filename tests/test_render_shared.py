"""The ERN and Apple renderers agree on what render/shared.py decides for both: the play order of
a multi-disc release whose file lists the discs out of order, and the date deals are judged
against (the commit's date in UTC, not in the committer's time zone)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from lxml import etree

from stardust_git.render import Package, RenderContext, render_package
from stardust_git.source.catalog import Catalog, load_catalog
from tests.test_apple import NS, _products, _release, _tmp_catalog, _track, _xml, cover_3000

__all__ = ["cover_3000"]  # the fixture, imported for pytest

# 23:30 in New York on 1 May is 04:30 UTC on 2 May.
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))
CONTEXT = RenderContext(
    commit="3f1c2a9be07d4c55a0d1e6b8f2c94a7d10e5b3c8",
    committed_at=dt.datetime(2025, 5, 1, 23, 30, tzinfo=NEW_YORK),
)
UTC_DAY = "2025-05-02"
ERN_TARGET = {
    "format": "ern",
    "ern_version": "4.3",
    "sender": {"party_id": "PADPIDA2014120301A", "name": "Indie Records"},
    "recipient": {"party_id": "PADPIDA2011072101T", "name": "Shop"},
    "delivery": {"protocol": "local", "directory": "out-ern"},
}
# Disc 2 first in the file, then disc 1, then disc 2 again.
TRACKS = [_track(1, disc=2), _track(2, disc=1), _track(3, disc=2), _track(4, disc=1)]
PLAY_ORDER = ["USRC12500002", "USRC12500004", "USRC12500001", "USRC12500003"]


def _both(tmp_path: Path, cover: Path, release: dict[str, object]) -> tuple[Package, Package]:
    _tmp_catalog(tmp_path, cover, {**release, "targets": ["shop", "ern"]})
    (tmp_path / "targets/ern.yaml").write_text(yaml.safe_dump(ERN_TARGET), encoding="utf-8")
    catalog: Catalog = load_catalog(tmp_path)
    loaded = catalog.releases["catalog/release.yaml"]
    apple = render_package(catalog, loaded, "shop", "update", CONTEXT)
    ern = render_package(catalog, loaded, "ern", "update", CONTEXT)
    return apple, ern


def _ern_isrcs(package: Package) -> list[str]:
    root = etree.fromstring(package.message.data or b"")
    return list(dict.fromkeys(e.text or "" for e in root.iter("ISRC")))


def _audio_names(package: Package) -> list[str]:
    return [f.name.rsplit("/", 1)[-1] for f in package.resources if f.name.endswith(".wav")]


def test_both_renderers_play_disc_by_disc(tmp_path: Path, cover_3000: Path) -> None:
    apple, ern = _both(tmp_path, cover_3000, _release(tracks=TRACKS))
    root = _xml(apple)
    apple_isrcs = [e.text for e in root.findall("a:album/a:tracks/a:track/a:isrc", NS)]
    volumes = [e.text for e in root.findall("a:album/a:tracks/a:track/a:volume_number", NS)]

    assert apple_isrcs == _ern_isrcs(ern) == PLAY_ORDER
    assert volumes == ["1", "1", "2", "2"]
    upc = "1234567890128"
    names = [f"{upc}_01_001.wav", f"{upc}_01_002.wav", f"{upc}_02_001.wav", f"{upc}_02_002.wav"]
    assert _audio_names(apple) == _audio_names(ern) == names


def test_both_renderers_judge_deals_on_the_commit_day_in_utc(
    tmp_path: Path, cover_3000: Path
) -> None:
    deal = {
        "commercial_models": ["PayAsYouGoModel"],
        "use_types": ["PermanentDownload"],
    }
    starts_on_the_utc_day = {**deal, "territories": ["US"], "start_date": UTC_DAY}
    ended_the_day_before = {
        **deal,
        "territories": ["GB"],
        "start_date": "2025-01-01",
        "end_date": "2025-05-01",
    }
    release = _release(deals=[starts_on_the_utc_day, ended_the_day_before])

    apple, ern = _both(tmp_path, cover_3000, release)

    # Apple: on 2 May the GB deal is over (on New York's 1 May it would still run)
    assert _products(_xml(apple))["GB"]["cleared_for_sale"] == "false"
    assert _products(_xml(apple))["US"]["cleared_for_sale"] == "true"
    # ERN: an update restates a deal live today as started yesterday; the US deal is live on
    # 2 May (on New York's 1 May it would not have started and keep its own start date)
    root = etree.fromstring(ern.message.data or b"")
    us_starts = [
        deal_terms.findtext("ValidityPeriod/StartDate")
        for deal_terms in root.iter("DealTerms")
        if deal_terms.findtext("TerritoryCode") == "US"
    ]
    assert us_starts == ["2025-05-01"]
