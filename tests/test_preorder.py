"""Pre-orders and instant gratification: the catalog fields, how each ERN version and Apple's
package state them (XSD-valid, in the places the standards give), and the BR-PRE rules as
``stardust-git validate`` reports them in a real catalog repository."""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from stardust_git import rules, xsd
from stardust_git.checks.apple import package_problems, xsd_problems
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.inputs import ern_reader
from stardust_git.importers.model import ImportContext, ImportedRelease
from stardust_git.importers.xmlsafe import open_message
from stardust_git.render import render_message
from stardust_git.source.catalog import Catalog
from tests.gitrepo import Repo, make_catalog, release_yaml, write_assets
from tests.media import write_jpeg, write_wav
from tests.test_apple import NS, _products, _release, _render_tmp, _tmp_catalog, _track, _xml
from tests.test_apple import cover_3000 as cover_3000  # the session fixture, shared
from tests.test_render_support import (
    VERSIONS,
    add_targets,
    context,
    example_catalog,
    make_release,
    release_data,
    target_name,
)

OPENS = dt.date(2026, 1, 9)
STREET = dt.date(2026, 3, 6)
RENDERED_ON = dt.date(2025, 11, 3)  # the render context's date: the pre-order is in the future
INSTANT_ISRC = "USABC2500002"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = tmp_path_factory.mktemp("preorder")
    write_jpeg(root / "assets/t/cover.jpg", size=64)
    write_wav(root / "assets/t/01.wav", seconds=0.2)
    write_wav(root / "assets/t/02.wav", seconds=0.2, rate=22050)
    write_wav(root / "assets/t/03.wav", seconds=0.2, channels=2)
    return add_targets(Catalog(root=root))


def preorder_release(**fields: Any) -> dict[str, Any]:
    """Three tracks, the second instant-grat; one Worldwide deal whose pre-order opens OPENS."""
    data = release_data(release_date=str(STREET), **fields)
    data["tracks"].append(
        {"isrc": "USABC2500003", "title": "Three", "duration": 1, "audio": "assets/t/03.wav"}
    )
    data["tracks"][1]["instant_grat"] = True
    data["deals"][0].update(start_date=str(STREET), preorder_date=str(OPENS))
    return data


def render(
    catalog: Catalog, data: dict[str, Any], version: str, action: str = "initial", **kw: Any
) -> etree._Element:
    xml = render_message(catalog, make_release(data), target_name(version), action, context(**kw))
    problems = xsd.validate_xml(xml, version)
    assert problems == [], [p.message for p in problems]
    return etree.fromstring(xml)


def release_deals(root: etree._Element) -> list[etree._Element]:
    return root.findall("DealList/ReleaseDeal")


def references(release_deal: etree._Element) -> list[str]:
    return [e.text or "" for e in release_deal.findall("DealReleaseReference")]


def main_release_reference(root: etree._Element) -> str:
    found = root.xpath("ReleaseList/Release[ReleaseId/ICPN]/ReleaseReference/text()")
    assert len(found) == 1, found
    return str(found[0])


def recording_reference(root: etree._Element, isrc: str) -> str:
    found = root.xpath(
        "ResourceList/SoundRecording[.//ISRC = $isrc]/ResourceReference/text()", isrc=isrc
    )
    assert len(found) == 1, found
    return str(found[0])


def child_names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


# --- ERN -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_preorder_deal_for_the_main_release_with_its_instant_grat_tracks(
    catalog: Catalog, version: str
) -> None:
    root = render(catalog, preorder_release(), version)

    shared, preorder = release_deals(root)
    assert references(preorder) == [main_release_reference(root)]
    assert len(references(shared)) == 4  # the album and its three track releases
    assert shared.find(".//IsPreOrderDeal") is None
    terms = preorder.find("Deal/DealTerms")
    assert terms is not None and terms.findtext("IsPreOrderDeal") == "true"
    assert terms.findtext("ValidityPeriod/StartDate") == str(OPENS)
    assert terms.findtext("ValidityPeriod/EndDate") == str(STREET - dt.timedelta(days=1))
    instant = terms.xpath("InstantGratificationResourceList/DealResourceReference/text()")
    assert instant == [recording_reference(root, INSTANT_ISRC)]
    assert shared.findtext("Deal/DealTerms/ValidityPeriod/StartDate") == str(STREET)
    assert rules.check_message(root) == []


