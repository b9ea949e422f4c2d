"""The static HTML report of the example catalog, checked by structure (no golden files)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from lxml import html

from stardust_git.models.receipt import Delivery
from stardust_git.qc.cache import media_cache_dir
from stardust_git.qc.measure import measure_assets
from stardust_git.report import charts
from stardust_git.report.build import BuildOptions, build_report
from stardust_git.report.gather import DeliveryEvent
from stardust_git.source.catalog import load_catalog
from tests.reportsite import BASE_URL, HOSTILE_TITLE, HOSTILE_UPC, TODAY, ReportSite, build_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ReportSite:
    return build_site(tmp_path_factory.mktemp("report"))


def pages(site: ReportSite) -> list[Path]:
    return sorted(site.out.rglob("*.html"))


def parse(path: Path) -> html.HtmlElement:
    return html.fromstring(path.read_bytes())


def catalog_data(site: ReportSite) -> dict[str, Any]:
    text = (site.out / "data" / "catalog.js").read_text()
    return json.loads(text.removeprefix("window.STARDUST_CATALOG = ").rstrip(";\n"))


def catalog_states(site: ReportSite) -> dict[str, dict[str, tuple[str, str]]]:
    """UPC -> target -> (state, until), decoded as catalog.js decodes the rows."""
    data = catalog_data(site)
    codes = {letter: code for code, letter in data["states"].items()}
    found = {}
    for row in data["rows"]:
        parts = [re.fullmatch(r"(\d+)([A-Z])(.*)", state) for state in row[9].split()]
        found[row[0]] = {data["targets"][int(p[1])]: (codes[p[2]], p[3]) for p in parts if p}
    return found


def test_every_release_has_a_page_and_a_catalog_row(site: ReportSite) -> None:
    upcs = {loaded.model.upc for loaded in load_catalog(site.repo).releases.values()}
    assert len(upcs) == 6
    rows = catalog_data(site)["rows"]
    assert {row[0] for row in rows} == upcs
    for upc in upcs:
        page = parse(site.out / "releases" / f"{upc}.html")
        assert page.get_element_by_id("title").text_content().strip()


def test_every_target_is_on_the_targets_page(site: ReportSite) -> None:
    names = {path.stem for path in (site.repo / "targets").glob("*.yaml")}
    page = parse(site.out / "targets.html")
    rows = page.xpath('//table[@id="targets"]/tbody/tr')
    assert {row.get("data-target") for row in rows} == names
    targets = load_catalog(site.repo).targets
    for row in rows:
        target = targets[row.get("data-target")].model
        assert row[2].text_content().startswith(target.profile or "")
        assert row[3].text_content() == target.delivery.protocol
    assert "${" not in html.tostring(page, encoding="unicode")  # no secret reference either


def test_every_link_resolves_to_a_file_of_the_report(site: ReportSite) -> None:
    checked = 0
    for path in pages(site):
        for _element, attribute, link, _ in parse(path).iterlinks():
            if attribute not in ("href", "src"):
                continue
            if link.startswith(BASE_URL):
                continue
            parts = urlparse(link)
            assert not parts.scheme and not parts.netloc, f"{path.name}: {link}"
            target = (path.parent / unquote(parts.path)).resolve()
            assert target.is_file(), f"{path.relative_to(site.out)} links to missing {link}"
            checked += 1
    assert checked > 50


def test_a_script_in_a_title_shows_as_text(site: ReportSite) -> None:
    page = parse(site.out / "releases" / f"{HOSTILE_UPC}.html")
    assert page.get_element_by_id("title").text_content().strip() == HOSTILE_TITLE
    scripts = [s for p in pages(site) for s in parse(p).iter("script")]
    assert all(script.get("src") and not (script.text or "").strip() for script in scripts)
    titles = {row[0]: row[1] for row in catalog_data(site)["rows"]}
    assert titles[HOSTILE_UPC] == HOSTILE_TITLE  # data for textContent, never parsed as HTML
    deliveries = parse(site.out / "deliveries.html")
    assert "<script>alert(2)</script>" in deliveries.text_content()
    assert not deliveries.xpath("//b")


def test_release_page_shows_status_history_tracks_and_message(site: ReportSite) -> None:
    page = parse(site.out / "releases" / "5060236631114.html")
    states = {
        row.get("data-target"): row.get("data-state")
        for row in page.xpath('//table[@id="status"]//tr[@data-target]')
    }
    assert states == {"local": "live", "spotify": "acknowledged", "apple": "rejected"}
    assert "GBXYZ2500001" in page.text_content()
    links = [a.get("href") for a in page.xpath('//a[@class="commit"]')]
    assert links and all(link == f"{BASE_URL}/commit/{site.commit}" for link in links)
    message = page.xpath("//a[@download]")
    assert message, "the rendered message is downloadable"
    xml = (site.out / "releases" / message[0].get("href")).resolve().read_bytes()
    assert b"5060236631114" in xml and xml.startswith(b"<?xml")


def test_states_cover_held_failed_and_taken_down(site: ReportSite) -> None:
    rows = catalog_states(site)
    assert rows["5012345678900"]["local"] == ("held", "2027-03-01")
    assert rows["0885686123454"] == {
        "local": ("pending", ""),
        "tidal": ("live", ""),
        "beatport": ("failed", ""),
    }
    assert rows["4250123456789"]["deezer"] == ("takendown", "")


def test_deliveries_page_puts_failures_and_retries_first(site: ReportSite) -> None:
    page = parse(site.out / "deliveries.html")
    attention = page.xpath('//table[@id="attention"]/tbody/tr')
    texts = [row.text_content() for row in attention]
    assert len(texts) == 4  # three failures and the retry that succeeded
    assert sum("(retry)" in text for text in texts) == 1
    assert len(page.xpath('//table[@id="timeline"]/tbody/tr')) == 8
    assert page.xpath('//svg[@class="chart"]')


def test_problems_page_lists_genre_maps(site: ReportSite) -> None:
    page = parse(site.out / "problems.html")
    maps = {row[0].text_content() for row in page.xpath('//table[@id="coverage"]/tbody/tr')}
    assert maps == {path.stem for path in (site.repo / "genre-maps").glob("*.yaml")} - {"genres"}


def test_thumbnails_come_from_the_cache_on_the_second_build(
    site: ReportSite, tmp_path: Path
) -> None:
    thumbs = sorted((site.out / "thumbs").glob("*.jpg"))
    assert thumbs and all(re.fullmatch(r"[0-9a-f]{32}\.jpg", t.name) for t in thumbs)
    cache = site.out.parent / "cache"
    for cached in cache.glob("*.jpg"):
        cached.write_bytes(b"marker")  # a rebuild copies these instead of making new ones
    build_report(site.repo, tmp_path / "again", BuildOptions(cache=cache, validate=False))
    assert {t.read_bytes() for t in (tmp_path / "again" / "thumbs").glob("*.jpg")} == {b"marker"}


def test_a_rebuild_replaces_the_report_whole(site: ReportSite, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("old")
    (out / "stale.html").write_text("old")
    build_report(
        site.repo, out, BuildOptions(cache=tmp_path / "cache", validate=False, messages=False)
    )
    assert not (out / "stale.html").exists() and "Catalog" in (out / "index.html").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_that_is_not_a_report_is_not_replaced(site: ReportSite, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    command = ["stardust-git", "report", "--out", str(tmp_path), "--root", str(site.repo)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "not a report" in done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "notes.txt").read_text() == "mine"
    done = subprocess.run(
        [*command[:3], str(tmp_path / "notes.txt"), *command[4:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "is a file" in done.stderr and "Traceback" not in done.stderr


def test_time_to_acknowledgement_buckets() -> None:
    event = DeliveryEvent("1", "t", Delivery.model_validate(_delivery_data(ack_hours=5)), False)
    assert charts.ack_delays([event]) == [("1-6 h", 1)]


def _delivery_data(ack_hours: int) -> dict[str, object]:
    return {
        "message_id": "M",
        "action": "initial",
        "commit": "a" * 40,
        "format": "ern/4.3",
        "started": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:00:00Z",
        "attempts": 1,
        "status": "success",
        "acknowledgements": [
            {"status": "FileOK", "received_at": f"2026-01-01T0{ack_hours}:00:00Z"}
        ],
    }


def test_pages_written_by_forked_workers_match_a_serial_build(
    site: ReportSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers also check their shares with the gate: the problems page is the same."""
    from stardust_git.report import build, problems

    options = BuildOptions(cache=tmp_path / "cache", today=TODAY)
    build_report(site.repo, tmp_path / "serial", options)
    monkeypatch.setattr(build, "PARALLEL_MIN_RELEASES", 1)
    monkeypatch.setattr(build, "PAGE_SHARE", 2)
    monkeypatch.setattr(problems, "PARALLEL_MIN_RELEASES", 1)
    monkeypatch.setattr(problems, "CHECK_SHARE", 2)
    build_report(site.repo, tmp_path / "forked", options)
    serial = {
        p.relative_to(tmp_path / "serial"): p.read_bytes()
        for p in (tmp_path / "serial").rglob("*.*")
    }
    forked = {
        p.relative_to(tmp_path / "forked"): p.read_bytes()
        for p in (tmp_path / "forked").rglob("*.*")
    }
    assert len(serial) > 20 and forked == serial
    assert b'<tr class="warning">' in serial[Path("problems.html")]  # problems to compare


