"""The ERN checks: a release rendered for each of its ERN targets (or the package about to be
sent), XSD-validated and checked against the business rules, each problem reported on the release
file. Schemas are compiled once per process (:func:`stardust_git.xsd.get_schema` caches them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from lxml import etree

from stardust_git import rules, xsd
from stardust_git.errors import Diagnostics
from stardust_git.models import Release
from stardust_git.render import Action, Package, RenderContext, RenderError
from stardust_git.render.ern import MessageView, parse
from stardust_git.render.ern_package import build_view, render_view
from stardust_git.render.media import RenderAssetError
from stardust_git.render.shared import render_date
from stardust_git.source.catalog import Catalog, Loaded

ZERO_COMMIT = "0" * 40
Loc = tuple[str | int, ...]


def check_rendered_release(
    catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics
) -> None:
    """Render ``loaded`` for each of its ERN targets (initial; takedown too when the release is
    taken down) and report XSD and business-rule problems."""
    release = loaded.model
    context = _validation_context()
    actions: list[Action] = ["initial", "takedown"] if release.takedown else ["initial"]
    for name in dict.fromkeys(release.targets):
        index = release.targets.index(name)
        target = catalog.targets.get(name)
        if target is None or target.model.format != "ern":
            continue
        for action in actions:
            if not _check_target(catalog, loaded, name, index, action, context, diagnostics):
                break


def check_ern_package(
    catalog: Catalog,
    loaded: Loaded[Release],
    package: Package,
    context: RenderContext,
    diagnostics: Diagnostics,
) -> None:
    """The message of a package about to be sent, against its XSD and the business rules."""
    name = package.target
    targets = loaded.model.targets
    index = targets.index(name) if name in targets else 0
    version = package.format.partition("/")[2]

    def view() -> MessageView | None:
        try:
            return build_view(catalog, loaded, name, package.action, context)
        except RenderError:
            return None

    xml = package.message.data or b""
    what = _what(name, version, package.action)
    _report(loaded, what, xml, version, package.action, context, index, view, diagnostics)


def _validation_context() -> RenderContext:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return RenderContext(commit=ZERO_COMMIT, committed_at=now)


def _what(name: str, version: str, action: Action) -> str:
    return f"target '{name}' (ERN {version}{', takedown' if action == 'takedown' else ''})"


def _check_target(
    catalog: Catalog,
    loaded: Loaded[Release],
    name: str,
    index: int,
    action: Action,
    context: RenderContext,
    diagnostics: Diagnostics,
) -> bool:
    """False when the release cannot be rendered for the target at all."""
    try:
        view = build_view(catalog, loaded, name, action, context)
        xml = render_view(view)
    except RenderAssetError:
        return False  # the asset check reports missing and broken files
    except RenderError as error:
        rule = "genre" if error.loc[-1:] == ("genre",) else "render"
        message = f"cannot render for target '{name}': {error.message}"
        diagnostics.add(loaded.diagnostic(error.loc, message, rule=rule))
        return False
    what = _what(name, view.version, action)
    _report(loaded, what, xml, view.version, action, context, index, lambda: view, diagnostics)
    return True


def _report(
    loaded: Loaded[Release],
    what: str,
    xml: bytes,
    version: str,
    action: Action,
    context: RenderContext,
    index: int,
    view: Callable[[], MessageView | None],
    diagnostics: Diagnostics,
) -> None:
    """XSD and rule problems of one message, each on the release field it is about (the view,
    needed only to place a problem, is built only when there is one)."""
    try:
        root = parse(xml)
    except etree.XMLSyntaxError as error:
        diagnostics.add(loaded.diagnostic((), f"{what}: not well-formed XML: {error}", rule="xsd"))
        return
    found = [(problem.xpath, problem.message, "xsd") for problem in xsd.validate_xml(root, version)]
    found += [
        (problem.path, problem.message, problem.rule)
        for problem in rules.check_message(root, action, render_date(context))
    ]
    shown = view() if found else None
    for xpath, message, rule in found:
        loc = field_of(xpath, shown, index) if shown else ()
        diagnostics.add(loaded.diagnostic(loc, f"{what}: {xpath}: {message}", rule=rule))


_STEP = re.compile(
    r"/(SoundRecording|TrackRelease|Release|Image|Deal|MessageHeader)(?:\[(\d+)\])?(?=/|$)"
)


def field_of(xpath: str, view: MessageView, target_index: int) -> Loc:
    """The release field an XML path is about: a track, the cover, a deal, the target entry."""
    match = _STEP.search(xpath)
    if match is None:
        return ()
    element, position = match.group(1), int(match.group(2) or 1) - 1
    if element == "Release":  # 3.8.2 writes track releases as Release[2], Release[3] ...
        element, position = "TrackRelease", position - 1
    if element in ("SoundRecording", "TrackRelease") and 0 <= position < len(view.recordings):
        return ("tracks", view.recordings[position].track_index)
    if element == "Image":
        return ("cover",)
    if element == "Deal":
        return ("deals", position) if position < len(view.release.deals) else ("deals",)
    if element == "MessageHeader":
        return ("targets", target_index)
    return ()
