"""Defaults: a ``_defaults.yaml`` supplies release fields to every release file below its folder.

The model is generated from :class:`Release` so the two never drift: every release field but the
UPC (each release has its own), each optional, with the same types, constraints and description.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, create_model

from stardust_git.models.common import StrictModel
from stardust_git.models.release import Release

NOT_DEFAULTED = frozenset({"upc"})
"""Release fields a defaults file may not hold: a UPC names one release, in its own file."""


def _optional(name: str) -> tuple[Any, Any]:
    """Release field ``name`` as an optional field: its type and constraints, default None."""
    info = Release.model_fields[name]
    annotation: Any = (
        Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    )
    described = Field(
        default=None,
        description=info.description,
        examples=info.examples,
        json_schema_extra=info.json_schema_extra,
    )
    return (annotation | None, described)


def _defaults_fields() -> dict[str, Any]:
    return {name: _optional(name) for name in Release.model_fields if name not in NOT_DEFAULTED}


Defaults = create_model(  # type: ignore[call-overload]
    "Defaults",
    __base__=StrictModel,
    __doc__=(
        "Fields supplied to every release file below this folder (nearer folders win, the "
        "release file wins over all); each top-level key replaces as a whole."
    ),
    __module__=__name__,
    **_defaults_fields(),
)
