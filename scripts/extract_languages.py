"""Write pycountry's ISO 639 language codes into ``stardust_git/data/iso639.json``.

The release models check a language code against this table
(``stardust_git.vocabulary.is_language``):
importing pycountry and indexing its 7,900 languages cost a one-file validate about 50 ms, for a
membership test. Rerun after upgrading pycountry (tests/test_languages.py says when).

Usage: python scripts/extract_languages.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pycountry

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "stardust_git" / "data" / "iso639.json"


def language_table() -> dict[str, object]:
    """The two- and three-letter codes ``pycountry.languages.get`` finds, sorted."""
    languages = list(pycountry.languages)
    two_letter = [language.alpha_2 for language in languages if hasattr(language, "alpha_2")]
    return {
        "source": "pycountry.languages (ISO 639-3), written by scripts/extract_languages.py",
        "alpha_2": sorted(two_letter),
        "alpha_3": sorted(language.alpha_3 for language in languages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    out = parser.parse_args().out
    out.write_text(json.dumps(language_table(), indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