def test_problems_page_lists_what_validate_finds(site: ReportSite) -> None:
    command = [
        "stardust-git",
        "validate",
        "--no-render",
        "--format",
        "json",
        "--root",
        str(site.repo),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = json.loads(done.stdout)
    expected = {
        (d["path"], str(d["line"]), d["field"]) for d in found["errors"] + found["warnings"]
    }
    assert expected  # the example catalog has warnings
    page = parse(site.out / "problems.html")
    rows = page.xpath('//table[@id="problems"]/tbody/tr')
    shown = {tuple(cell.text_content() for cell in row[1:4]) for row in rows}
    assert shown == expected


def test_release_page_shows_the_qc_figures_validate_measured(
    site: ReportSite, tmp_path: Path
) -> None:
    audio = site.repo / "assets" / "1234567890128" / "01.wav"
    measured = measure_assets(media_cache_dir(site.repo), [audio])[audio].qc
    assert measured is not None and measured.integrated_lufs is not None
    shown = parse(site.out / "releases" / "1234567890128.html").xpath('//span[@class="qc"]')
    assert f"{measured.integrated_lufs:.1f} LUFS" in shown[0].text_content()
    assert f"true peak {measured.true_peak_dbtp:.1f} dBTP" in shown[0].text_content()
    unmeasured = tmp_path / "repo"
    shutil.copytree(site.repo, unmeasured, ignore=shutil.ignore_patterns(".stardust-cache"))
    build_report(unmeasured, tmp_path / "site", BuildOptions(cache=tmp_path / "c", validate=False))
    page = parse(tmp_path / "site" / "releases" / "1234567890128.html")
    assert not page.xpath('//span[@class="qc"]'), "no figures where nothing was measured"
