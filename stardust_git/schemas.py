"""JSON Schemas generated from the models, for editors (yaml-language-server) and CI."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from stardust_git.models import GenreMap, GenreTaxonomy, GenreVocabulary, Release, Target

SCHEMAS_DIR = "schemas"
BASE_URL = "https://stardust-git.dev/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_models() -> dict[str, type[BaseModel]]:
    """File name -> model, for every format a user writes or reads."""
    from stardust_git.importers.sheetmapping import SpreadsheetMapping
    from stardust_git.models.defaults import Defaults
    from stardust_git.models.profile import Profile
    from stardust_git.models.receipt import Receipt

    return {
        "release.schema.json": Release,
        "defaults.schema.json": Defaults,
        "target.schema.json": Target,
        "genres.schema.json": GenreTaxonomy,
        "genre-vocabulary.schema.json": GenreVocabulary,
        "genre-map.schema.json": GenreMap,
        "receipt.schema.json": Receipt,
        "spreadsheet-mapping.schema.json": SpreadsheetMapping,
        "profile.schema.json": Profile,
    }


def render_schemas() -> dict[str, str]:
    """The text of every schema file, deterministic."""
    rendered = {}
    for name, model in schema_models().items():
        schema = model.model_json_schema(mode="validation")
        schema = {"$schema": DRAFT, "$id": BASE_URL + name, **schema}
        rendered[name] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return rendered


def stale_schemas(root: Path) -> list[str]:
    """Schema files under ``root/schemas`` that are missing or differ from the models."""
    folder = root / SCHEMAS_DIR
    stale = []
    for name, text in render_schemas().items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(f"{SCHEMAS_DIR}/{name}")
    return stale


def write_schemas(root: Path) -> list[str]:
    """Write every schema that changed (atomically); return the ones written."""
    from stardust_git.fileio import write_atomic

    folder = root / SCHEMAS_DIR
    written = []
    for name in [Path(p).name for p in stale_schemas(root)]:
        write_atomic(folder / name, render_schemas()[name].encode("utf-8"))
        written.append(f"{SCHEMAS_DIR}/{name}")
    return written
