"""The ISO 639 table the models check language codes against: pycountry's, generated ahead."""

from __future__ import annotations

import runpy
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pycountry
import pytest

from stardust_git.vocabulary import is_language

EXTRACTOR = Path(__file__).resolve().parents[1] / "scripts" / "extract_languages.py"


def test_table_is_what_the_extractor_writes_from_pycountry(tmp_path: Path) -> None:
    fresh = tmp_path / "iso639.json"
    subprocess.run([sys.executable, str(EXTRACTOR), "--out", str(fresh)], check=True)
    shipped = files("stardust_git").joinpath("data/iso639.json").read_bytes()
    assert fresh.read_bytes() == shipped


def test_every_code_pycountry_finds_is_a_language() -> None:
    table = runpy.run_path(str(EXTRACTOR))["language_table"]()
    assert len(table["alpha_2"]) > 180 and len(table["alpha_3"]) > 7_000
    for language in pycountry.languages:
        assert is_language(language.alpha_3)
        if hasattr(language, "alpha_2"):
            assert is_language(language.alpha_2)


@pytest.mark.parametrize("code", ["xx", "qqq", "EN", "eng-", "e", "", "english", "zz"])
def test_codes_pycountry_does_not_know_are_not(code: str) -> None:
    two = len(code) == 2 and pycountry.languages.get(alpha_2=code)
    three = len(code) == 3 and pycountry.languages.get(alpha_3=code)
    expected = bool(two or three) and code == code.lower()
    assert is_language(code) is expected
