"""DSP profiles: each target's profile applied to every release that names the target."""

from __future__ import annotations

import datetime as dt

from stardust_git.errors import Diagnostics
from stardust_git.models import Release, Target
from stardust_git.models.profile import Profile
from stardust_git.profiles import ProfileError, Subject, apply_profile, load_profile
from stardust_git.source.catalog import Catalog, Loaded


def check_profiles(
    catalog: Catalog, loaded: Loaded[Release], with_assets: bool, diagnostics: Diagnostics
) -> None:
    """Every rule of the profile of every target ``loaded`` names, each breach located at the
    release field with the rule id, the target and the source."""
    today = dt.datetime.now(dt.UTC).date()
    for name in dict.fromkeys(loaded.model.targets):
        target = catalog.targets.get(name)
        profile = _profile_of(target.model) if target else None
        if target is None or profile is None:
            continue
        subject = Subject(loaded.model, name, target.model, catalog.root, today)
        for breach in apply_profile(profile, subject, with_assets):
            diagnostics.add(
                loaded.diagnostic(
                    breach.loc, breach.message, severity=breach.rule.level, rule=breach.rule.id
                )
            )


def profile_checks(catalog: Catalog, target_name: str) -> frozenset[str]:
    """The rule functions the target's profile runs: a general check stays silent on those,
    so a problem is shown once, with the profile's rule id and source."""
    target = catalog.targets.get(target_name)
    profile = _profile_of(target.model) if target else None
    return frozenset(rule.check for rule in profile.rules) if profile else frozenset()


def _profile_of(target: Target) -> Profile | None:
    """The target's profile; None when it names none or one that cannot be loaded (which
    :func:`check_profile_names` reports once, at the target file)."""
    if target.profile is None:
        return None
    try:
        return load_profile(target.profile)
    except ProfileError:
        return None


def check_profile_names(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """Every target's profile exists and is a valid profile."""
    for loaded in catalog.targets.values():
        if loaded.model.profile is None:
            continue
        try:
            load_profile(loaded.model.profile)
        except ProfileError as error:
            diagnostics.add(loaded.diagnostic(("profile",), error.message))
            diagnostics.extend(error.diagnostics)
