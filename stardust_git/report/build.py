"""Write the static site: the catalog page (searchable, filtered and paginated in the browser),
one page per release, the deliveries, the targets and the validation problems.

Everything is built into a temporary folder beside ``out`` and renamed into place, so a reader
sees the old report or the new one. The pages need no network and work from file://: the
catalog data is a script loaded by ``<script src>``, not fetched.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from stardust_git.choreography import preview_action
from stardust_git.errors import UserError
from stardust_git.gitio import Git
from stardust_git.models import Release
from stardust_git.qc.cache import media_cache_dir
from stardust_git.qc.measure import cached_qc
from stardust_git.render import RenderContext, RenderError, render_package
from stardust_git.render.media import RenderAssetError, audio_asset, image_asset
from stardust_git.report import charts
from stardust_git.report.catalog_data import catalog_script
from stardust_git.report.gather import ReleaseEntry, ReportData, gather, load, open_failures
from stardust_git.report.problems import ProblemSearch
from stardust_git.report.thumbs import thumbnail, thumbnail_cache
from stardust_git.report.workers import forked_pool, shares, worker_count

STATIC_FILES = ("report.css", "catalog.js", "favicon.svg")
PROBLEM_ROWS = 1000
"""The problems page lists this many (validate lists them all)."""
TIMELINE_ROWS = 500
"""The deliveries page lists the newest this many failures and retries, and as many attempts
of the timeline (the receipts hold them all)."""


@dataclass(frozen=True)
class BuildOptions:
    base_url: str | None = None
    validate: bool = True
    messages: bool = True
    cache: Path | None = None
    today: dt.date | None = None


@dataclass(frozen=True)
class AssetFacts:
    """What a release page says about one asset file (or why it cannot be read)."""

    path: str
    format: str = ""
    bytes: int = 0
    md5: str = ""
    error: str = ""
    qc: str = ""
    """The audio QC figures validate measured (empty when it has not)."""


@dataclass(frozen=True)
class BuildSummary:
    out: Path
    releases: int
    targets: int
    problems: int
    files: int
    bytes: int


def build_report(root: Path, out: Path, options: BuildOptions) -> BuildSummary:
    """Build the report of the repository at ``root`` into ``out`` (replaced as a whole)."""
    out = out.resolve()
    _check_replaceable(out)
    today = options.today or dt.datetime.now(dt.UTC).date()
    catalog = load(root)
    with ProblemSearch(catalog, options.validate) as search:  # checks while receipts load
        data = gather(catalog, today)
        data.problems = search.problems()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        Site(data, staging, options).write()
        files, size = _measure(staging)
        os.sync()  # the pages were written without a sync each: one for all, then the swap
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    problems = len(data.problems)
    return BuildSummary(out, len(data.releases), len(data.catalog.targets), problems, files, size)


PAGE_SHARE = 250
"""Releases a worker writes the pages of at a time."""
PARALLEL_MIN_RELEASES = 500
_FORKED: dict[str, Site] = {}
"""``"site"``: the site being written, inherited (not pickled) by the forked workers."""


def _write_share(share: tuple[int, int]) -> dict[str, str | None]:
    return _FORKED["site"].write_release_pages(*share)


def _check_replaceable(out: Path) -> None:
    """``out`` may be missing, empty or an earlier report; anything else is never replaced."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder: refusing to replace it")
    if out.is_dir() and not (out / "index.html").is_file() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not a report (no index.html): refusing to replace it")


