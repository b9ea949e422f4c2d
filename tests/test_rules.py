"""Business rules beyond the XSD, each made to fail; the official samples pass them all; and the
render check inside ``validate`` reports XSD and rule problems on the release file."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path

import pytest
from lxml import etree

from stardust_git import checks, rules, xsd
from stardust_git.checks.ern import field_of
from stardust_git.render import render_message
from stardust_git.render.ern_package import build_view
from stardust_git.validate import validate_catalog
from tests.test_render_support import (
    COMMITTED_AT,
    REPO_ROOT,
    SAMPLES,
    VERSIONS,
    context,
    example_catalog,
    target_name,
)

TODAY = COMMITTED_AT.date()
SAMPLE_FILES = sorted(SAMPLES.glob("*/*.xml"))
ALBUM = "catalog/the-meridians/longitude.yaml"


def rendered(version: str = "4.3", action: str = "initial", path: str = ALBUM) -> etree._Element:
    catalog = example_catalog()
    xml = render_message(catalog, catalog.releases[path], target_name(version), action, context())
    return etree.fromstring(xml)


def ids(problems: list[rules.RuleProblem]) -> list[str]:
    return [p.rule for p in problems]


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_official_samples_pass_the_xsd_and_every_rule(sample: Path) -> None:
    data = sample.read_bytes()
    version = xsd.version_of(data)
    assert xsd.validate_xml(data, version) == []
    assert rules.check_message(xsd.parse_untrusted(data)) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_messages_pass_every_rule(version: str) -> None:
    for action in ("initial", "update", "takedown"):
        assert rules.check_message(rendered(version, action), action, TODAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_br_ref_001_references_resolve(version: str) -> None:
    root = rendered(version)
    root.find("DealList/ReleaseDeal/DealReleaseReference").text = "R99"
    problems = rules.check_message(root)
    assert ids(problems) == ["BR-REF-001"]
    assert "'R99'" in problems[0].message
    assert problems[0].path.endswith("/DealList/ReleaseDeal/DealReleaseReference[1]")


def test_br_ref_001_party_references_resolve() -> None:
    root = rendered("4.2")
    root.find(".//DisplayArtist/ArtistPartyReference").text = "P404"
    assert ids(rules.check_message(root)) == ["BR-REF-001"]


@pytest.mark.parametrize("version", VERSIONS)
def test_br_isrc_001_every_sound_recording_has_a_valid_isrc(version: str) -> None:
    root = rendered(version)
    isrcs = [e for e in root.find("ResourceList").iter("ISRC")]
    isrcs[0].text = "USIR1250000"  # 11 characters
    isrcs[1].getparent().remove(isrcs[1])
    problems = [p for p in rules.check_message(root) if p.rule == "BR-ISRC-001"]
    assert [p.message for p in problems] == [
        "SoundRecording A1: 'USIR1250000' is not a valid ISRC",
        "SoundRecording A2 has no ISRC",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_br_icpn_001_the_main_release_has_a_valid_icpn(version: str) -> None:
    root = rendered(version)
    icpn = root.find("ReleaseList/Release/ReleaseId/ICPN")
    icpn.text = "0885686123455"  # wrong check digit
    assert ids(rules.check_message(root)) == ["BR-ICPN-001"]
    grid = etree.Element("GRid")
    grid.text = "A1B2C3D4E5F6G7H8I9"
    release_id = icpn.getparent()
    release_id.remove(icpn)
    assert ids(rules.check_message(root)) == ["BR-ICPN-001"]  # no identifier at all
    release_id.insert(0, grid)
    assert rules.check_message(root) == []  # identified by GRid: the rule does not apply


@pytest.mark.parametrize("version", VERSIONS)
def test_br_res_001_every_resource_belongs_to_a_release(version: str) -> None:
    root = rendered(version)
    image_reference = root.findtext("ResourceList/Image/ResourceReference")
    for element in list(root.find("ReleaseList").iter()):
        if isinstance(element.tag, str) and element.text == image_reference:
            element.getparent().remove(element)
    problems = rules.check_message(root)
    # ERN 4 declares the Audio profile, whose main release must carry the cover (clause 6.2).
    assert ids(problems) == ["BR-RES-001"] + (["DDEX-RP-6.2"] if version != "3.8.2" else [])
    assert problems[0].message == f"Image {image_reference} belongs to no release"


@pytest.mark.parametrize("version", VERSIONS)
def test_br_terr_001_overlapping_deals_for_one_territory(version: str) -> None:
    root = rendered(version)
    deal = root.find("DealList/ReleaseDeal/Deal")
    deal.addnext(copy.deepcopy(deal))
    problems = rules.check_message(root)
    assert set(ids(problems)) == {"BR-TERR-001"}
    assert (
        "two deals for Worldwide (SubscriptionModel, OnDemandStream) overlap" in problems[0].message
    )
    # the same deal ending before the copy starts is no contradiction
    first, second = root.findall("DealList/ReleaseDeal/Deal")[:2]
    period = first.find("DealTerms/ValidityPeriod")
    end = etree.SubElement(period, "EndDate")
    end.text = "2025-09-30"
    second.find("DealTerms/ValidityPeriod/StartDate").text = "2025-10-01"
    assert rules.check_message(root) == []


def test_br_terr_001_a_territory_both_included_and_excluded() -> None:
    release = example_catalog().releases[ALBUM].model
    deal = release.deals[0].model_copy(
        update={"territories": ["US", "CA"], "excluded_territories": ["CA"]}
    )
    changed = release.model_copy(update={"deals": [deal, release.deals[1]]})
    problems = rules.check_release(changed)
    assert [(p.rule, p.loc) for p in problems] == [
        ("BR-TERR-001", ("deals", 0, "excluded_territories"))
    ]
    assert "CA" in problems[0].message
    assert rules.check_release(release) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_br_deal_001_resent_live_deals_start_in_the_past(version: str) -> None:
    root = rendered(version, "update")
    for start in root.iter("StartDate"):
        start.text = str(TODAY)
    problems = rules.check_message(root, "update", TODAY)
    assert set(ids(problems)) == {"BR-DEAL-001"}
    assert rules.check_message(root, "initial", TODAY) == []  # a first delivery may start today
    for start in root.iter("StartDate"):
        start.text = str(TODAY - dt.timedelta(days=1))
    assert rules.check_message(root, "update", TODAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_br_take_001_a_takedown_carries_no_live_deal(version: str) -> None:
    live = rendered(version, "initial")
    problems = rules.check_message(live, "takedown", TODAY)
    assert set(ids(problems)) == {"BR-TAKE-001"}
    assert rules.check_message(rendered(version, "takedown"), "takedown", TODAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_br_take_001_a_takedown_deal_ending_yesterday_is_not_over_everywhere(
    version: str,
) -> None:
    # the old takedown ended deals "UTC yesterday": still today west of UTC
    root = rendered(version, "takedown")
    for end in root.iter("EndDate"):
        end.text = str(TODAY - dt.timedelta(days=1))
    problems = rules.check_message(root, "takedown", TODAY)
    assert set(ids(problems)) == {"BR-TAKE-001"}
    assert "not by 2025-11-01" in problems[0].message
    for end in root.iter("EndDate"):
        end.text = str(TODAY - dt.timedelta(days=2))
    assert rules.check_message(root, "takedown", TODAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_br_take_001_a_takedown_carrying_a_future_deal_is_refused(version: str) -> None:
    # a pre-order deal left in a takedown would go live on its start date
    root = rendered(version, "takedown")
    for period in root.iter("ValidityPeriod"):
        for child in list(period):
            period.remove(child)
        etree.SubElement(period, "StartDate").text = str(TODAY + dt.timedelta(days=10))
    problems = rules.check_message(root, "takedown", TODAY)
    assert problems and set(ids(problems)) == {"BR-TAKE-001"}
    assert "ends never" in problems[0].message


# --- the render check inside validate --------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for folder in ("catalog", "targets", "genre-maps", "assets"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    return tmp_path


def release_diagnostics(repo: Path, rule: str) -> list:
    report = validate_catalog(repo)
    return [d for d in report.diagnostics if d.rule == rule]


def test_render_checks_are_in_the_registry_and_need_rendering() -> None:
    needs = {check.name: check.needs for check in checks.RELEASE_CHECKS}
    assert needs["ern"] == {"render"} and needs["apple"] == {"render"}
    assert needs["business-rules"] == frozenset()


def test_example_catalog_validates_without_render_problems(repo: Path) -> None:
    report = validate_catalog(repo)
    assert report.errors == []


def test_xsd_problems_are_reported_on_the_release_file(repo: Path) -> None:
    tidal = repo / "targets/tidal.yaml"
    tidal.write_text(tidal.read_text() + "release_profile: NotAProfile\n")
    found = release_diagnostics(repo, "xsd")
    assert found, "the invalid ReleaseProfileVersionId must be reported"
    assert {d.path for d in found} == {ALBUM}
    assert all("target 'tidal' (ERN 4.2)" in d.message for d in found)
    assert any("ReleaseProfileVersionId" in d.message for d in found)
    assert all(d.line >= 1 for d in found)


def test_contradicting_territories_are_reported_on_the_deal(repo: Path) -> None:
    release = repo / ALBUM
    text = release.read_text().replace(
        "  - territories: [Worldwide]\n    commercial_models: [PayAsYouGoModel]",
        "  - territories: [US, CA]\n    excluded_territories: [CA]\n"
        "    commercial_models: [PayAsYouGoModel]",
    )
    release.write_text(text)
    found = release_diagnostics(repo, "BR-TERR-001")
    assert len(found) == 1
    assert found[0].path == ALBUM
    assert found[0].field == "deals[1].excluded_territories"
    lines = text.splitlines()
    assert lines[found[0].line - 1].strip() == "excluded_territories: [CA]"


def test_unmappable_genre_for_a_strict_target_is_reported(repo: Path) -> None:
    release = repo / ALBUM
    release.write_text(release.read_text().replace("genre: HOUSE", "genre: POP"))
    found = release_diagnostics(repo, "genre")
    assert len(found) == 1
    assert "target 'beatport'" in found[0].message
    assert found[0].field == "genre"


def test_a_broken_asset_is_left_to_the_asset_check(repo: Path) -> None:
    (repo / "assets/0885686123454/03.flac").write_bytes(b"not audio")
    report = validate_catalog(repo)
    assert [d for d in report.diagnostics if d.rule in ("render", "xsd")] == []
    assert any("03.flac" in d.message for d in report.errors)


def test_xml_paths_point_at_the_release_field() -> None:
    catalog = example_catalog()
    view = build_view(catalog, catalog.releases[ALBUM], "ern382", "initial", context())
    message = "/NewReleaseMessage"
    assert field_of(f"{message}/ResourceList/SoundRecording[8]/Duration", view, 2) == ("tracks", 7)
    assert field_of(f"{message}/ReleaseList/Release[3]/ReleaseId", view, 2) == ("tracks", 1)
    assert field_of(f"{message}/ReleaseList/Release[1]/ReleaseId", view, 2) == ()
    assert field_of(f"{message}/DealList/ReleaseDeal/Deal[2]/DealTerms", view, 2) == ("deals", 1)
    assert field_of(f"{message}/DealList/ReleaseDeal/Deal/DealTerms", view, 2) == ("deals", 0)
    assert field_of(f"{message}/DealList/ReleaseDeal", view, 2) == ()
    assert field_of(f"{message}/ResourceList/Image/ImageId", view, 2) == ("cover",)
    assert field_of(f"{message}/MessageHeader/MessageId", view, 2) == ("targets", 2)
