"""DSP rule files (what each shop rejects) and the loader that applies them to releases.

A profile is a versioned YAML file (data/<name>.yaml, or a plugin's; see :mod:`.loader`) whose
rules each name a rule function of :data:`.registry.RULE_KINDS` with its parameters;
:func:`apply_profile` runs them on one release as one target receives it.
"""

from stardust_git.profiles.apply import Breach, apply_profile
from stardust_git.profiles.base import Finding, Subject
from stardust_git.profiles.loader import ProfileError, load_profile, profile_names
from stardust_git.profiles.registry import RULE_KINDS

__all__ = [
    "RULE_KINDS",
    "Breach",
    "Finding",
    "ProfileError",
    "Subject",
    "apply_profile",
    "load_profile",
    "profile_names",
]
