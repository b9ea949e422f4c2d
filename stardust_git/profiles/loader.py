"""Finding a profile by name: the files shipped in stardust_git/profiles/data, then plugins.

A plugin package adds profiles through the entry point group ``stardust_git.profiles``; the
entry point's name is the profile name and it loads one of:

* a path (``str`` or :class:`pathlib.Path`) of a profile YAML file,
* a callable taking no arguments that returns a :class:`~stardust_git.models.profile.Profile`,
  a mapping in the profile file format, or such a path.

For example, in the plugin's ``pyproject.toml``::

    [project.entry-points."stardust_git.profiles"]
    mystore = "mystore_profile:profile"

A built-in name cannot be replaced by a plugin. Every rule's ``check`` must name an entry of
:data:`stardust_git.profiles.registry.RULE_KINDS` and its ``params`` must fit that entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stardust_git.errors import Diagnostic, UserError, closest, did_you_mean
from stardust_git.models.profile import Profile, ProfileRule
from stardust_git.profiles.base import Loc, Params
from stardust_git.profiles.registry import RULE_KINDS
from stardust_git.source.yamlio import YamlDocument, YamlLoadError, load_yaml_bytes

ENTRY_POINT_GROUP = "stardust_git.profiles"
DATA = resources.files("stardust_git.profiles") / "data"


class ProfileError(UserError):
    """A profile that does not exist or whose file is not a valid profile."""


def builtin_names() -> list[str]:
    return sorted(entry.name[:-5] for entry in DATA.iterdir() if entry.name.endswith(".yaml"))


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def profile_names() -> list[str]:
    """Every profile a target may name: built in, then from plugins."""
    builtins = builtin_names()
    return builtins + sorted(name for name in _entry_points() if name not in builtins)


@cache
def load_profile(name: str) -> Profile:
    """The profile ``name`` with the rules of the profiles it extends first.

    Raises ProfileError for an unknown name, an invalid file or a circle of ``extends``."""
    chain = [_read(name)]
    while (base := chain[-1].extends) is not None:
        if base in [profile.name for profile in chain] or base == name:
            raise ProfileError(f"profile '{name}': extends goes round in a circle at '{base}'")
        chain.append(_read(base))
    rules = [rule for profile in reversed(chain) for rule in profile.rules]
    return chain[0].model_copy(update={"rules": rules})


def _read(name: str) -> Profile:
    if name in builtin_names():
        shown = f"stardust_git/profiles/data/{name}.yaml"
        return parse_profile((DATA / f"{name}.yaml").read_bytes(), shown)
    entry = _entry_points().get(name)
    if entry is None:
        hint = did_you_mean(closest(name, profile_names()))
        raise ProfileError(f"unknown profile '{name}'{hint}")
    return _from_plugin(name, entry)


def _from_plugin(name: str, entry: metadata.EntryPoint) -> Profile:
    shown = f"plugin profile '{name}' ({entry.value})"
    loaded: Any = entry.load()
    if callable(loaded):
        loaded = loaded()
    if isinstance(loaded, str | Path):
        try:
            return parse_profile(Path(loaded).read_bytes(), str(loaded))
        except OSError as error:
            raise ProfileError(f"{shown}: cannot read {loaded} ({error.strerror})") from None
    if isinstance(loaded, Profile):
        loaded = loaded.model_dump()
    if isinstance(loaded, Mapping):
        return _checked(YamlDocument(shown, dict(loaded)))
    raise ProfileError(f"{shown}: gives {type(loaded).__name__}, not a profile, mapping or path")


def parse_profile(data: bytes, shown: str) -> Profile:
    """The profile file ``data`` (named ``shown`` in errors); a ProfileError whose diagnostics
    name the line of each problem otherwise."""
    try:
        document = load_yaml_bytes(data, shown)
    except YamlLoadError as error:
        raise ProfileError(f"{shown}: not a valid profile file", error.diagnostics) from None
    return _checked(document)


def _checked(document: YamlDocument) -> Profile:
    """The document as a profile whose every rule names a known function with fitting params;
    a ProfileError naming each problem's line otherwise."""
    try:
        profile = Profile.model_validate(document.data)
    except ValidationError as error:
        problems = [document.diagnostic(_loc(e["loc"]), e["msg"]) for e in error.errors()]
        raise _invalid(document.path, problems) from None
    problems = [
        document.diagnostic(loc, message)
        for index, rule in enumerate(profile.rules)
        for loc, message in _rule_problems(index, rule)
    ]
    if problems:
        raise _invalid(document.path, problems)
    return profile


def _rule_problems(index: int, rule: ProfileRule) -> list[tuple[Loc, str]]:
    kind = RULE_KINDS.get(rule.check)
    if kind is None:
        hint = did_you_mean(closest(rule.check, RULE_KINDS))
        return [(("rules", index, "check"), f"unknown rule function '{rule.check}'{hint}")]
    try:
        kind.params.model_validate(rule.params)
    except ValidationError as error:
        loc = ("rules", index, "params")
        return [((*loc, *_loc(e["loc"])), e["msg"]) for e in error.errors()]
    return []


def _loc(parts: tuple[Any, ...]) -> Loc:
    return tuple(part if isinstance(part, int) else str(part) for part in parts)


def _invalid(shown: str, problems: list[Diagnostic]) -> ProfileError:
    return ProfileError(f"{shown}: not a valid profile file", problems)


_PARAMS: dict[int, tuple[ProfileRule, Params]] = {}
"""Parsed parameters by rule (kept with it, so its id is not reused): profiles are loaded once
per process, and their rules ran parsing per release and target (a tenth of validate's time)."""


def rule_params(rule: ProfileRule) -> Params:
    """The rule's parameters as its function's model (the profile was checked on loading)."""
    known = _PARAMS.get(id(rule))
    if known is None or known[0] is not rule:
        parsed = RULE_KINDS[rule.check].params.model_validate(rule.params)
        known = _PARAMS[id(rule)] = (rule, parsed)
    return known[1]
