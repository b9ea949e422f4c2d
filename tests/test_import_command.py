"""`stardust-git import` over real CSV inputs into real git repositories: the files it writes
(style, paths, collisions), re-imports, assets, baseline receipts and what plan and status make
of them, JSON output, and bad inputs that stop every write. ERN-specific outcomes (takedowns,
notes, message ids) come through an injected reader handing over ImportedRelease objects."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stardust_git.errors import UserError
from stardust_git.importers.model import ImportedRelease, ImportNote, ResourceFile
from stardust_git.importers.run import ImportOptions, run_import
from stardust_git.importers.sheetlayout import FIELDS, release_rows
from stardust_git.models.receipt import Receipt
from stardust_git.source.yamlio import load_yaml_file
from tests.conftest import REPO_ROOT
from tests.test_import_e2e import run as cli
from tests.test_render_command import git

STARDUST = str(Path(sys.executable).parent / "stardust-git")
HEADER = [name for name in FIELDS if not name.endswith("_md5")]
SUMMER, NIGHT, FIRST, ALBUM = "1234567890128", "4250123456789", "5060236631114", "0885686123454"
NOT_IN_A_SHEET = ("targets", "takedown", "deliver_after")


def examples() -> dict[str, dict[str, Any]]:
    loaded = [load_yaml_file(p).data for p in sorted((REPO_ROOT / "catalog").glob("*/*.yaml"))]
    return {release["upc"]: release for release in loaded}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed catalog repository with the project's targets and genre maps, no releases."""
    root = tmp_path / "repo"
    for folder in ("targets", "genre-maps", "schemas"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    (root / "catalog").mkdir()
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "targets")
    return root


