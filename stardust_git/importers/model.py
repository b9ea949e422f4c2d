"""What a reader hands the writer: one release's fields, its files and what did not fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stardust_git.errors import UserError
from stardust_git.importers.genres import GenreLookup

Loc = tuple[str | int, ...]
"""Where a value sits in a release, as pydantic locates it: ``("tracks", 2, "title")``."""


@dataclass(frozen=True, slots=True)
class ImportNote:
    """Something the shop knows that the release file will not say, or a value that was guessed."""

    kind: Literal["unmapped", "guessed", "info"]
    """``unmapped``: an element or column the catalog format cannot hold; ``guessed``: a value
    the input did not state and the reader chose; ``info``: anything else worth saying."""
    where: str
    """An XPath into the message (``/NewReleaseMessage/ReleaseList/Release[1]/Keywords``), or a
    spreadsheet cell (``row 7, column Mood``)."""
    message: str


@dataclass(frozen=True, slots=True)
class ResourceFile:
    """A file the input references (an audio file or the cover), to bring into assets/<UPC>/."""

    source: Path
    """The file beside the input (a relative URI resolved against the message's folder)."""
    name: str
    """Its file name inside ``assets/<UPC>/``; the release's ``audio:``/``cover:`` points there."""
    md5: str | None
    """The MD5 the input states for it (lower-case hex), checked when the file is brought in."""
    where: str
    """Where the input references it (an XPath or a spreadsheet cell), for errors."""


@dataclass(slots=True)
class ImportedRelease:
    """One release as read from an input, before it is written and gated."""

    upc: str
    data: dict[str, Any]
    """The release's fields as its YAML file holds them, in the example catalog's key order:
    plain str / int / float / bool / datetime.date / list / dict values. ``cover`` and each
    track's ``audio`` are ``assets/<UPC>/<name>`` paths."""
    source: str
    """The input it came from, as shown to the user (``batch/msg.xml``, ``export.csv``)."""
    line: int = 0
    """The line of the input where the release starts (its Release element, its first row)."""
    notes: list[ImportNote] = field(default_factory=list)
    guessed: dict[Loc, str] = field(default_factory=dict)
    """Values the input did not state: where -> the comment the writer puts beside the value."""
    resources: list[ResourceFile] = field(default_factory=list)
    delivered_action: Literal["initial", "takedown"] = "initial"
    """What the input states about the shop's side: ``takedown`` when the message takes the
    release down (no deals, or only ended deals)."""
    version: str = ""
    """The ERN version the message was in ("3.8.2", "4.2", "4.3"); empty for spreadsheets."""
    message_id: str = ""
    """The message's MessageId (its MessageHeader; recorded in baseline receipts); empty for
    spreadsheets."""
    message_created: str = ""
    """The message's MessageCreatedDateTime as written; empty for spreadsheets."""
    validated: bool = False
    """``data`` is known to build a valid release (the reader checked it). Models are not
    kept: 10,000 of them would hold about 150 MiB."""


@dataclass(frozen=True)
class ImportContext:
    """What readers look things up in: the catalog the releases are imported into."""

    genres: GenreLookup
    """Shop genre texts back to canonical codes (genre-maps/)."""


class PurgeNotSupported(UserError):
    """An ERN message that describes no release to import: a PurgeReleaseMessage (or any kind
    other than NewReleaseMessage). A distributor's outbox holds such files beside its
    deliveries, so the import command may skip the file with a note rather than stop."""

    def __init__(self, error: UserError, kind: str) -> None:
        super().__init__(error.message, error.diagnostics)
        self.kind = kind
        """The message's kind (its root's local name): ``PurgeReleaseMessage`` ..."""
