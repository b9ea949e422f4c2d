"""The render check of ``validate``: every release x ERN target rendered, XSD-validated and
checked against the business rules, each problem reported on the release file.

Importing this module registers :func:`check_rendered_release` in ``validate.RELEASE_CHECKS``.
Schemas are compiled once per process (:func:`stardust_git.xsd.get_schema` caches them).
"""

from __future__ import annotations

import datetime as dt
import re

from stardust_git import rules, validate, xsd
from stardust_git.errors import Diagnostics
from stardust_git.models import Release
from stardust_git.render import Action, RenderContext, RenderError
from stardust_git.render.ern import MessageView, parse
from stardust_git.render.ern_package import build_view, render_date, render_view
from stardust_git.render.media import RenderAssetError
from stardust_git.source.catalog import Catalog, Loaded

ZERO_COMMIT = "0" * 40
Loc = tuple[str | int, ...]


def check_rendered_release(
    catalog: Catalog, loaded: Loaded[Release], diagnostics: Diagnostics
) -> None:
    """Render ``loaded`` for each of its ERN targets (initial; takedown too when the release is
    taken down) and report XSD and business-rule problems."""
    release = loaded.model
    for problem in rules.check_release(release):
        diagnostics.add(loaded.diagnostic(problem.loc, problem.message, rule=problem.rule))
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


def _validation_context() -> RenderContext:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return RenderContext(commit=ZERO_COMMIT, committed_at=now)


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
    what = f"target '{name}' (ERN {view.version}{', takedown' if action == 'takedown' else ''})"
    root = parse(xml)
    for problem in xsd.validate_xml(root, view.version):
        loc = field_of(problem.xpath, view, index)
        message = f"{what}: {problem.xpath}: {problem.message}"
        diagnostics.add(loaded.diagnostic(loc, message, rule="xsd"))
    for rule_problem in rules.check_message(root, action, render_date(context)):
        loc = field_of(rule_problem.path, view, index)
        message = f"{what}: {rule_problem.path}: {rule_problem.message}"
        diagnostics.add(loaded.diagnostic(loc, message, rule=rule_problem.rule))
    return True


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


def register() -> None:
    if check_rendered_release not in validate.RELEASE_CHECKS:
        validate.RELEASE_CHECKS.append(check_rendered_release)


register()
