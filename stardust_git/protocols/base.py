"""The interface every delivery protocol implements.

A Transport moves files to one target. The choreography (which folder, which order, the batch
marker) is decided above it, in :mod:`stardust_git.deliver`; a Transport only has to put one file
at one remote path so that no reader ever sees half of it (upload under a temporary name and
rename, or, on object stores, rely on the atomic PUT), and to answer what is already there.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from stardust_git.redaction import Redactor, secret_values

Progress = Callable[[int], None]


class TransientError(Exception):
    """A failure worth retrying: a dropped connection, a timeout, a 5xx."""


class PermanentError(Exception):
    """A failure retrying cannot fix: bad credentials, no permission, a refused host key, a 4xx."""


@dataclass(frozen=True)
class RemoteFile:
    """What the server says about a file it holds."""

    path: str
    size: int
    md5: str | None = None


class Transport(abc.ABC):
    """Uploads files to one target. Instances are used by one thread at a time."""

    #: The protocol name in targets/*.yaml (``delivery.protocol``).
    protocol: ClassVar[str]

    def __init__(self, target_name: str, settings: object, root: Path) -> None:
        self.target_name = target_name
        self.settings = settings
        self.root = root
        #: Blanks this target's secrets (in every form) out of text shown or recorded.
        self.redact = Redactor(secret_values(settings) if isinstance(settings, BaseModel) else [])

    def __enter__(self) -> Transport:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection and authenticate (raise PermanentError on refused credentials)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection; safe to call twice."""

    @abc.abstractmethod
    def put_file(
        self, local: Path, remote_path: str, md5: str, progress: Progress | None = None
    ) -> None:
        """Upload ``local`` to ``remote_path`` (relative to the target's directory or prefix).

        Parent folders are created as needed. The file appears under its final name only when
        complete, and its size (and MD5 where the protocol can check it) is verified.
        """

    @abc.abstractmethod
    def put_bytes(self, data: bytes, remote_path: str, md5: str) -> None:
        """Upload generated content (an XML message, a manifest) the same way."""

    @abc.abstractmethod
    def stat(self, remote_path: str) -> RemoteFile | None:
        """The remote file at ``remote_path``, or None. Used to resume and to verify."""

    @abc.abstractmethod
    def list(self, remote_dir: str) -> list[RemoteFile]:
        """Files directly inside ``remote_dir`` (an empty list when it does not exist)."""

    @abc.abstractmethod
    def read(self, remote_path: str) -> bytes:
        """The content of a small remote file (acknowledgements)."""

    @abc.abstractmethod
    def delete(self, remote_path: str) -> None:
        """Remove a remote file (the probe of ``target test``)."""

    def prepare_for_workers(self) -> None:  # noqa: B027 (a hook: most protocols need none)
        """Load now, before worker processes fork from this one, what each of their connections
        would otherwise load for itself; opens no connection."""

    def held(self, remote_dir: str) -> dict[str, RemoteFile] | None:
        """The files directly inside ``remote_dir`` by path, in one request, for the deliver
        step to skip what is already there; None when the protocol cannot tell (ask ``stat``)."""
        return {found.path: found for found in self.list(remote_dir)}

    def remove_temporary(self, remote_dir: str) -> list[str]:
        """Remove the temporary files an interrupted upload (a killed run) left directly inside
        ``remote_dir``; the paths removed. Called before a package goes into a folder, while
        this run holds the delivery lock. Object stores keep none: an object appears whole."""
        return []

    def receipt_extras(self) -> dict[str, str]:
        """Protocol facts worth keeping in the receipt (an API's delivery id); never a secret."""
        return {}

    def location(self, remote_path: str) -> str:
        """A human-readable URL of ``remote_path`` for receipts (never with credentials)."""
        return f"{self.protocol}://{self.target_name}/{remote_path.lstrip('/')}"