def sheet(
    folder: Path,
    upcs: tuple[str, ...] = (SUMMER, NIGHT, FIRST),
    change: dict[str, dict[str, str]] | None = None,
    md5: bool = False,
) -> Path:
    """A CSV of example releases in the default layout, their audio and covers beside it in
    <UPC>/ folders; ``change`` overrides cells per UPC; ``md5`` adds the audio_md5 column."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for upc in upcs:
        shutil.copytree(REPO_ROOT / "assets" / upc, folder / upc, dirs_exist_ok=True)
        for row in release_rows(examples()[upc]):
            row.update(cover=f"{upc}/{row['cover']}", audio=f"{upc}/{row['audio']}")
            if md5:
                row["audio_md5"] = hashlib.md5((folder / row["audio"]).read_bytes()).hexdigest()
            rows.append({**row, **(change or {}).get(upc, {})})
    path = folder / "releases.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        header = [*HEADER, "audio_md5"] if md5 else HEADER
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def catalog_files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("catalog/**/*.yaml"))
    }


def assert_nothing_written(root: Path) -> None:
    assert not list((root / "catalog").rglob("*.yaml"))
    assert not (root / "assets").exists()
    assert not (root / "receipts").exists()


# --- the files written ---------------------------------------------------------------------------


def test_written_files_have_the_catalog_style_and_load_back_to_the_examples(
    repo: Path, tmp_path: Path
) -> None:
    done = cli(repo, "import", str(sheet(tmp_path / "in")))
    assert done.returncode == 0, done.stdout + done.stderr

    written = {
        load_yaml_file(path).data["upc"]: path for path in (repo / "catalog").rglob("*.yaml")
    }
    assert sorted(written) == sorted([SUMMER, NIGHT, FIRST])
    for upc, path in written.items():
        original = {k: v for k, v in examples()[upc].items() if k not in NOT_IN_A_SHEET}
        loaded = load_yaml_file(path).data
        assert {k: v for k, v in loaded.items() if k != "release_type"} == {
            k: (3 if v == "PT3S" else v) if k != "tracks" else loaded["tracks"]
            for k, v in original.items()
            if k != "release_type"
        }
        assert [t["isrc"] for t in loaded["tracks"]] == [t["isrc"] for t in original["tracks"]]
    summer = written[SUMMER].read_text().splitlines()
    assert written[SUMMER] == repo / "catalog/indie-records/summer-vibes-ep.yaml"
    assert summer[0] == "# yaml-language-server: $schema=../../schemas/release.schema.json"
    assert summer[1] == f'upc: "{SUMMER}"'
    assert "  - {name: Beach Band, role: MainArtist}" in summer
    assert "p_line: {year: 2024, owner: Indie Records}" in summer
    assert "release_date: 2024-07-01" in summer
    assert "  - territories: [Worldwide]" in summer
    assert "      - {name: John Smith, role: Producer}" in summer
    first = written[FIRST].read_text()
    assert "release_type: Single            # guessed from 1 track, 0:03 in all\n" in first
    assert cli(repo, "validate").returncode == 0


def test_a_deeper_label_dir_gets_a_modeline_that_still_finds_the_schema(
    repo: Path, tmp_path: Path
) -> None:
    done = cli(repo, "import", str(sheet(tmp_path / "in", (SUMMER,))), "--label-dir", "catalog/a/b")
    assert done.returncode == 0, done.stderr
    text = (repo / "catalog/a/b/summer-vibes-ep.yaml").read_text()
    modeline = text.splitlines()[0]
    assert modeline == "# yaml-language-server: $schema=../../../schemas/release.schema.json"
    schema = (repo / "catalog/a/b" / modeline.split("=", 1)[1]).resolve()
    assert schema == (repo / "schemas/release.schema.json").resolve() and schema.is_file()


def test_a_title_taken_by_another_release_gets_the_upc_in_its_file_name(
    repo: Path, tmp_path: Path
) -> None:
    existing = repo / "catalog/indie-records/night-shift.yaml"
    existing.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "catalog/kid-sable/night-shift.yaml", existing)
    same_title = {FIRST: {"release_title": "Summer Vibes EP"}, NIGHT: {"upc": "4006381333931"}}
    csv_path = sheet(tmp_path / "in", (SUMMER, FIRST, NIGHT), same_title)
    done = cli(repo, "import", csv_path.as_posix(), "--assets", "none")
    assert done.returncode == 0, done.stdout + done.stderr

    folder = repo / "catalog/indie-records"
    assert load_yaml_file(folder / "summer-vibes-ep.yaml").data["upc"] == SUMMER
    assert load_yaml_file(folder / f"summer-vibes-ep-{FIRST}.yaml").data["upc"] == FIRST
    assert load_yaml_file(folder / "night-shift-4006381333931.yaml").data["title"] == "Night Shift"
    assert existing.read_bytes() == (REPO_ROOT / "catalog/kid-sable/night-shift.yaml").read_bytes()


# --- re-import -----------------------------------------------------------------------------------


def test_reimport_unchanged_differs_and_overwrite(repo: Path, tmp_path: Path) -> None:
    first = cli(repo, "import", str(sheet(tmp_path / "a", (SUMMER, NIGHT))))
    assert first.returncode == 0, first.stderr
    before = catalog_files(repo)

    again = cli(repo, "import", str(sheet(tmp_path / "b", (SUMMER, NIGHT))), "--format", "json")
    statuses = {r["upc"]: r["status"] for r in json.loads(again.stdout)["releases"]}
    assert statuses == {SUMMER: "unchanged", NIGHT: "unchanged"}
    assert catalog_files(repo) == before

    renamed = sheet(tmp_path / "c", (SUMMER, NIGHT), {NIGHT: {"release_title": "Day Shift"}})
    differs = cli(repo, "import", str(renamed))
    assert differs.returncode == 0, differs.stderr
    assert "catalog/indie-records/night-shift.yaml: differs" in differs.stdout
    assert "title: 'Night Shift' -> 'Day Shift'" in differs.stdout
    assert f"{SUMMER}  Summer Vibes EP  catalog/indie-records/summer-vibes-ep.yaml: unchanged" in (
        differs.stdout
    )
    assert catalog_files(repo) == before

    overwritten = cli(repo, "import", str(renamed), "--overwrite")
    assert "night-shift.yaml: overwritten" in overwritten.stdout
    after = catalog_files(repo)
    assert load_yaml_file(repo / "catalog/indie-records/night-shift.yaml").data["title"] == (
        "Day Shift"
    )
    assert sorted(after) == sorted(before)  # rewritten in place, no new file


def test_dry_run_writes_nothing_and_says_what_it_would_write(repo: Path, tmp_path: Path) -> None:
    done = cli(
        repo, "import", str(sheet(tmp_path / "in")), "--dry-run", "--delivered-to", "spotify"
    )
    assert done.returncode == 0, done.stderr
    assert "catalog/indie-records/summer-vibes-ep.yaml: would write" in done.stdout
    assert "would import 3 releases: 3 new" in done.stderr
    assert_nothing_written(repo)


# --- assets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["copy", "link"])
def test_assets_are_copied_or_linked_into_assets_upc(mode: str, repo: Path, tmp_path: Path) -> None:
    source = sheet(tmp_path / "in", (SUMMER,), md5=True)
    done = cli(repo, "import", str(source), "--assets", mode)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("cover.jpg", "01.wav", "02.wav"):
        placed, original = repo / "assets" / SUMMER / name, source.parent / SUMMER / name
        assert placed.read_bytes() == original.read_bytes()
        same_file = placed.resolve().samefile(original)
        assert same_file == (mode == "link")


def test_assets_none_brings_nothing_and_validate_no_assets_passes(
    repo: Path, tmp_path: Path
) -> None:
    source = sheet(tmp_path / "in", (SUMMER,))
    (source.parent / SUMMER / "01.wav").unlink()  # not even looked at
    done = cli(repo, "import", str(source), "--assets", "none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (repo / "assets").exists()
    assert cli(repo, "validate", "--no-assets").returncode == 0
    assert cli(repo, "validate").returncode == 1


def test_an_md5_mismatch_names_the_file_and_both_hashes_and_writes_nothing(
    repo: Path, tmp_path: Path
) -> None:
    source = sheet(tmp_path / "in", (SUMMER, NIGHT), md5=True)
    audio = source.parent / NIGHT / "02.mp3"
    stated = hashlib.md5(audio.read_bytes()).hexdigest()
    audio.write_bytes(audio.read_bytes() + b"\0")
    actual = hashlib.md5(audio.read_bytes()).hexdigest()

    done = cli(repo, "import", str(source))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert f"02.mp3: MD5 {actual} does not match {stated}" in output
    assert f"{source}:4:" in output  # Night Shift's first row (the header is row 1)
    assert_nothing_written(repo)


def test_a_missing_resource_is_named_and_nothing_is_written(repo: Path, tmp_path: Path) -> None:
    source = sheet(tmp_path / "in", (SUMMER, NIGHT), md5=True)
    (source.parent / SUMMER / "cover.jpg").unlink()  # no MD5 stated: only looked for
    (source.parent / NIGHT / "01.mp3").unlink()  # MD5 stated
    done = cli(repo, "import", str(source))
    assert done.returncode == 1
    cover, audio = source.parent / SUMMER / "cover.jpg", source.parent / NIGHT / "01.mp3"
    assert f"{source}:2:1: row 2, column cover: {cover}: not found" in done.stderr
    assert f"{source}:4:1: row 4, column audio: {audio}: file not found" in done.stderr
    assert_nothing_written(repo)


# --- baseline receipts ---------------------------------------------------------------------------


def test_delivered_to_writes_imported_receipts_that_plan_and_status_understand(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the status table on one line per row
    done = cli(repo, "import", str(sheet(tmp_path / "in")), "--delivered-to", "spotify,deezer")
    assert done.returncode == 0, done.stdout + done.stderr
    head = git(repo, "rev-parse", "HEAD")
    for upc in (SUMMER, NIGHT, FIRST):
        for target in ("spotify", "deezer"):
            receipt = Receipt.model_validate_json(
                (repo / f"receipts/{upc}/{target}.json").read_text()
            )
            (delivery,) = receipt.history
            assert (delivery.imported, delivery.action, delivery.status) == (
                True,
                "initial",
                "success",
            )
            assert delivery.commit == head and delivery.files == []
    summer = load_yaml_file(repo / "catalog/indie-records/summer-vibes-ep.yaml").data
    assert summer["targets"] == ["spotify", "deezer"]
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "import")

    nothing = json.loads(cli(repo, "plan", "--all", "--format", "json").stdout)
    assert nothing["actions"] == []

    path = repo / "catalog/indie-records/night-shift.yaml"
    path.write_text(path.read_text().replace("title: Night Shift\n", "title: Night Shift II\n", 1))
    summer_path = repo / "catalog/indie-records/summer-vibes-ep.yaml"
    summer_path.write_text(summer_path.read_text() + "takedown: true\n")
    git(repo, "commit", "--quiet", "-am", "edit")
    planned = json.loads(cli(repo, "plan", "--all", "--format", "json").stdout)["actions"]
    actions = {(a["upc"], a["target"]): a["action"] for a in planned}
    assert actions == {
        (NIGHT, "spotify"): "update",
        (NIGHT, "deezer"): "update",
        (SUMMER, "spotify"): "takedown",
        (SUMMER, "deezer"): "takedown",
    }

    status = json.loads(cli(repo, "status", FIRST, "--format", "json").stdout)
    assert [(row["target"], row["action"]) for row in status] == [
        ("deezer", "initial (imported)"),
        ("spotify", "initial (imported)"),
    ]
    table = cli(repo, "status", FIRST).stdout
    assert "initial (imported)" in table


def test_what_the_gate_finds_in_the_written_files_fails_the_import_and_the_files_stay(
    repo: Path, tmp_path: Path
) -> None:
    done = cli(repo, "import", str(sheet(tmp_path / "in", (NIGHT,))), "--delivered-to", "apple")
    assert done.returncode == 1
    assert "night-shift.yaml: written" in done.stdout
    # The apple profile's rule reports the lossy audio (once, with its id and source).
    lossy = [line for line in done.stdout.splitlines() if "APPLE-AUD-001" in line]
    assert lossy, done.stdout
    assert "catalog/indie-records/night-shift.yaml:19:5: tracks[0].audio:" in lossy[0]
    assert "the gate found" in done.stderr
    assert (repo / "catalog/indie-records/night-shift.yaml").is_file()
    assert (repo / f"assets/{NIGHT}/01.mp3").is_file()


def test_an_unknown_target_is_a_usage_error_naming_the_known_ones(
    repo: Path, tmp_path: Path
) -> None:
    done = cli(repo, "import", str(sheet(tmp_path / "in")), "--delivered-to", "spotify,tidall")
    assert done.returncode == 2
    assert "unknown target 'tidall'" in done.stderr
    assert "apple, beatport, deezer" in done.stderr
    assert_nothing_written(repo)


# --- output and bad inputs -----------------------------------------------------------------------


def test_json_output_has_releases_errors_and_a_summary(repo: Path, tmp_path: Path) -> None:
    done = cli(repo, "import", str(sheet(tmp_path / "in")), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"releases", "errors", "summary"}
    first = next(r for r in report["releases"] if r["upc"] == FIRST)
    assert first["title"] == "First Light"
    assert first["file"] == "catalog/indie-records/first-light.yaml"
    assert (first["status"], first["differences"]) == ("new", [])
    assert first["guessed"] == [
        {"field": "release_type", "message": "guessed from 1 track, 0:03 in all"}
    ]
    assert report["summary"]["new"] == 3 and report["summary"]["unchanged"] == 0
    assert all(error["severity"] == "warning" for error in report["errors"])


def test_a_located_error_in_one_input_stops_every_write(repo: Path, tmp_path: Path) -> None:
    good = sheet(tmp_path / "good", (SUMMER,))
    bad = sheet(tmp_path / "bad", (NIGHT,), {NIGHT: {"isrc": "DE-XYZ"}})
    twice = sheet(tmp_path / "twice", (SUMMER,))
    done = cli(repo, "import", str(good), str(bad), str(twice))
    assert done.returncode == 1
    assert f"{bad}:2:" in done.stderr and "isrc" in done.stderr
    assert f"{twice}:2:" in done.stderr
    assert f"UPC {SUMMER} is imported twice: also at {good}:2" in done.stderr
    assert_nothing_written(repo)

    as_json = cli(repo, "import", str(good), str(bad), "--format", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["releases"] == []
    located = [(e["path"], e["line"], e["field"]) for e in report["errors"]]
    assert located == [(str(bad), 2, "isrc"), (str(bad), 3, "isrc")]  # Night Shift's two rows
    assert_nothing_written(repo)


# --- through an injected reader (what the ERN readers hand over) ---------------------------------


def ern_like(tmp_path: Path, upc: str = NIGHT, **changes: Any) -> ImportedRelease:
    """An example release as an ERN reader hands it over: resources with their MD5s."""
    data = {k: v for k, v in examples()[upc].items() if k not in NOT_IN_A_SHEET}
    resources = []
    for index, path in enumerate(sorted((REPO_ROOT / "assets" / upc).iterdir())):
        copy = shutil.copy(path, tmp_path / f"{upc}-{path.name}")
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        where = f"/NewReleaseMessage/ResourceList/SoundRecording[{index + 1}]"
        resources.append(ResourceFile(Path(copy), path.name, md5, where))
    defaults: dict[str, Any] = {
        "upc": upc,
        "data": data,
        "source": "batch/message.xml",
        "line": 42,
        "resources": resources,
        "message_id": "MSG-0001",
        "notes": [
            ImportNote("unmapped", "/NewReleaseMessage/ReleaseList/Release[1]/Keywords", "x")
        ],
        "version": "4.3",
    }
    return ImportedRelease(**{**defaults, **changes})


def message_file(tmp_path: Path) -> Path:
    """The input the injected reader stands in for (it is named, never parsed)."""
    path = tmp_path / "batch" / "message.xml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("<NewReleaseMessage/>\n")
    return path


def reader_of(releases: list[ImportedRelease]) -> Any:
    def read(*_: Any) -> Iterator[ImportedRelease]:
        return iter(releases)

    return read


def test_a_takedown_message_gives_a_takedown_receipt_with_its_message_id(
    repo: Path, tmp_path: Path
) -> None:
    taken_down = ern_like(tmp_path, delivered_action="takedown")
    taken_down.data["takedown"] = True
    options = ImportOptions(delivered_to=("spotify",))
    result = run_import(repo, [message_file(tmp_path)], options, reader_of([taken_down]))

    (outcome,) = result.releases
    assert [n.where for n in outcome.notes] == [
        "/NewReleaseMessage/ReleaseList/Release[1]/Keywords"
    ]
    receipt = Receipt.model_validate_json((repo / outcome.receipts[0]).read_text())
    (delivery,) = receipt.history
    assert (delivery.action, delivery.message_id, delivery.imported) == (
        "takedown",
        "MSG-0001",
        True,
    )
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "import")
    assert json.loads(cli(repo, "plan", "--all", "--format", "json").stdout)["actions"] == []


def test_invalid_release_data_is_located_at_the_input_line_and_field(
    repo: Path, tmp_path: Path
) -> None:
    broken = ern_like(tmp_path)
    broken.data["tracks"][1]["isrc"] = "NOT-AN-ISRC"
    with pytest.raises(UserError) as caught:
        run_import(repo, [message_file(tmp_path)], ImportOptions(), reader_of([broken]))
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line, diagnostic.field) == (
        "batch/message.xml",
        42,
        "tracks[1].isrc",
    )
    assert_nothing_written(repo)


def test_an_injected_resource_with_another_md5_is_refused(repo: Path, tmp_path: Path) -> None:
    release = ern_like(tmp_path)
    wrong = release.resources[0]
    release.resources[0] = ResourceFile(wrong.source, wrong.name, "0" * 32, wrong.where)
    with pytest.raises(UserError) as caught:
        run_import(
            repo, [message_file(tmp_path)], ImportOptions(assets="link"), reader_of([release])
        )
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.field == wrong.where
    assert f"does not match {'0' * 32}" in diagnostic.message
    assert_nothing_written(repo)
