"""The asset files a package needs, remembered between asks by their stat identity."""

from __future__ import annotations

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
