"""Render hooks: plugins that add elements to a rendered message before it is checked and sent.

A hook is registered in the ``stardust_git.render_hooks`` entry point group and called as
``hook(message, release, target)``: ``message`` is the root element of the rendered message
(an lxml element, ERN or Apple), changed in place; what the hook returns is ignored. Hooks run in
the order of their entry point names, inside the renderers (:func:`apply`), so every command
(validate, plan, deliver) gets the hooked message and checks it against the XSD and the rules
afterwards: a hook can add to a message, never skip or weaken its validation. A hook that fails
is a render error naming it. Without hooks installed, messages are not re-serialised.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from lxml import etree

from stardust_git.render import RenderError

if TYPE_CHECKING:
    from stardust_git.models import Release, Target

ENTRY_POINT_GROUP = "stardust_git.render_hooks"
RenderHook = Callable[[etree._Element, "Release", "Target"], object]
"""``hook(message, release, target)``: adds to ``message`` in place."""

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@cache
def installed_hooks() -> tuple[tuple[str, RenderHook], ...]:
    """(name, hook) of every installed render hook, by name."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name)
    return tuple((entry.name, entry.load()) for entry in found)


def run_hooks(message: etree._Element, release: Release, target: Target) -> None:
    """Every installed hook on ``message``, in name order."""
    for name, hook in installed_hooks():
        try:
            hook(message, release, target)
        except Exception as error:  # a plugin's failure is reported, never a traceback
            raise RenderError(f"render hook '{name}' failed: {error}") from None


def apply(data: bytes, release: Release, target: Target) -> bytes:
    """The serialised message ``data`` after the hooks (``data`` itself when none is installed)."""
    if not installed_hooks():
        return data
    root = etree.fromstring(data, _PARSER)
    run_hooks(root, release, target)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"