def test_ern_382_states_the_preorder_release_date_in_the_xsd_order(catalog: Catalog) -> None:
    root = render(catalog, preorder_release(), "3.8.2")

    terms = release_deals(root)[1].find("Deal/DealTerms")
    assert terms is not None and terms.findtext("PreOrderReleaseDate") == str(OPENS)
    names = child_names(terms)
    assert names[0] == "IsPreOrderDeal"
    assert names[-3:] == [
        "ValidityPeriod",
        "PreOrderReleaseDate",
        "InstantGratificationResourceList",
    ]


@pytest.mark.parametrize("version", ["4.2", "4.3"])
def test_ern_4_flags_the_preorder_deal_after_the_use_types(catalog: Catalog, version: str) -> None:
    root = render(catalog, preorder_release(), version)

    terms = release_deals(root)[1].find("Deal/DealTerms")
    assert terms is not None
    assert terms.find("PreOrderReleaseDate") is None  # 4.x has none: the window says it
    assert child_names(terms) == [
        "TerritoryCode",
        "ValidityPeriod",
        "CommercialModelType",
        "UseType",
        "IsPreOrderDeal",
        "InstantGratificationResourceList",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_preorder_without_instant_grat_tracks_has_no_list(catalog: Catalog, version: str) -> None:
    data = preorder_release()
    data["tracks"][1]["instant_grat"] = False

    root = render(catalog, data, version)

    assert root.find("DealList/ReleaseDeal/Deal/DealTerms/IsPreOrderDeal") is not None
    assert root.find(".//InstantGratificationResourceList") is None


@pytest.mark.parametrize("version", VERSIONS)
def test_takedowns_and_past_preorders_state_no_preorder_deal(
    catalog: Catalog, version: str
) -> None:
    takedown = render(catalog, preorder_release(), version, "takedown")
    after_street = render(catalog, preorder_release(), version, today=STREET)

    for root in (takedown, after_street):
        assert root.find(".//IsPreOrderDeal") is None
        assert all(len(references(deal)) == 4 for deal in release_deals(root))
    assert len(release_deals(after_street)) == 1
    assert rules.check_message(takedown, "takedown", RENDERED_ON) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_running_preorder_resent_today_starts_in_the_past(catalog: Catalog, version: str) -> None:
    data = preorder_release()
    data["deals"][0]["preorder_date"] = str(RENDERED_ON)

    root = render(catalog, data, version, "update")

    terms = release_deals(root)[1].find("Deal/DealTerms")
    assert terms is not None
    assert terms.findtext("ValidityPeriod/StartDate") == str(RENDERED_ON - dt.timedelta(days=1))
    assert rules.check_message(root, "update", RENDERED_ON) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_without_a_preorder_one_release_deal_as_before(catalog: Catalog, version: str) -> None:
    data = preorder_release()
    del data["deals"][0]["preorder_date"]
    data["tracks"][1]["instant_grat"] = False

    root = render(catalog, data, version)

    assert len(release_deals(root)) == 1
    assert root.find(".//IsPreOrderDeal") is None


# --- reading pre-orders back (stardust-git import) --------------------------------------------


def imported_back(root: etree._Element, folder: Path) -> ImportedRelease:
    """The one release the import reads from the message ``root``, written under ``folder``."""
    path = folder / "message.xml"
    path.write_bytes(etree.tostring(root))
    message = open_message(path, path.name)
    context = ImportContext(GenreLookup.from_catalog(example_catalog()))
    (release,) = ern_reader(message)(message, context)
    return release


@pytest.mark.parametrize("version", VERSIONS)
def test_import_reads_the_preorder_back_onto_its_deal(
    catalog: Catalog, version: str, tmp_path: Path
) -> None:
    back = imported_back(render(catalog, preorder_release(), version), tmp_path)

    (deal,) = back.data["deals"]
    assert (deal["start_date"], deal["preorder_date"]) == (STREET, OPENS)
    instant = [track["isrc"] for track in back.data["tracks"] if track.get("instant_grat")]
    assert instant == [INSTANT_ISRC]
    unread = [note.where for note in back.notes if note.kind == "unmapped"]
    assert not [where for where in unread if "PreOrder" in where or "Instant" in where], unread
    assert not [note for note in back.notes if "pre-order" in note.message]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_preorder_deal_without_its_regular_deal_is_noted_not_imported(
    catalog: Catalog, version: str, tmp_path: Path
) -> None:
    root = render(catalog, preorder_release(), version)
    shared, _ = release_deals(root)
    shared.getparent().remove(shared)

    back = imported_back(root, tmp_path)

    assert "deals" not in back.data
    assert not any(track.get("instant_grat") for track in back.data["tracks"])
    (note,) = [note for note in back.notes if "pre-order" in note.message]
    assert note.kind == "unmapped"
    assert back.delivered_action == "takedown"


# --- Apple -----------------------------------------------------------------------------------


def apple_release(**deal: Any) -> dict[str, Any]:
    tracks = [_track(1), _track(2, instant_grat=True), _track(3)]
    release = _release(release_date="2026-03-06", tracks=tracks)
    first = copy.deepcopy(release["deals"])[0]  # type: ignore[index]
    first.update(start_date="2026-03-06", **deal)
    release["deals"] = [first]
    return release


def test_apple_package_opens_the_preorder_and_marks_instant_grat_tracks(
    tmp_path: Path, cover_3000: Path
) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000, apple_release(preorder_date="2026-01-09"))

    package = _render_tmp(catalog)
    root = _xml(package)

    assert package_problems(package) == [] and xsd_problems(root) == []
    products = _products(root)
    assert set(products) == {"GB", "US"}
    for fields in products.values():
        assert fields["preorder_sales_start_date"] == "2026-01-09"
        assert fields["sales_start_date"] == "2026-03-06"
    kinds = root.xpath("a:album/a:tracks/a:track/a:preorder_type/text()", namespaces=NS)
    assert kinds == ["standard", "instant-gratification", "standard"]


