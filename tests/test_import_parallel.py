"""Reading many input files on every CPU: the releases come back in file order, and a bad file's
errors are reported with the others' releases, as when read one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.inputs import PARALLEL_FROM_FILES, input_files, read_all, read_input
from stardust_git.importers.model import ImportContext
from stardust_git.importers.sheetlayout import release_rows
from stardust_git.source.catalog import Catalog, load_genres
from tests.conftest import REPO_ROOT
from tests.test_import_spreadsheet import example_releases, write_csv

FILES = PARALLEL_FROM_FILES + 6
BAD = 37


@pytest.fixture(scope="module")
def context() -> ImportContext:
    catalog = Catalog(root=REPO_ROOT)
    load_genres(REPO_ROOT, catalog)
    return ImportContext(GenreLookup.from_catalog(catalog))


def a_folder_of_sheets(folder: Path) -> list[str]:
    """FILES spreadsheets of one example release each (file BAD is not UTF-8); the UPCs of the
    good ones, in file order."""
    releases = example_releases()
    upcs = []
    for index in range(FILES):
        path = folder / f"sheet-{index:03d}.csv"
        release = releases[index % len(releases)]
        write_csv(path, release_rows(release))
        if index == BAD:
            path.write_bytes(path.read_bytes() + b"\xff\n")
        else:
            upcs.append(release["upc"])
    return upcs


def test_many_files_are_read_in_order_with_every_error(
    tmp_path: Path, context: ImportContext
) -> None:
    upcs = a_folder_of_sheets(tmp_path)

    releases, errors = read_all(input_files([tmp_path]), context, None, read_input)

    assert [release.upc for release in releases] == upcs
    assert len({release.source for release in releases}) == FILES - 1
    assert [(Path(e.path).name, e.message.split(":")[0]) for e in errors] == [
        (f"sheet-{BAD:03d}.csv", "not UTF-8 text")
    ]
    assert errors[0].line > 1
