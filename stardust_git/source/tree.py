"""One tree abstraction: the repository's files in the working tree or at a git commit, listed
and read the same way (only regular files within a size limit are read)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stardust_git.fileio import MAX_YAML_BYTES, UnreadableFile, read_regular
from stardust_git.gitio import Git


@dataclass
class Contents:
    """Files read from a tree: the bytes of each, and why any other was refused."""

    files: dict[str, bytes] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


class Tree:
    """The repository's files at one commit, or in the working tree (``commit`` None).

    Both answer the same way: folders are listed recursively, hidden folders below the one
    asked for are skipped, symbolic links inside the repository are followed, and only regular
    files within a size limit are read (anything else is refused with a reason, unread).
    """

    def __init__(
        self, git: Git, commit: str | None, on_disk: dict[str, Path] | None = None
    ) -> None:
        self.git = git
        self.commit = commit
        self.on_disk = on_disk or {}
        """Working tree only: where files named on the command line are (they may be elsewhere)."""

    @classmethod
    def working(cls, root: Path, on_disk: dict[str, Path] | None = None) -> Tree:
        """The working tree at ``root`` (no git needed)."""
        return cls(Git(root), None, on_disk)

    @property
    def root(self) -> Path:
        return self.git.root

    def list(self, prefix: str) -> list[str]:
        """Every file below folder ``prefix`` (POSIX paths from the root), sorted."""
        if self.commit:
            found = self.git.list_files(self.commit, prefix)
            skip = prefix.count("/") + 1  # hidden folders below ``prefix``, as os.walk skips them
            return [p for p in found if not any(d.startswith(".") for d in p.split("/")[skip:-1])]
        found = []
        for folder, dirs, files in os.walk(self.root / prefix):
            relative = Path(folder).relative_to(self.root).as_posix()
            # A link to a folder is listed as a file (git stores it as one): reading refuses it.
            links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in links]
            found.extend(f"{relative}/{name}" for name in files + links)
        return sorted(found)

    def read(self, paths: Iterable[str], limit: int = MAX_YAML_BYTES) -> dict[str, bytes]:
        """The content of each of ``paths`` that exists and can be read (see :meth:`fetch`)."""
        return self.fetch(paths, limit).files

    def fetch(self, paths: Iterable[str], limit: int = MAX_YAML_BYTES) -> Contents:
        """The content of each of ``paths`` that exists; those refused, with the reason."""
        contents = Contents()
        if self.commit:
            wanted = list(dict.fromkeys(paths))
            refused: dict[str, str] = {}
            found = self.git.read_objects([f"{self.commit}:{p}" for p in wanted], limit, refused)
            skip = len(self.commit) + 1
            contents.files = {spec[skip:]: data for spec, data in found.items()}
            contents.refused = {spec[skip:]: why for spec, why in refused.items()}
            return contents
        for path in paths:
            try:
                contents.files[path] = read_regular(self._on_disk(path), limit)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except UnreadableFile as exc:
                contents.refused[path] = exc.reason
        return contents

    def _on_disk(self, path: str) -> Path:
        return self.on_disk.get(path) or self.root / path
