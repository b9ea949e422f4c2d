"""What a rendering reads, digested: a release whose inputs are unchanged since its last delivery
cannot render differently, so the plan need not render it again."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from stardust_git.fileio import write_atomic
from stardust_git.index import CACHE_DIR
from stardust_git.models import Release
from stardust_git.source.catalog import Catalog, Loaded
from stardust_git.source.tree import Tree

ASSET_QUERY_LIMIT = 2000
"""Up to this many assets are looked up by name; more, and the whole tree is listed."""


@cache
def renderer_digest() -> str:
    """The tool version and every file of the installed ``stardust_git`` package (its code and
    data): computed, not listed, so no module rendering uses can be forgotten (genre_tools.py
    and models/ were). Any change of the package renders again; fingerprints decide whether
    the output changed. Computed once per process."""
    import stardust_git

    package = Path(stardust_git.__file__).parent
    digest = hashlib.blake2b(stardust_git.__version__.encode(), digest_size=16)
    for source in package_files(package):
        relative = source.relative_to(package).as_posix()
        digest.update(f"\0{relative}\0{source.stat().st_size}\0".encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def package_files(package: Path) -> list[Path]:
    """The package's files in a stable order, without compiled caches."""
    return sorted(
        path
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in _COMPILED
    )


_COMPILED = {".pyc", ".pyo"}


class RenderInputs:
    """Digests of everything one rendering reads: when they match the last successful
    delivery's, the rendered content (and its fingerprint) cannot have changed."""

    def __init__(self, tree: Tree, catalog: Catalog, digests: dict[str, str]) -> None:
        self.tree = tree
        self.catalog = catalog
        self.digests = digests
        self._asset_ids: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._listed: set[str] = set()
        """Top-level folders whose every blob id is in ``_asset_ids`` already."""
        self._targets: dict[str, str] = {}

    def of(self, loaded: Loaded[Release], target_name: str, renderer: str | None = None) -> str:
        """The digest of what rendering ``loaded`` for the target reads; with ``renderer``, as
        an earlier renderer (of that digest) would have had it."""
        release = loaded.model
        digest = hashlib.blake2b((renderer or renderer_digest()).encode(), digest_size=16)
        digest.update(self.digests.get(loaded.path, loaded.path).encode())
        for inherited in loaded.defaults:  # a changed defaults file changes what renders
            digest.update(f"\0{inherited}\0{self.digests.get(inherited, inherited)}".encode())
        digest.update(self._target(target_name).encode())
        for asset in assets_of(release):
            digest.update(f"\0{asset}\0{self._asset(asset)}".encode())
        return digest.hexdigest()

    def _target(self, name: str) -> str:
        if name not in self._targets:
            loaded = self.catalog.targets[name]
            parts = [loaded.path]
            genre_map = self.catalog.genre_maps.get(loaded.model.genre_map or "")
            if genre_map is not None:
                parts.append(genre_map.path)
                vocabulary = self.catalog.vocabularies.get(genre_map.model.vocabulary)
                parts.append(vocabulary.path if vocabulary else "")
                parts.append(self.catalog.taxonomy.path if self.catalog.taxonomy else "")
            self._targets[name] = ",".join(self.digests.get(p, p) for p in parts)
        return self._targets[name]

    def prepare(self, releases: list[Loaded[Release]]) -> None:
        """Look up the assets of ``releases`` in git at once: by name when they are few, else
        every file of their top-level folders (each listed once: a plan in shares prepares each
        share; the catalog and the receipts are not listed)."""
        wanted = {a for loaded in releases for a in assets_of(loaded.model)}
        paths = sorted(a for a in wanted if a.split("/", 1)[0] not in self._listed)
        if not paths:
            return
        git, commit = self.tree.git, self.tree.commit
        few = len(paths) <= ASSET_QUERY_LIMIT
        folders = sorted({p.split("/", 1)[0] for p in paths})
        self._asset_ids.update(git.blob_ids(commit, paths if few else folders))
        if not few:
            self._listed.update(folders)
        if commit is None:
            self._dirty.update(git.dirty_paths(paths if few else folders))

    def _asset(self, path: str) -> str:
        """The asset's git blob id; size and modification time for an uncommitted one."""
        if path in self._dirty or path not in self._asset_ids:
            try:
                stat = (self.tree.root / path).stat()
            except OSError:
                return "missing"
            return f"{stat.st_size}:{stat.st_mtime_ns}"
        return self._asset_ids[path]


class KnownFingerprints:
    """Which input digests rendered to which fingerprint, cached in ``.stardust-cache/``.

    After an upgrade of the renderer every digest changes while most renderings do not; this
    remembers the fingerprints computed since, so the next plan does not render them all again
    (the workflows keep the folder with actions/cache).
    """

    LIMIT = 500_000

    def __init__(self, root: Path) -> None:
        self.path = root / CACHE_DIR / "fingerprints.json"
        self.by_inputs: dict[str, str] = {}
        self.added: dict[str, str] = {}
        self._by_fingerprint: dict[str, set[str]] | None = None
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
            if content.get("version") == 1 and isinstance(content.get("entries"), dict):
                self.by_inputs = content["entries"]
        except (OSError, ValueError, AttributeError):
            pass

    def get(self, fingerprint: str) -> set[str]:
        """The input digests known to render ``fingerprint``."""
        return self._index().get(fingerprint, set())

    def add(self, inputs: str, fingerprint: str) -> None:
        self.added[inputs] = fingerprint
        self._index().setdefault(fingerprint, set()).add(inputs)

    def learn(self, learnt: dict[str, str]) -> None:
        """Renderings another process made (inputs -> fingerprint), to save with this one's."""
        for inputs, fingerprint in learnt.items():
            self.add(inputs, fingerprint)

    def _index(self) -> dict[str, set[str]]:
        if self._by_fingerprint is None:
            self._by_fingerprint = {}
            for inputs, known in self.by_inputs.items():
                self._by_fingerprint.setdefault(known, set()).add(inputs)
        return self._by_fingerprint

    def save(self) -> None:
        """Write what was learnt (atomically; a read-only checkout simply has no cache)."""
        if not self.added:
            return
        entries = {**self.by_inputs, **self.added}
        if len(entries) > self.LIMIT:
            entries = dict(self.added)
        data = json.dumps({"version": 1, "entries": entries}, sort_keys=True)
        try:
            write_atomic(self.path, data.encode())
            (self.path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        except OSError:
            return


def assets_of(release: Release) -> list[str]:
    """The repository paths of a release's media."""
    return [release.cover, *(track.audio for track in release.tracks)]
