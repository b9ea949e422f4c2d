"""schemas/ is generated from the models and must never be stale."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Annotated

from pydantic import Field

from stardust_git.models.common import StrictModel
from stardust_git.schemas import render_schemas, schema_models, stale_schemas
from tests.conftest import REPO_ROOT


def test_checked_in_schemas_match_the_models() -> None:
    stale = stale_schemas(REPO_ROOT)
    assert stale == [], f"run `stardust-git schemas`: {stale}"


def test_every_field_of_every_schema_has_a_description() -> None:
    undocumented = []
    for name, text in render_schemas().items():
        schema = json.loads(text)
        definitions = {"<root>": schema, **schema.get("$defs", {})}
        for owner, definition in definitions.items():
            for field, spec in definition.get("properties", {}).items():
                if not spec.get("description"):
                    undocumented.append(f"{name}:{owner}.{field}")
    assert undocumented == []


def test_schemas_check_flags_an_edited_schema(tmp_path) -> None:
    (tmp_path / "schemas").mkdir()
    for name, text in render_schemas().items():
        (tmp_path / "schemas" / name).write_text(text, encoding="utf-8")
    release_schema = tmp_path / "schemas" / "release.schema.json"
    release_schema.write_text(release_schema.read_text().replace("UPC-A", "UPC"), encoding="utf-8")
    command = [sys.executable, "-m", "stardust_git", "schemas", "--check", "--root", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "schemas/release.schema.json: out of date" in result.stdout
    rewrite = subprocess.run(
        [*command[:-3], "--root", str(tmp_path)], capture_output=True, text=True
    )
    assert rewrite.returncode == 0
    assert stale_schemas(tmp_path) == []


def test_catalog_and_target_files_point_editors_at_the_schemas() -> None:
    names = set(schema_models())
    for folder, schema in (("catalog", "release"), ("targets", "target")):
        for path in (REPO_ROOT / folder).rglob("*.yaml"):
            first_line = path.read_text(encoding="utf-8").splitlines()[0]
            assert first_line.startswith("# yaml-language-server: $schema="), path
            assert first_line.endswith(f"schemas/{schema}.schema.json"), path
            assert f"{schema}.schema.json" in names


class _Documented(StrictModel):
    required: str
    """A required field."""
    defaulted: int = 3
    """A field with a plain default."""
    constrained: str = Field(min_length=2)
    """A field declared with Field()."""
    annotated: Annotated[str, Field(max_length=4)] = "ab"
    """A field constrained in its annotation."""
    explicit: str = Field("x", description="Said in Field().")
    """Not used: Field(description=...) wins, as with pydantic's use_attribute_docstrings."""
    undocumented: str = ""


def test_field_docstrings_become_descriptions_with_their_constraints_kept() -> None:
    fields = _Documented.model_fields
    described = {name: info.description for name, info in fields.items()}
    assert described == {
        "required": "A required field.",
        "defaulted": "A field with a plain default.",
        "constrained": "A field declared with Field().",
        "annotated": "A field constrained in its annotation.",
        "explicit": "Said in Field().",
        "undocumented": None,
    }
    assert fields["required"].is_required() and fields["defaulted"].default == 3
    properties = _Documented.model_json_schema()["properties"]
    assert properties["constrained"]["minLength"] == 2
    assert properties["annotated"] == {
        "default": "ab",
        "description": "A field constrained in its annotation.",
        "maxLength": 4,
        "title": "Annotated",
        "type": "string",
    }
