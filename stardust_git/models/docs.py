"""Field descriptions from attribute docstrings (the string under each field), at import cost.

The docstrings are the source of every field's description (JSON Schemas, ``target add``
comments). Pydantic's ``use_attribute_docstrings`` finds a class's source by walking the stack
and ``inspect.getmodule`` over every loaded module, once per class: about 0.1 s of each start-up.
Here each model module is parsed once, and the descriptions are handed to pydantic as
``Field(description=...)`` before it collects the fields, with the same result.
"""

from __future__ import annotations

import ast
import inspect
import sys
from functools import cache
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo


def describe_fields(cls: type[Any]) -> None:
    """Give each field ``cls`` declares that has no description its attribute docstring.

    Called from ``__init_subclass__``: pydantic has not read the class's fields yet."""
    documented = _module_docstrings(cls.__module__).get(cls.__qualname__, {})
    for name in inspect.get_annotations(cls):
        if name in documented:
            _describe(cls, name, documented[name])


def _describe(cls: type[Any], name: str, description: str) -> None:
    assigned = cls.__dict__.get(name, ...)
    if not isinstance(assigned, FieldInfo):
        default = {} if assigned is ... else {"default": assigned}
        setattr(cls, name, Field(description=description, **default))
    elif assigned.description is None:
        assigned.description = description
        assigned._attributes_set["description"] = description  # kept when pydantic merges


@cache
def _module_docstrings(module: str) -> dict[str, dict[str, str]]:
    """Class qualified name -> field -> docstring, for every class in ``module``'s source."""
    try:
        source = inspect.getsource(sys.modules[module])
    except (KeyError, OSError, TypeError):
        return {}
    found: dict[str, dict[str, str]] = {}
    _collect(ast.parse(source).body, "", found)
    return found


def _collect(body: list[ast.stmt], prefix: str, found: dict[str, dict[str, str]]) -> None:
    for node in body:
        if isinstance(node, ast.ClassDef):
            found.setdefault(prefix + node.name, _class_docstrings(node))
            _collect(node.body, f"{prefix}{node.name}.", found)


def _class_docstrings(node: ast.ClassDef) -> dict[str, str]:
    """Field -> the string right below its annotated assignment (as pydantic reads them)."""
    docs: dict[str, str] = {}
    for field, below in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(below, ast.Expr)
            and isinstance(below.value, ast.Constant)
            and isinstance(below.value.value, str)
        ):
            docs[field.target.id] = inspect.cleandoc(below.value.value)
    return docs
