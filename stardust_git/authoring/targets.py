"""A new target file scaffolded from the models: every field with its docstring as a comment.

The descriptions come from the pydantic models' field docstrings (``models/target.py``), so a
scaffold never drifts from what the loader accepts. Required values nobody can guess are
``TODO(...)`` placeholders; secrets are ``${TARGET_FIELD}`` references; optional settings are
written commented out, with their defaults.
"""

from __future__ import annotations

import json
import re
import textwrap
import typing
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from stardust_git.authoring.templates import yaml_scalar
from stardust_git.models.common import SecretRef
from stardust_git.models.target import Target
from stardust_git.redaction import SECRET_REFERENCE

_CHOSEN_SECRETS = {"sftp": ("private_key",), "azure": ("connection_string",)}
"""The one way in written for protocols that take one of several credentials."""
_SHOWN = ("port", "directory", "prefix")
"""Optional settings written as values (their defaults), not commented out."""
_SECRET_MARKS = get_args(SecretRef)[1:]
"""What marks a field as a secret reference: the metadata of the SecretRef type."""
_WIDTH = 96

Tree = dict[str, Any]
"""What to write for a model: a field's value, or a nested :data:`Tree` for a sub-model."""


def scaffold_target(name: str, protocol: str, output: str = "ern", version: str = "4.3") -> str:
    """The text of ``targets/<name>.yaml`` for ``protocol``, rendering ``output`` (ern|apple)."""
    header = [
        "# yaml-language-server: $schema=../schemas/target.schema.json",
        f"# Target '{name}' ({protocol}), scaffolded by `stardust-git target add`. Every TODO(...)",
        "# is an error `stardust-git validate` reports until it is filled in; settings commented",
        "# out are optional (shown with their defaults).",
    ]
    values = _target_values(name, protocol, output, version)
    lines = model_lines(Target, values, 0, name, skip=not_for(output, version))
    return "\n".join(header + lines) + "\n"


def _target_values(name: str, protocol: str, output: str, version: str) -> Tree:
    delivery: Tree = {"protocol": protocol}
    for field in _CHOSEN_SECRETS.get(protocol, ()):
        delivery[field] = secret_reference(name, field)
    if protocol == "local":
        delivery["directory"] = f"outbox/{name}"
    if protocol == "api":
        delivery["auth"] = {"type": "bearer"}
    if output == "apple":
        return {"format": "apple", "provider": "TODO(provider)", "delivery": delivery}
    parties: Tree = {"format": "ern", "ern_version": version, "sender": {}, "recipient": {}}
    return parties | {"delivery": delivery}


def secret_reference(target: str, field: str) -> str:
    """``${SPOTIFY_PASSWORD}``: the environment variable a target's secret field names."""
    prefix = re.sub(r"[^A-Z0-9]+", "_", target.upper()).strip("_")
    return "${" + f"{prefix}_{field.upper()}" + "}"


def not_for(output: str, version: str) -> frozenset[str]:
    """The target settings that do not apply to ``output`` (ern|apple) at ``version``, as their
    descriptions say ("(format: ern)", "Apple: ...", "ERN 3.8.2 only", "ERN 4.x ...")."""
    skipped = set()
    for field, info in Target.model_fields.items():
        text = info.description or ""
        only_382, only_4x = text.startswith("ERN 3.8.2"), text.startswith("ERN 4.x")
        ern_only = "(format: ern)" in text or only_382 or only_4x
        apple_only = "(format: apple)" in text or text.startswith("Apple:")
        wrong_version = (only_382 and version != "3.8.2") or (only_4x and version == "3.8.2")
        if (output == "apple" and ern_only) or (output == "ern" and apple_only) or wrong_version:
            skipped.add(field)
    return frozenset(skipped)


def model_lines(
    model: type[BaseModel],
    values: Tree,
    depth: int,
    target: str,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """Each field of ``model`` but ``skip``: its description as comments, then ``key: value``."""
    lines: list[str] = []
    for field, info in model.model_fields.items():
        if field in skip:
            continue
        lines += _comment(info.description or "", depth)
        lines += _field_lines(model, field, info, values, depth, target)
    return lines


def _field_lines(
    model: type[BaseModel], field: str, info: FieldInfo, values: Tree, depth: int, target: str
) -> list[str]:
    indent = "  " * depth
    if field in values:
        value = values[field]
        if isinstance(value, dict):
            nested = _sub_model(info.annotation, value)
            return [f"{indent}{field}:", *model_lines(nested, value, depth + 1, target)]
        return [f"{indent}{field}: {_scalar(value)}"]
    if info.is_required():
        return [f"{indent}{field}: {_required(model, field, target)}"]
    if field in _SHOWN and info.default not in (None, PydanticUndefined):
        return [f"{indent}{field}: {_scalar(info.default)}"]
    return [f"{indent}# {field}: {_optional(model, field, info, target)}"]


def _required(model: type[BaseModel], field: str, target: str) -> str:
    if is_secret(model, field):
        return secret_reference(target, field)
    return f"TODO({field.replace('_', ' ')})"


def _optional(model: type[BaseModel], field: str, info: FieldInfo, target: str) -> str:
    if is_secret(model, field):
        return secret_reference(target, field)
    if info.default in (None, PydanticUndefined):
        return f"TODO({field.replace('_', ' ')})"
    return _scalar(info.default)


def is_secret(model: type[BaseModel], field: str) -> bool:
    """Whether ``field`` of ``model`` takes only a ``${ENV_VAR}`` reference (a SecretRef)."""
    info = model.model_fields[field]
    marks = [*info.metadata, *_metadata(info.annotation)]
    return any(mark is secret_mark for mark in marks for secret_mark in _SECRET_MARKS)


def _metadata(annotation: Any) -> list[Any]:
    """The Annotated metadata anywhere inside ``annotation`` (``SecretRef | None`` too)."""
    args = get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return [*args[1:], *_metadata(args[0])]
    return [found for arg in args for found in _metadata(arg)]


def _sub_model(annotation: Any, values: Tree) -> type[BaseModel]:
    """The model a nested value is written for: the annotation's, or the union member whose
    ``type`` or ``protocol`` tag the value gives."""
    members = [a for a in _flat_args(annotation) if isinstance(a, type)]
    models = [a for a in members if issubclass(a, BaseModel)]
    for candidate in models:
        tag = values.get("type") or values.get("protocol")
        tags = {get_args(f.annotation)[:1] for f in candidate.model_fields.values()}
        if len(models) == 1 or (tag,) in tags:
            return candidate
    raise AssertionError(f"no model in {annotation} for {values}")


def _flat_args(annotation: Any) -> list[Any]:
    args = get_args(annotation)
    if not args:
        return [annotation]
    if typing.get_origin(annotation) is typing.Annotated:
        return _flat_args(args[0])
    return [found for arg in args for found in _flat_args(arg)]


def _scalar(value: object) -> str:
    if not isinstance(value, str):
        return json.dumps(value)
    return value if SECRET_REFERENCE.fullmatch(value) else yaml_scalar(value)


def _comment(text: str, depth: int) -> list[str]:
    indent = "  " * depth
    flat = " ".join(text.split())
    wrapped = textwrap.wrap(flat, _WIDTH - len(indent) - 2) if flat else []
    return [f"{indent}# {line}" for line in wrapped]
