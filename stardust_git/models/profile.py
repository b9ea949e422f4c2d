"""A DSP profile: a versioned file of the rules one shop applies beyond the DDEX standard."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from stardust_git.models.common import Name, StrictModel, Text


class RuleSource(StrictModel):
    """Where a rule comes from: a public page and the day it was read."""

    url: Text | None = None
    """The public page that states the rule; absent when no public page was found."""
    read: dt.date
    """The day the page (or the note's source) was read."""
    note: Text | None = None
    """What the rule rests on when there is no page (e.g. 'issue 13'), or which part of it."""


class ProfileRule(StrictModel):
    """One rule of a profile: a rule function of the registry, with its parameters."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$", examples=["YOUTUBE-DEAL-001"])
    """Stable rule id: PROFILE-TOPIC-NNN."""
    level: Literal["error", "warning"]
    """error: the shop rejects the delivery; warning: the shop may reject or change it."""
    message: Text = Field(min_length=1)
    """What the shop asks for, as the user reads it."""
    source: RuleSource
    """The public source of the rule."""
    check: Name
    """The rule function that checks it (``stardust-git profile list`` shows them)."""
    params: dict[str, Any] = {}
    """The rule function's parameters (checked against the function's own model)."""


class Profile(StrictModel):
    """The rules one DSP applies to what it receives, versioned and dated."""

    name: Name
    """The profile name a target names (``profile: youtube``)."""
    title: Text = Field(min_length=1)
    """The shop, as people call it."""
    version: int = Field(ge=1)
    """Raised whenever a rule is added, removed or changed."""
    read: dt.date
    """The day the sources were last read as a whole."""
    extends: Name | None = None
    """A profile whose rules this one includes first (e.g. generic)."""
    rules: list[ProfileRule] = []
    """The rules, in the order they are checked."""
