"""A message file handed to validate: an ERN message or an Apple package's metadata.xml, checked
against its schema and, for ERN, the message rules the gate runs on what we render."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from stardust_git import rules, xsd
from stardust_git.checks.apple import xsd_errors
from stardust_git.errors import Diagnostic
from stardust_git.render.apple import NAMESPACE as APPLE_NAMESPACE

MAX_MESSAGE_BYTES = 512 * 1024**2
"""The largest message file checked (a 100 MB batch message fits five times over)."""
KNOWN = "an ERN 3.8.2, 4.2 or 4.3 message or an Apple package metadata.xml"


def check_message_file(path: Path, shown: str) -> list[Diagnostic]:
    """Every problem of the message at ``path`` (``shown`` names it), located by line."""
    size = path.stat().st_size
    if size > MAX_MESSAGE_BYTES:
        return [
            Diagnostic(shown, message=f"{size} bytes: larger than the {MAX_MESSAGE_BYTES} read")
        ]
    try:
        root = xsd.parse_untrusted(path.read_bytes())
    except xsd.XmlRejected as error:
        return [Diagnostic(shown, error.line, message=error.message)]
    if etree.QName(root).namespace == APPLE_NAMESPACE:
        return [
            Diagnostic(shown, line, message=text, rule="xsd") for line, text in xsd_errors(root)
        ]
    version = xsd.version_of(root)
    if version is None:
        found = etree.QName(root)
        message = f"<{found.localname}> in namespace '{found.namespace or ''}' is not {KNOWN}"
        return [Diagnostic(shown, root.sourceline or 0, message=message)]
    return _ern_problems(root, version, shown)


def _ern_problems(root: etree._Element, version: str, shown: str) -> list[Diagnostic]:
    found = [
        Diagnostic(shown, problem.line, field=problem.xpath, message=problem.message, rule="xsd")
        for problem in xsd.validate_xml(root, version)
    ]
    for problem in rules.check_message(root):
        line = _line_of(root, problem.path)
        found.append(
            Diagnostic(shown, line, field=problem.path, message=problem.message, rule=problem.rule)
        )
    return found


def _line_of(root: etree._Element, path: str) -> int:
    """The line of the element at a rule's ``/Release[1]/...`` path (0 when it is not found)."""
    element: etree._Element | None = root
    for step in [s for s in path.split("/") if s][1:]:
        name, _, index = step.partition("[")
        matches = [
            c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name
        ]
        position = int(index.rstrip("]") or 1) - 1 if index else 0
        element = matches[position] if position < len(matches) else None
        if element is None:
            return 0
    return element.sourceline or 0 if element is not None else 0
