"""Golden messages: each example release in each ERN version, byte for byte.

``UPDATE_GOLDEN=1 pytest tests/test_render_golden.py`` rewrites them; review the diff like a DDEX
reviewer before checking it in. A golden changes only when the renderer, the catalog or the
example assets change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stardust_git import xsd
from stardust_git.render import render_message
from tests.test_render_support import (
    REPO_ROOT,
    VERSIONS,
    context,
    example_catalog,
    example_releases,
    target_name,
)

GOLDEN_DIR = REPO_ROOT / "tests" / "golden" / "ern"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = [
    (path, version, action)
    for path in sorted(example_releases())
    for version in VERSIONS
    for action in ("initial", "takedown")
]


def golden_path(path: str, version: str, action: str) -> Path:
    upc = example_releases()[path].model.upc
    return GOLDEN_DIR / f"{upc}_{target_name(version)}_{action}.xml"


@pytest.mark.parametrize(("path", "version", "action"), CASES)
def test_rendered_message_matches_golden(path: str, version: str, action: str) -> None:
    catalog = example_catalog()
    xml = render_message(catalog, catalog.releases[path], target_name(version), action, context())
    golden = golden_path(path, version, action)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(xml)
    assert golden.is_file(), f"{golden} is missing; run with UPDATE_GOLDEN=1"
    assert xml == golden.read_bytes(), f"{golden.name} differs; review and run with UPDATE_GOLDEN=1"


def test_goldens_are_xsd_valid_and_none_is_stale() -> None:
    expected = {golden_path(*case) for case in CASES}
    assert set(GOLDEN_DIR.glob("*.xml")) == expected
    for path in sorted(expected):
        version = xsd.version_of(path.read_bytes())
        assert version in VERSIONS
        assert xsd.validate_xml(path.read_bytes(), version) == [], path.name
