"""``stardust-git export``: the catalog and its delivery state, read back with csv and json."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from stardust_git.report.export import TABLES, empty_columns, export_rows
from tests.gitrepo import UPCS, Repo, make_catalog


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["stardust-git", *args], cwd=root, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """Two releases: the first delivered to alpha (beta not yet), the second with a title and
    track a spreadsheet would run as formulas, never delivered."""
    repo = make_catalog(tmp_path_factory.mktemp("export"))
    repo.add_release(UPCS[0], "Summer Vibes")
    path = repo.add_release(UPCS[1], '\'=HYPERLINK("http://evil","x")\'', targets=("alpha",))
    text = repo.read(path).replace("title: Sunset Dreams", "title: '@SUM(A1:A9)'")
    repo.write(path, text.replace("duration: 3", "duration: PT1H2M3S").replace("Beach", "Čajka"))
    repo.commit("Two releases")
    delivered = cli(repo.root, "deliver", "--only", UPCS[0], "--target", "alpha", "--commit")
    assert delivered.returncode == 0, delivered.stderr
    return repo


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_tracks_csv_has_one_row_per_track_with_where_it_is_live(catalog: Repo) -> None:
    done = cli(catalog.root, "export")

    assert done.returncode == 0, done.stderr
    first, second = read_csv(done.stdout)
    assert (first["upc"], first["isrc"], first["release_title"]) == (
        UPCS[0],
        f"USRC1240{UPCS[0][-4:]}",
        "Summer Vibes",
    )
    assert (first["track_title"], first["artists"], first["duration"]) == (
        "Sunset Dreams",
        "Beach Band",
        "0:03",
    )
    assert (first["label"], first["release_date"]) == ("Indie Records", "2024-07-01")
    assert first["live_at"] == "alpha"
    assert first["status"] == "alpha: live; beta: pending"
    assert (second["live_at"], second["status"]) == ("", "alpha: pending")
    assert (second["duration"], second["seconds"], second["artists"]) == (
        "1:02:03",
        "3723.0",
        "Čajka Band",
    )


def test_csv_cells_that_would_be_formulas_are_text(catalog: Repo) -> None:
    rows = read_csv(cli(catalog.root, "export", "--what", "releases").stdout)
    tracks = read_csv(cli(catalog.root, "export").stdout)

    assert rows[1]["title"] == '\'=HYPERLINK("http://evil","x")'
    assert tracks[1]["release_title"] == rows[1]["title"]
    assert tracks[1]["track_title"] == "'@SUM(A1:A9)"
    assert rows[0]["title"] == "Summer Vibes"  # only what a spreadsheet would run is changed


def test_json_keeps_the_values_as_they_are(catalog: Repo) -> None:
    done = cli(catalog.root, "export", "--what", "releases", "--format", "json")

    first, second = json.loads(done.stdout)
    assert first["live_at"] == ["alpha"]
    assert first["status"] == {"alpha": "live", "beta": "pending"}
    assert (first["tracks"], first["seconds"]) == (1, 3.0)
    assert second["title"] == '=HYPERLINK("http://evil","x")'
    assert second["artists"] == ["Čajka Band"]


def test_deliveries_lists_each_delivery_from_the_receipts(catalog: Repo) -> None:
    done = cli(catalog.root, "export", "--what", "deliveries", "--format", "json")

    [row] = json.loads(done.stdout)
    assert (row["upc"], row["target"], row["action"], row["status"]) == (
        UPCS[0],
        "alpha",
        "initial",
        "success",
    )
    assert row["commit"] == catalog.git("rev-parse", "HEAD~1")
    assert row["files"] >= 3 and row["bytes"] > 0


def test_out_writes_a_file_with_a_bom_when_asked(catalog: Repo, tmp_path: Path) -> None:
    out = tmp_path / "sheets" / "tracks.csv"

    done = cli(catalog.root, "export", "--out", str(out), "--bom")

    assert done.returncode == 0 and done.stdout == ""
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfupc,isrc,")
    assert read_csv(data.decode("utf-8-sig"))[1]["artists"] == "Čajka Band"
    assert not cli(catalog.root, "export").stdout.startswith("\ufeff")


def test_an_unwritable_out_is_a_clear_error(catalog: Repo, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")

    done = cli(catalog.root, "export", "--out", str(tmp_path / "file" / "tracks.csv"))

    assert done.returncode == 1
    assert "cannot write" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("table", TABLES)
def test_an_empty_table_has_the_header_of_a_full_one(catalog: Repo, table: str) -> None:
    [row, *_] = export_rows(catalog.root, table)  # type: ignore[arg-type]

    assert empty_columns(table) == list(row)  # type: ignore[arg-type]


def test_a_catalog_without_releases_exports_the_header(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)

    done = cli(repo.root, "export", "--what", "deliveries")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [",".join(empty_columns("deliveries"))]