def test_apple_package_without_preorder_has_no_preorder_fields(
    tmp_path: Path, cover_3000: Path
) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000, apple_release())

    root = _xml(_render_tmp(catalog))

    assert xsd_problems(root) == []
    assert root.xpath("//a:preorder_sales_start_date | //a:preorder_type", namespaces=NS) == []


# --- the rules, through `stardust-git validate` ---------------------------------------------

UPC = "1234567890128"
PATH = f"catalog/{UPC}.yaml"
STREET_2030 = "2030-07-05"


def release_text(preorder: str | None, instant: tuple[bool, bool]) -> str:
    """A two-track release in the future (the pre-order window is open when validate renders)."""
    flags = [f"    instant_grat: {'true' if flag else 'false'}\n" for flag in instant]
    audio = f"    audio: assets/{UPC}/01.wav\n"
    second = (
        "  - isrc: USRC12400129\n    title: Moonrise\n    duration: 3\n"
        f"    audio: assets/{UPC}/02.wav\n"
    )
    text = release_yaml(UPC, "Summer Vibes", ("alpha", "beta")).replace("2024-07-01", STREET_2030)
    text = text.replace(audio, audio + flags[0] + second + flags[1])
    if preorder:
        start = f"    start_date: {STREET_2030}\n"
        text = text.replace(start, f"{start}    preorder_date: {preorder}\n")
    return text


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_catalog(tmp_path)
    write_assets(repo.root, UPC)
    write_wav(repo.root / "assets" / UPC / "02.wav", seconds=3.0, rate=8000, seed=7)
    return repo


