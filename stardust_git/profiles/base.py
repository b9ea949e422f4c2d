"""What a rule function sees (:class:`Subject`) and gives back (:class:`Finding`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from stardust_git.models import Release, Target

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Subject:
    """One release as one target will receive it."""

    release: Release
    target_name: str
    target: Target
    root: Path
    """The repository root the release's asset paths are relative to."""
    today: dt.date
    """Today in UTC (deal dates are judged against it)."""

    @property
    def target_loc(self) -> Loc:
        """Where the release names the target (target settings are reported there)."""
        return ("targets", self.release.targets.index(self.target_name))

    def asset(self, relative: str) -> Path | None:
        """The asset file, or None when it is missing (the assets check reports that)."""
        path = self.root / relative
        return path if path.is_file() else None


@dataclass(frozen=True)
class Finding:
    """One place a release breaks a rule, and what was found there."""

    loc: Loc
    found: str


class Params(BaseModel):
    """Base of every rule function's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """The parameters of a rule function that takes none."""


RuleFunction = Callable[[Subject, Any], Iterator[Finding]]


@dataclass(frozen=True)
class RuleKind:
    """A rule function, the model of its parameters, and whether it reads asset files."""

    run: RuleFunction
    params: type[Params]
    summary: str
    reads_assets: bool = False
