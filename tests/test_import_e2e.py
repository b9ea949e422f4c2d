"""`stardust-git import` end to end, as a label runs it: delivery folders that stardust-git
rendered (the message and its resources, hashes in the message) come back as release files that
`validate` passes, with their assets; bad inputs give one located error, exit 1, no traceback,
and write nothing."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stardust_git.importers.sheetlayout import FIELDS, release_rows
from stardust_git.source.yamlio import load_yaml_file
from tests.test_render_command import copy_example_catalog, git
from tests.test_render_support import REPO_ROOT

STARDUST = str(Path(sys.executable).parent / "stardust-git")
EXAMPLE_UPCS = ("0885686123454", "1234567890128", "4250123456789", "5060236631114")
TARGET_OF_VERSION = {"4.3": "local", "4.2": "deezer", "3.8.2": "ern382"}
ERN382_TARGET = """format: ern
ern_version: "3.8.2"
sender: {party_id: PADPIDA2025110101D, name: Indie Records}
recipient: {party_id: PADPIDA20251101047, name: A 3.8.2 Shop}
delivery: {protocol: local, directory: outbox/ern382}
"""
"""A 3.8.2 target that takes every genre (Beatport's map takes electronic music only)."""
ERN43 = "http://ddex.net/xml/ern/43"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STARDUST, *args, "--root", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def empty_catalog(root: Path) -> Path:
    """A catalog repository with the project's targets and genre maps and no releases."""
    for folder in ("targets", "genre-maps", "schemas"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    (root / "catalog").mkdir()
    git(root, "init", "--quiet")
    return root


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_catalog(tmp_path_factory.mktemp("example"))
    (root / "targets" / "ern382.yaml").write_text(ERN382_TARGET)
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    return root


@pytest.fixture(scope="module")
def deliveries(example: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example release rendered for one target per ERN version: ``<version>/N_.../``."""
    out = tmp_path_factory.mktemp("deliveries")
    for version, target in TARGET_OF_VERSION.items():
        for upc in EXAMPLE_UPCS:
            done = run(example, "render", upc, "--target", target, "--out", str(out / version))
            assert done.returncode == 0, done.stderr
    return {version: out / version for version in TARGET_OF_VERSION}


def release_files(root: Path) -> dict[str, dict]:
    files = sorted((root / "catalog").rglob("*.yaml"))
    loaded = [yaml.load(path.read_text(), Loader=yaml.BaseLoader) for path in files]
    return {release["upc"]: release for release in loaded}


def assert_failed_cleanly(done: subprocess.CompletedProcess[str], root: Path) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert not list((root / "catalog").rglob("*.yaml"))
    assert not (root / "assets").exists() or not any((root / "assets").rglob("*.*"))
    return output


@pytest.mark.parametrize("version", list(TARGET_OF_VERSION))
def test_delivery_folders_come_back_as_valid_releases_with_their_assets(
    version: str, deliveries: dict[str, Path], example: Path, tmp_path: Path
) -> None:
    root = empty_catalog(tmp_path / "repo")
    done = run(root, "import", str(deliveries[version]), "--assets", "copy")
    assert done.returncode == 0, done.stdout + done.stderr

    imported, original = release_files(root), release_files(example)
    assert sorted(imported) == sorted(EXAMPLE_UPCS)
    for upc, release in imported.items():
        source = original[upc]
        assert release["title"] == source["title"]
        assert release["artists"] == source["artists"]
        assert [t["isrc"] for t in release["tracks"]] == [t["isrc"] for t in source["tracks"]]
        assert [t["title"] for t in release["tracks"]] == [t["title"] for t in source["tracks"]]
        for track in release["tracks"]:
            assert (root / track["audio"]).is_file()
        assert (root / release["cover"]).is_file()
    validated = run(root, "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_json_output_lists_each_release_with_what_the_yaml_cannot_hold(
    deliveries: dict[str, Path], tmp_path: Path
) -> None:
    root = empty_catalog(tmp_path / "repo")
    done = run(root, "import", str(deliveries["4.3"]), "--assets", "none", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    releases = report["releases"] if isinstance(report, dict) else report
    assert sorted(entry["upc"] for entry in releases) == sorted(EXAMPLE_UPCS)
    for entry in releases:
        assert (root / entry["file"]).is_file()
        for note in entry["notes"]:
            assert note["where"].startswith("/NewReleaseMessage/")


def first_audio(folder: Path) -> Path:
    return sorted(p for p in (folder / "resources").iterdir() if p.suffix != ".jpg")[0]


def one_delivery(deliveries: dict[str, Path], tmp_path: Path, upc: str = "4250123456789") -> Path:
    """A copy of one release's 4.3 delivery folder, to break."""
    (folder,) = [p for p in deliveries["4.3"].iterdir() if p.name.startswith(f"N_{upc}_")]
    return Path(shutil.copytree(folder, tmp_path / "in" / folder.name))


def test_a_missing_resource_is_named_and_nothing_is_written(
    deliveries: dict[str, Path], tmp_path: Path
) -> None:
    folder = one_delivery(deliveries, tmp_path)
    audio = first_audio(folder)
    audio.unlink()
    root = empty_catalog(tmp_path / "repo")
    output = assert_failed_cleanly(run(root, "import", str(folder), "--assets", "copy"), root)
    assert audio.name in output
    assert "4250123456789.xml" in output


def test_a_resource_whose_md5_differs_from_the_message_is_refused(
    deliveries: dict[str, Path], tmp_path: Path
) -> None:
    folder = one_delivery(deliveries, tmp_path)
    audio = first_audio(folder)
    audio.write_bytes(audio.read_bytes() + b"\0")
    root = empty_catalog(tmp_path / "repo")
    output = assert_failed_cleanly(run(root, "import", str(folder), "--assets", "copy"), root)
    assert audio.name in output
    assert "MD5" in output or "md5" in output


def test_malformed_xml_is_located(tmp_path: Path) -> None:
    message = tmp_path / "in" / "broken.xml"
    message.parent.mkdir()
    message.write_text(f'<ern:NewReleaseMessage xmlns:ern="{ERN43}">\n<A>\n</B>\n')
    root = empty_catalog(tmp_path / "repo")
    output = assert_failed_cleanly(run(root, "import", str(message)), root)
    assert "broken.xml:3:" in output
    assert "not well-formed XML" in output


def test_an_xxe_message_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    message = tmp_path / "in" / "xxe.xml"
    message.parent.mkdir()
    message.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        f'<ern:NewReleaseMessage xmlns:ern="{ERN43}"><MessageHeader>&x;</MessageHeader>'
        "</ern:NewReleaseMessage>\n"
    )
    root = empty_catalog(tmp_path / "repo")
    output = assert_failed_cleanly(run(root, "import", str(message)), root)
    assert "xxe.xml:2:" in output
    assert "DOCTYPE" in output
    assert "TOP-SECRET-VALUE" not in output


def example_sheet(path: Path, edit: Callable[[list[dict[str, str]]], None] | None = None) -> Path:
    """The example catalog as a CSV in the default layout, optionally edited row by row."""
    releases = [load_yaml_file(p).data for p in sorted((REPO_ROOT / "catalog").glob("*/*.yaml"))]
    rows = [row for release in releases for row in release_rows(release)]
    header = [name for name in FIELDS if any(name in row for row in rows)]
    if edit:
        edit(rows)
        header += [key for key in rows[0] if key not in header]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_sheet_whose_rows_disagree_names_both_rows(tmp_path: Path) -> None:
    def disagree(rows: list[dict[str, str]]) -> None:
        rows[1]["release_title"] = "Summer Vibes"

    sheet = example_sheet(tmp_path / "sheet.csv", disagree)
    root = empty_catalog(tmp_path / "repo")
    output = assert_failed_cleanly(run(root, "import", str(sheet), "--assets", "none"), root)
    assert re.search(
        r"sheet.csv:3:\d+: release_title: row 3 says 'Summer Vibes' but row 2 says"
        r" 'Summer Vibes EP': the rows of release 1234567890128 must agree",
        output,
    ), output


def test_a_sheet_with_an_unknown_column_is_located(tmp_path: Path) -> None:
    def add_mood(rows: list[dict[str, str]]) -> None:
        for row in rows:
            row["Mood"] = "sunny"

    sheet = example_sheet(tmp_path / "sheet.csv", add_mood)
    root = empty_catalog(tmp_path / "repo")
    output = assert_failed_cleanly(run(root, "import", str(sheet), "--assets", "none"), root)
    assert re.search(
        r"sheet.csv:1:\d+: Mood: unknown column 'Mood' \(a mapping file can rename or ignore it\)",
        output,
    ), output


def test_a_valid_sheet_imports_every_release(tmp_path: Path) -> None:
    sheet = example_sheet(tmp_path / "sheet.csv")
    root = empty_catalog(tmp_path / "repo")
    done = run(root, "import", str(sheet), "--assets", "none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(release_files(root)) == sorted(EXAMPLE_UPCS)


def test_a_purge_message_in_a_folder_is_skipped_with_a_warning(
    deliveries: dict[str, Path], tmp_path: Path
) -> None:
    """An old distributor's outbox holds purges beside deliveries: the rest is imported."""
    folder = one_delivery(deliveries, tmp_path)
    purge = REPO_ROOT.parent / "shared" / "ddex-samples" / "ern382" / "03_delete.xml"
    shutil.copy(purge, folder.parent / "03_delete.xml")
    root = empty_catalog(tmp_path / "repo")
    done = run(root, "import", str(folder.parent), "--assets", "copy")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(
        r"03_delete.xml:23:1: warning: a PurgeReleaseMessage .* the file was skipped", output
    ), output
    assert sorted(release_files(root)) == ["4250123456789"]
