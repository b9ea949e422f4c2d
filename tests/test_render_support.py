"""Shared pieces of the render tests: the example catalog with a synthetic target per ERN
version, targets and releases made from YAML text, and a fixed render context.

(Named test_* so it sits with the render tests; it holds no tests itself.)
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml

from stardust_git.errors import Diagnostics
from stardust_git.models import Release, Target
from stardust_git.render import RenderContext
from stardust_git.source.catalog import Catalog, Loaded, load_catalog, validate_document
from stardust_git.source.yamlio import load_yaml_text

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
XSD_DIR = SHARED / "ddex-xsd"
SAMPLES = SHARED / "ddex-samples"
VERSIONS = ("3.8.2", "4.2", "4.3")
ACTIONS = ("initial", "update", "takedown")
COMMIT = "1f2e3d4c5b6a79881726354453627180a9b8c7d6"
COMMITTED_AT = dt.datetime(2025, 11, 3, 14, 5, 9, tzinfo=dt.UTC)
SENDER = {"party_id": "PADPIDA2025110101D", "name": "Indie Records"}
RECIPIENT = {"party_id": "PADPIDA20251101063", "name": "Example DSP"}


def context(
    commit: str = COMMIT, at: dt.datetime = COMMITTED_AT, today: dt.date | None = None
) -> RenderContext:
    return RenderContext(commit=commit, committed_at=at, today=today)


def target_name(version: str) -> str:
    return f"ern{version.replace('.', '')}"


def loaded_from(data: dict[str, Any], model: type, path: str) -> Loaded:
    """A model loaded from YAML text, as the catalog loader would (with positions)."""
    document = load_yaml_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), path)
    diagnostics = Diagnostics()
    loaded = validate_document(document, model, diagnostics)
    assert loaded is not None, [d.format() for d in diagnostics.items]
    return loaded


def make_target(version: str, **settings: Any) -> Loaded[Target]:
    data = {
        "format": "ern",
        "ern_version": version,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "delivery": {"protocol": "local", "directory": "outbox/test"},
        **settings,
    }
    return loaded_from(data, Target, f"targets/{target_name(version)}.yaml")


def add_targets(catalog: Catalog, **settings: Any) -> Catalog:
    """One synthetic target per ERN version, named ern382, ern42, ern43."""
    for version in VERSIONS:
        catalog.targets[target_name(version)] = make_target(version, **settings)
    return catalog


@functools.cache
def example_catalog() -> Catalog:
    """The repository's example catalog plus the synthetic targets (loaded once)."""
    catalog = load_catalog(REPO_ROOT)
    assert not catalog.diagnostics.errors, [d.format() for d in catalog.diagnostics.errors]
    return add_targets(catalog)


def example_releases() -> dict[str, Loaded[Release]]:
    return example_catalog().releases


def release_data(upc: str = "1234567890128", **fields: Any) -> dict[str, Any]:
    """A valid release (assets under assets/t/) to vary in tests."""
    data: dict[str, Any] = {
        "upc": upc,
        "title": "Test Release",
        "artists": [{"name": "Test Artist", "role": "MainArtist"}],
        "label": "Test Label",
        "release_date": "2025-06-01",
        "genre": "ELECTRONIC",
        "language": "en",
        "p_line": {"year": 2025, "owner": "Test Label"},
        "c_line": {"year": 2025, "owner": "Test Label"},
        "cover": "assets/t/cover.jpg",
        "tracks": [
            {"isrc": "USABC2500001", "title": "One", "duration": 1, "audio": "assets/t/01.wav"},
            {"isrc": "USABC2500002", "title": "Two", "duration": 1, "audio": "assets/t/02.wav"},
        ],
        "deals": [
            {
                "territories": ["Worldwide"],
                "commercial_models": ["SubscriptionModel"],
                "use_types": ["OnDemandStream"],
                "start_date": "2025-06-01",
            }
        ],
        "targets": [target_name(v) for v in VERSIONS],
    }
    data.update(fields)
    return data


def make_release(data: dict[str, Any], path: str = "catalog/test.yaml") -> Loaded[Release]:
    return loaded_from(data, Release, path)


def stated_preorders(release: Release, today: dt.date) -> Release:
    """``release`` with only the pre-orders a message rendered on ``today`` states: a pre-order
    window over by then is left out (a message states current and future deals), and without a
    window no track is an instant-gratification track."""
    deals = [
        deal
        if deal.preorder_date and deal.start_date - dt.timedelta(days=1) >= today
        else deal.model_copy(update={"preorder_date": None})
        for deal in release.deals
    ]
    windows = any(deal.preorder_date for deal in deals)
    tracks = [
        track.model_copy(update={"instant_grat": track.instant_grat and windows})
        for track in release.tracks
    ]
    return release.model_copy(update={"deals": deals, "tracks": tracks})
