"""The asset files a package needs, remembered between asks by their stat identity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.render.media import RenderAssetError, audio_asset, image_asset
from tests.gitrepo import write_assets

UPC = "5000000000012"


def test_a_missing_file_fails_each_time_at_the_callers_field_until_it_appears(
    tmp_path: Path,
) -> None:
    with pytest.raises(RenderAssetError) as first:
        audio_asset(tmp_path, f"assets/{UPC}/01.wav", ("tracks", 0, "audio"))
    with pytest.raises(RenderAssetError) as again:
        audio_asset(tmp_path, f"assets/{UPC}/01.wav", ("audio",))
    assert again.value.message == first.value.message
    assert "01.wav" in first.value.message
    assert (first.value.loc, again.value.loc) == (("tracks", 0, "audio"), ("audio",))
    write_assets(tmp_path, UPC)
    asset = audio_asset(tmp_path, f"assets/{UPC}/01.wav", ("audio",))
    assert asset.info.bytes == (tmp_path / "assets" / UPC / "01.wav").stat().st_size


def test_a_file_is_asked_about_as_the_kind_the_caller_wants(tmp_path: Path) -> None:
    write_assets(tmp_path, UPC)
    assert image_asset(tmp_path, f"assets/{UPC}/cover.jpg", ("cover",)).info.width == 1400
    with pytest.raises(RenderAssetError):
        audio_asset(tmp_path, f"assets/{UPC}/cover.jpg", ("audio",))
    assert image_asset(tmp_path, f"assets/{UPC}/cover.jpg", ("cover",)).info.width == 1400


HASH_IN_A_NEW_PROCESS = """
import sys
import subprocess
import sys
from pathlib import Path
from stardust_git import assets
from stardust_git.render.media import audio_asset

def refuse(*args, **kwargs):
    raise SystemExit("read again")

assets.md5_file = refuse
print(audio_asset(Path(sys.argv[1]), sys.argv[2], ("audio",)).md5)
"""


def test_an_unchanged_file_is_not_read_again_by_a_later_run(tmp_path: Path) -> None:
    write_assets(tmp_path, UPC)
    value = f"assets/{UPC}/01.wav"
    first = audio_asset(tmp_path, value, ("audio",)).md5
    command = [sys.executable, "-c", HASH_IN_A_NEW_PROCESS, str(tmp_path), value]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, first), done.stderr