def _swap_into_place(staging: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old"
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def _measure(folder: Path) -> tuple[int, int]:
    sizes = [path.stat().st_size for path in folder.rglob("*") if path.is_file()]
    return len(sizes), sum(sizes)


def environment() -> Environment:
    """The Jinja2 templates shipped in the package, every value escaped."""
    env = Environment(
        loader=PackageLoader("stardust_git.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship in the package: no stat per page
    )
    env.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M") if moment else ""
    env.filters["duration"] = _duration
    return env


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class Site:
    """The pages of one report, written under ``out``."""

    def __init__(self, data: ReportData, out: Path, options: BuildOptions) -> None:
        self.data = data
        self.out = out
        self.options = options
        self.env = environment()
        self.templates: dict[str, Template] = {}
        self.cache = options.cache or thumbnail_cache()
        self.thumbs: dict[str, str | None] = {}
        self.context = self._render_context()

    def write(self) -> None:
        self._static()
        self._release_pages()
        self._catalog_page()

    def _summary_pages(self) -> None:
        """The pages that need no thumbnails: written while the workers write release pages."""
        self._deliveries_page()
        self._targets_page()
        self._problems_page()

    def _template(self, name: str) -> Template:
        if name not in self.templates:  # Jinja's own cache takes a lock and a lookup per page
            self.templates[name] = self.env.get_template(name)
        return self.templates[name]

    def _page(self, name: str, template: str, **values: object) -> None:
        depth = name.count("/")
        html = self._template(template).render(
            up="../" * depth, generated=self.data.today, commit=self.data.commit, **values
        )
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")

    def _static(self) -> None:
        folder = self.out / "static"
        folder.mkdir()
        for name in STATIC_FILES:
            data = resources.files("stardust_git.report").joinpath("static", name).read_bytes()
            (folder / name).write_bytes(data)

    def commit_url(self, commit: str) -> str | None:
        base = self.options.base_url
        return f"{base.rstrip('/')}/commit/{commit}" if base else None

    # --- catalog -------------------------------------------------------------------------

    def _catalog_page(self) -> None:
        entries = self.data.releases
        for entry in entries:
            self._thumb(entry)  # made by the workers of a large catalog; here for a small one
        (self.out / "data").mkdir(exist_ok=True)
        (self.out / "data" / "catalog.js").write_text(catalog_script(entries, self.thumbs))
        releases = [entry.release for entry in entries if entry.release]
        self._page(
            "index.html",
            "catalog.html",
            releases=len(entries),
            labels=sorted({release.label for release in releases}),
            genres=sorted({release.genre for release in releases}),
            targets=sorted({state.target for entry in entries for state in entry.states}),
            genre_chart=charts.bar_chart("Releases by genre", charts.by_genre(releases)),
            year_chart=charts.bar_chart("Releases by release year", charts.by_year(releases)),
        )

    def _thumb(self, entry: ReleaseEntry) -> str | None:
        release = entry.release
        if release is None:
            return None
        if release.cover not in self.thumbs:
            self.thumbs[release.cover] = self._make_thumb(release.cover)
        return self.thumbs[release.cover]

    def _make_thumb(self, cover: str) -> str | None:
        try:
            asset = image_asset(self.data.catalog.root, cover, ("cover",))
        except RenderError:
            return None
        return thumbnail(asset.path, asset.md5, self.out, self.cache)

    # --- release pages -------------------------------------------------------------------

    def _release_pages(self) -> None:
        """One page per release, then the summary pages; a large catalog's release pages are
        shared out to forked workers (the pages read assets and render messages), which hand
        back the thumbnails they made, and this process writes the summary pages meanwhile."""
        releases = self.data.releases
        workers = worker_count(len(releases), PARALLEL_MIN_RELEASES)
        if workers == 1:
            self.write_release_pages(0, len(releases))
            self._summary_pages()
            return
        _FORKED["site"] = self
        try:
            with forked_pool(workers) as pool:
                written = pool.map(_write_share, shares(len(releases), PAGE_SHARE))
                self._summary_pages()
                for thumbs in written:
                    self.thumbs.update(thumbs)
        finally:
            _FORKED.clear()

    def write_release_pages(self, start: int, stop: int) -> dict[str, str | None]:
        for entry in self.data.releases[start:stop]:
            self._release_page(entry)
        return self.thumbs

    def _release_page(self, entry: ReleaseEntry) -> None:
        release = entry.release
        tracks = []
        if release is not None:
            tracks = [(track, self._audio(track.audio)) for track in release.tracks]
        self._page(
            f"releases/{entry.upc}.html",
            "release.html",
            entry=entry,
            release=release,
            tracks=tracks,
            cover=self._cover(release),
            thumb=self._thumb(entry),
            messages=self._messages(entry),
            commit_url=self.commit_url,
        )

    def _audio(self, value: str) -> AssetFacts:
        try:
            asset = audio_asset(self.data.catalog.root, value, ("audio",))
        except RenderAssetError as error:
            return AssetFacts(value, error=error.message)
        qc = cached_qc(media_cache_dir(self.data.catalog.root), asset.md5)
        figures = qc.figures() if qc else ""
        return AssetFacts(value, asset.info.codec, asset.info.bytes, asset.md5, qc=figures)

    def _cover(self, release: Release | None) -> AssetFacts | None:
        if release is None:
            return None
        try:
            asset = image_asset(self.data.catalog.root, release.cover, ("cover",))
        except RenderAssetError as error:
            return AssetFacts(release.cover, error=error.message)
        info = asset.info
        shape = f"{info.width}x{info.height} {info.codec}"
        return AssetFacts(release.cover, shape, info.bytes, asset.md5)

    def _messages(self, entry: ReleaseEntry) -> dict[str, str]:
        """Target -> the message file written (or why none could be), as rendered now."""
        if not self.options.messages or entry.loaded is None or self.context is None:
            return {}
        return {name: self._message(entry, name) for name in entry.loaded.model.targets}

    def _message(self, entry: ReleaseEntry, target: str) -> str:
        catalog = self.data.catalog
        if target not in catalog.targets or entry.loaded is None:
            return "error: no such target"
        receipt = entry.receipts.get(target)
        action, _ = preview_action(entry.loaded.model.takedown, receipt)
        try:
            package = render_package(
                catalog, entry.loaded, target, action, self.context, include_assets=False
            )
        except UserError as error:
            return f"error: {error.message}"
        name = f"messages/{entry.upc}/{target}.xml"
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(package.message.data or b"")
        return name

    def _render_context(self) -> RenderContext | None:
        commit = self.data.commit
        if commit is None:
            return None
        committed = Git(self.data.catalog.root).committed_at(commit)
        return RenderContext(commit, committed)

    # --- deliveries, targets, problems ---------------------------------------------------

    def _deliveries_page(self) -> None:
        events = self.data.events
        attention = [e for e in events if e.delivery.status == "failed" or e.retry]
        weekly = charts.weekly_by_target(events, self.data.today)
        self._page(
            "deliveries.html",
            "deliveries.html",
            attention=attention[:TIMELINE_ROWS],
            needing_attention=len(attention),
            timeline=events[:TIMELINE_ROWS],
            total=len(events),
            titles={entry.upc: entry.title for entry in self.data.releases},
            weekly={name: charts.bar_chart(name, bars) for name, bars in weekly.items()},
            ack_chart=charts.bar_chart("Time to acknowledgement", charts.ack_delays(events)),
            commit_url=self.commit_url,
        )

    def _targets_page(self) -> None:
        failures = open_failures(self.data.releases)
        rows = []
        for name, loaded in sorted(self.data.catalog.targets.items()):
            attempts = [d for r in self.data.receipts_of(name) for d in r.history]
            succeeded = sum(1 for d in attempts if d.status == "success")
            last = max((d.finished for d in attempts), default=None)
            rate = f"{100 * succeeded / len(attempts):.0f}%" if attempts else "-"
            rows.append((name, loaded.model, rate, len(attempts), last, failures.get(name, 0)))
        self._page("targets.html", "targets.html", rows=rows)

    def _problems_page(self) -> None:
        self._page(
            "problems.html",
            "problems.html",
            problems=self.data.problems,
            shown=PROBLEM_ROWS,
            coverage=self.data.coverage,
            validated=self.options.validate,
        )