def validate(repo: Repo, text: str) -> subprocess.CompletedProcess[str]:
    repo.write(PATH, text)
    return subprocess.run(
        [sys.executable, "-m", "stardust_git", "validate"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=300,
    )


def located(repo: Repo, line_start: str, nth: int = 1) -> int:
    """The number of the ``nth`` line of the release file starting with ``line_start``."""
    lines = repo.read(PATH).splitlines()
    numbers = [n for n, line in enumerate(lines, 1) if line.startswith(line_start)]
    return numbers[nth - 1]


def test_a_valid_preorder_release_passes_validate(repo: Repo) -> None:
    done = validate(repo, release_text("2030-05-10", (False, True)))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "BR-PRE" not in done.stdout


@pytest.mark.parametrize("opens", ["2030-07-05", "2030-08-01"])
def test_br_pre_001_a_preorder_opening_on_or_after_the_street_date(repo: Repo, opens: str) -> None:
    done = validate(repo, release_text(opens, (False, True)))

    assert done.returncode == 1
    line = located(repo, "    preorder_date:")
    assert f"{PATH}:{line}:5: deals[0].preorder_date: the pre-order opens on {opens}" in (
        done.stdout
    )
    assert "[BR-PRE-001]" in done.stdout


def test_br_pre_001_the_release_date_counts_too(repo: Repo) -> None:
    text = release_text("2030-05-10", (False, True)).replace(
        f"release_date: {STREET_2030}", "release_date: 2030-05-01"
    )

    done = validate(repo, text)

    assert done.returncode == 1
    assert f"{PATH}:{located(repo, '    preorder_date:')}:5: deals[0].preorder_date" in (
        done.stdout
    )
    assert "release date (2030-05-01) [BR-PRE-001]" in done.stdout


def test_br_pre_002_instant_grat_without_a_preorder(repo: Repo) -> None:
    done = validate(repo, release_text(None, (False, True)))

    assert done.returncode == 1
    line = located(repo, "    instant_grat: true")
    assert (
        f"{PATH}:{line}:5: tracks[1].instant_grat: an instant-grat track needs a pre-order: "
        "no deal has a preorder_date [BR-PRE-002]"
    ) in done.stdout


def test_br_pre_003_every_track_instant_grat(repo: Repo) -> None:
    done = validate(repo, release_text("2030-05-10", (True, True)))

    assert done.returncode == 1
    line = located(repo, "    instant_grat: true", nth=2)
    assert f"{PATH}:{line}:5: tracks[1].instant_grat: every track is instant-grat" in done.stdout
    assert "[BR-PRE-003]" in done.stdout
    assert "BR-PRE-002" not in done.stdout


def test_all_preorder_problems_of_a_release_are_reported_together(repo: Repo) -> None:
    done = validate(repo, release_text(None, (True, True)))

    assert done.returncode == 1
    assert done.stdout.count("[BR-PRE-002]") == 2
    assert done.stdout.count("[BR-PRE-003]") == 1


def test_a_preorder_deal_without_instant_tracks_or_opening_date_folds_into_its_deal() -> None:
    from stardust_git.importers.ern_common import compact, fold_preorders, preorder_marks

    terms = {"territories": ["Worldwide"], "commercial_models": ["PayAsYouGoModel"]}
    regular = terms | {"start_date": dt.date(2027, 3, 1)}
    preorder = compact(
        preorder_marks("true", [], None)
        | terms
        | {"start_date": dt.date(2027, 1, 1), "end_date": dt.date(2027, 2, 28)}
    )

    kept, instant, unmatched = fold_preorders([regular, preorder])

    assert kept == [regular | {"preorder_date": dt.date(2027, 1, 1)}]
    assert (instant, unmatched) == ([], [])
