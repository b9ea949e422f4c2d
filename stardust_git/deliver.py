"""Running the plan: render, lay out, upload, write a receipt per delivery, commit and push them.

The engine is protocol-independent: a protocol only implements :class:`Transport`. Each target
runs in its own thread, over a pool of ``delivery.connections`` transports (lanes): a release's
files go in order on one lane, releases go on the lanes as they free up, and a batch's
BatchComplete goes last; transient errors are retried with exponential backoff and jitter,
permanent ones are not; after ``delivery.breaker_threshold`` consecutive failed deliveries the
rest of that target's share of the plan is recorded as failed without trying (a circuit
breaker). A failed delivery never stops the others: the run exits 1 at the end.

Nothing goes out unchecked: the plan gates every release it would send (stardust_git.checks), each
package passes the package checks (XSD, business rules, Apple) just before its upload, and a run
stops before sending anything when an ERN XSD it needs cannot be had. A delivery the gate stops is
recorded as failed at stage "gate" (retried by the next run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import multiprocessing.util
import os
import posixpath
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, TypeVar

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from stardust_git.errors import UserError
from stardust_git.fingerprints import renderer_digest
from stardust_git.gitio import (
    Git,
    commit_paths,
    push_with_retry,
    sync_with_remote,
)
from stardust_git.models import Target
from stardust_git.models.receipt import Delivery, Receipt, SentFile
from stardust_git.plan import WATCHED, Plan, PlannedAction, Resend, compute_plan
from stardust_git.protocols import open_transport
from stardust_git.protocols.base import PermanentError, RemoteFile, TransientError, Transport
from stardust_git.receipts import (
    RETRY_DIR,
    merge_receipt_files,
    read_receipt,
    receipt_path,
    record_delivery,
    redact,
    retry_marker,
    secret_values,
    update_retry_marker,
)
from stardust_git.render import Package, PackageFile, RenderContext
from stardust_git.shards import in_shard
from stardust_git.source.catalog import RECEIPTS_DIR, ReleaseCache
from stardust_git.workers import AheadStream, forked_pool

MAX_TARGET_THREADS = 8
COMMIT_SUFFIX = "[skip ci]"
LOCK_FILE = "stardust-git-deliver.lock"
"""In the repository's (common) git directory: one delivering run at a time per repository."""
LOCK_POLL_SECONDS = 0.2
PREPARE_FROM = 8
"""Releases sent one by one from which forked workers prepare them ahead of the lanes."""
SENDING_PROTOCOLS = frozenset({"local", "ftp", "ftps", "sftp", "s3", "azure"})
"""Protocols whose lanes share nothing in the process, so forked workers may send: not the
API (its lanes share one OAuth2 token) nor plug-ins (unknown)."""
SEND_IN_WORKERS = "STARDUST_SEND_IN_WORKERS"


def _switched_on(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() not in ("0", "off", "false", "no")


@dataclass
class DeliverOptions:
    """What ``stardust-git deliver`` was asked to do."""

    base: str | None = None
    head: str | None = None
    all_: bool = False
    dry_run: bool = False
    commit: bool = False
    push: bool = False
    shard: tuple[int, int] | None = None
    """(index, count), index from 1: this run takes the releases whose UPC hashes to its share."""
    targets: list[str] | None = None
    only: list[str] | None = None
    """Only these releases (UPCs)."""
    resend: Resend | None = None
    """Send these releases' full packages again to ``targets``, as updates (``--resend``)."""
    today: dt.date | None = None
    remote: str = "origin"
    retry_wait: float = 1.0
    """Seconds before the first retry (doubled each time, with jitter)."""
    batch_size: int = 250
    """Releases per batch (batch choreography): a failure fails one batch, not the whole run."""
    lock_wait: float = 3600.0
    """Seconds to wait for another deliver run on this repository to finish before giving up."""
    prepare_workers: int | None = None
    """Forked processes that read the receipts, render and gate the releases sent one by one
    ahead of the lanes that send them (the lanes are threads: one core). None: one per
    connection (sending too, see ``send_in_workers``), or one per core for targets of one
    connection, when there are :data:`PREPARE_FROM` such releases; 0: the lanes do it."""
    send_in_workers: bool = field(default_factory=lambda: _switched_on(SEND_IN_WORKERS))
    """Where each target allows that many ``connections``, the forked workers send what they
    prepared too, each over its own connection (a lane per process: the cores, not one
    thread's share of one, do the protocol work); the parent writes the receipts in order.
    Off with ``STARDUST_SEND_IN_WORKERS=0`` (the lanes are then threads of this process)."""


@dataclass
class Outcome:
    """How one planned delivery went."""

    upc: str
    target: str
    action: str
    status: str
    """success, failed, rendered (dry run) or skipped (already delivered by another run)."""
    error: str = ""
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    attempts: int = 0
    retries: int = 0
    stage: str = ""
    """Where a failure happened: render or gate (the release), upload (the target) or breaker."""


@dataclass
class DeliverResult:
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    commit: str | None = None
    push_attempts: int = 0
    log: list[str] = field(default_factory=list)
    prepared_in_workers: int = 0
    """Units (releases sent one by one) a forked worker rendered and gated for its lane."""
    sent_in_workers: int = 0
    """Units the forked workers also sent, each over its own connection."""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.plan.problems


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); the index counts from 1."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise UserError(f"--shard takes I/N such as 1/4, not '{text}'") from None
    if count < 1 or not 1 <= index <= count:
        raise UserError(f"--shard {text}: I must be between 1 and N")
    return index, count


def push_branch(git: Git) -> str:
    branch = git.current_branch()
    if branch:
        return branch
    ref = os.environ.get("GITHUB_REF", "")
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    raise UserError("--push needs a branch: check one out (or set GITHUB_REF=refs/heads/<branch>)")


class Reporter:
    """Where a run tells what it does; the base class keeps quiet."""

    def note(self, text: str) -> None:
        """A line about the run itself (sync, plan problems)."""

    def start(self, total: int) -> None:
        """``total`` deliveries are about to run."""

    def done(self, outcome: Outcome) -> None:
        """One delivery finished (called from the target's thread, under a lock)."""

    def file_started(self, target: str, remote_path: str, size: int) -> None:
        """A file of ``size`` bytes starts going to ``target`` (once, not again on a retry)."""

    def file_progress(self, target: str, nbytes: int) -> None:
        """``nbytes`` more of a file went to ``target``; negative when a retry takes back what a
        failed attempt had sent. Called per chunk, from any thread, under a lock: keep it cheap."""

    def file_done(self, target: str, remote_path: str, size: int, seconds: float) -> None:
        """All of a file arrived, ``seconds`` after it started (for the api protocol, whose files
        go with their message, that includes the wait for it). Skipped files are not reported."""


def deliver(root: Path, options: DeliverOptions, reporter: Reporter | None = None) -> DeliverResult:
    """Plan, deliver every action of this shard, write receipts; commit and push when asked.

    A run that sends holds the repository's delivery lock from before it plans until its
    receipts are written (and pushed): a second run plans from the receipts the first wrote.
    """
    if options.dry_run:
        return _deliver(root, options, reporter)
    with delivery_lock(Git(root), options.lock_wait):
        return _deliver(root, options, reporter)


@contextlib.contextmanager
def delivery_lock(git: Git, wait: float) -> Iterator[Path]:
    """Hold ``.git/stardust-git-deliver.lock`` (flock), waiting at most ``wait`` seconds."""
    if not git.is_repository():
        raise UserError(f"{git.root} is not a git repository (plan compares git revisions)")
    folder = (git.root / git.text("rev-parse", "--git-common-dir")).resolve()  # may be relative
    path = folder / LOCK_FILE
    try:
        handle = path.open("a+b")
    except OSError as exc:
        raise UserError(f"cannot open the delivery lock {path}: {exc.strerror}") from None
    with handle:
        _acquire(handle, path, wait)
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: BinaryIO, path: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = path.read_text(encoding="utf-8", errors="replace").strip() or "?"
                raise UserError(
                    f"another stardust-git deliver (pid {holder}) holds {path}: waited "
                    f"{wait:g} s for it to finish; nothing was sent, run again later"
                ) from None
            time.sleep(LOCK_POLL_SECONDS)


def _deliver(root: Path, options: DeliverOptions, reporter: Reporter | None) -> DeliverResult:
    git = Git(root)
    report = reporter or Reporter()
    branch = push_branch(git) if options.push else None
    if branch:
        report.note(f"sync: {sync_with_remote(git, options.remote, branch, merge_receipt_files)}")
    if not options.dry_run and options.head is None:
        _refuse_uncommitted(git)
    plan = compute_plan(
        root,
        options.base,
        options.head,
        options.all_,
        options.today,
        options.targets,
        gate_packages=False,  # each package is gated just before it is sent
        only=options.only,
        resend=options.resend,
    )
    result = DeliverResult(plan)
    for problem in plan.problems:
        report.note(f"problem: {problem}")
    todo = sorted(plan.actions + plan.blocked, key=lambda a: (a.upc, a.target))
    actions = [a for a in todo if in_shard(a.upc, options.shard)]
    if not options.dry_run:
        refuse_unwritable_receipts(root, actions)
    _require_schemas(plan, actions)
    assert plan.catalog is not None
    if isinstance(plan.catalog.releases, ReleaseCache):  # a plan in shares: read along
        plan.catalog.releases.expect([planned.path for planned in actions])
    report.start(len(actions))
    engine = _Engine(root, plan, options, report)
    result.outcomes, result.receipts = engine.run(actions)
    result.prepared_in_workers = engine.prepared_in_workers
    result.sent_in_workers = engine.sent_in_workers
    if (options.commit or options.push) and result.receipts and not options.dry_run:
        message = _commit_message(result.outcomes)
        result.commit = commit_paths(git, sorted(result.receipts + engine.markers), message)
    if branch and not options.dry_run:
        resolve = merge_receipt_files
        result.push_attempts = push_with_retry(git, options.remote, branch, resolve)
    return result


def _require_schemas(plan: Plan, actions: list[PlannedAction]) -> None:
    """Every ERN XSD the run needs, before anything is sent: no message goes unvalidated."""
    from stardust_git.xsd import get_schema

    assert plan.catalog is not None
    versions = set()
    for planned in actions:
        target = plan.catalog.targets.get(planned.target)
        if target is not None and target.model.format == "ern" and not planned.blocked:
            versions.add(target.model.ern_version)
    for version in sorted(v for v in versions if v):
        try:
            get_schema(version)
        except UserError as exc:
            raise UserError(
                f"nothing was sent: every message is validated against its XSD before it is "
                f"sent, and the ERN {version} XSD is not available: {exc.message}"
            ) from None


def _refuse_uncommitted(git: Git) -> None:
    dirty = git.dirty_paths(WATCHED)
    if dirty:
        shown = ", ".join(sorted(dirty)[:5]) + (" ..." if len(dirty) > 5 else "")
        raise UserError(
            f"uncommitted changes in {shown}: commit them first (a receipt records the commit "
            "that was delivered), or use --dry-run"
        )


def refuse_unwritable_receipts(root: Path, actions: list[PlannedAction]) -> None:
    """Before anything is sent: every receipt (and retry marker) of the plan can be written.

    A folder on the way that is a file would fail after the upload: a delivery without a receipt.
    """
    folders = {RECEIPTS_DIR, RETRY_DIR} | {f"{RECEIPTS_DIR}/{a.upc}" for a in actions}
    files = {receipt_path(a.upc, a.target) for a in actions}
    files |= {retry_marker(a.upc, a.target) for a in actions}
    for relative in sorted(folders):
        path = root / relative
        if path.exists() and not path.is_dir():
            raise UserError(
                f"{relative} is not a folder: receipts are written under it "
                f"({relative}/...); move it away and run again (nothing was sent)"
            )
    for relative in sorted(files):
        path = root / relative
        if path.exists() and not path.is_file():
            raise UserError(
                f"{relative} is not a regular file: the receipt cannot be written there; "
                "move it away and run again (nothing was sent)"
            )


def _commit_message(outcomes: list[Outcome]) -> str:
    done = sum(o.status == "success" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    summary = f"{done} delivered" + (f", {failed} failed" if failed else "")
    return f"stardust-git: receipts ({summary}) {COMMIT_SUFFIX}"


class _Engine:
    """Runs the actions: one thread per target."""

    def __init__(self, root: Path, plan: Plan, options: DeliverOptions, reporter: Reporter) -> None:
        self.root = root
        self.plan = plan
        self.options = options
        self.reporter = reporter
        self.lock = threading.Lock()
        self.receipts: list[str] = []
        self.markers: list[str] = []
        self.preparing = 0
        """Forked workers preparing releases ahead of the lanes."""
        self.sending = False
        """Whether those workers also send what they prepared (each its own connections)."""
        self.prepared_in_workers = 0
        self.sent_in_workers = 0

    def run(self, actions: list[PlannedAction]) -> tuple[list[Outcome], list[str]]:
        by_target: dict[str, list[PlannedAction]] = {}
        for planned in actions:
            by_target.setdefault(planned.target, []).append(planned)
        if not by_target:
            return [], []
        workers = min(MAX_TARGET_THREADS, len(by_target))
        with (
            self._preparers(by_target) as preparers,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver") as pool,
        ):
            runs = [_TargetPool(self, name, todo) for name, todo in sorted(by_target.items())]
            results = list(pool.map(lambda run: run.run(preparers), runs))
        outcomes = [outcome for result in results for outcome in result]
        outcomes.sort(key=lambda o: (o.upc, o.target))
        return outcomes, sorted(self.receipts)

    @contextlib.contextmanager
    def _preparers(
        self, by_target: dict[str, list[PlannedAction]]
    ) -> Iterator[ProcessPoolExecutor | None]:
        """The forked workers that prepare releases sent one by one, forked here, before any
        thread of this run starts (a fork copies no lock another thread holds); or None."""
        one_by_one = {
            name: todo
            for name, todo in by_target.items()
            if self.plan.catalog is not None
            and self.plan.catalog.targets[name].model.delivery.choreography != "batch"
        }
        count = self._worker_count(one_by_one)
        if count < 1 or not one_by_one:
            yield None
            return
        _PREPARING.update(engine=self, actions=one_by_one)
        self.preparing = count
        self._import_for_workers(one_by_one)
        self.sending = self._may_send(one_by_one) and count <= _fewest_connections(
            self.plan, one_by_one
        )
        pool = forked_pool(count)
        try:
            pool.submit(int).result()  # forks every worker now
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _PREPARING.clear()

    def _worker_count(self, one_by_one: dict[str, list[PlannedAction]]) -> int:
        """The forked workers to start: ``prepare_workers``, else one per connection where
        they may send, else one per core (none for a few releases or on one core)."""
        if self.options.prepare_workers is not None:
            return self.options.prepare_workers
        if sum(len(todo) for todo in one_by_one.values()) < PREPARE_FROM:
            return 0
        connections = _fewest_connections(self.plan, one_by_one)
        if self._may_send(one_by_one) and connections > 1:
            return connections
        cores = os.cpu_count() or 1
        return cores if cores > 1 else 0

    def _import_for_workers(self, one_by_one: dict[str, list[PlannedAction]]) -> None:
        """Import here, once, what every worker would otherwise import after the fork: the
        gate, the choreography, the targets' protocols (the workers inherit the modules)."""
        import stardust_git.checks
        import stardust_git.choreography  # noqa: F401

        assert self.plan.catalog is not None
        for name in one_by_one:
            delivery = self.plan.catalog.targets[name].model.delivery
            open_transport(name, delivery, self.root).prepare_for_workers()

    def _may_send(self, one_by_one: dict[str, list[PlannedAction]]) -> bool:
        assert self.plan.catalog is not None
        targets = self.plan.catalog.targets
        protocols = {targets[name].model.delivery.protocol for name in one_by_one}
        return self.options.send_in_workers and protocols <= SENDING_PROTOCOLS

    def record(self, planned: PlannedAction, delivery: Delivery) -> None:
        """Append to the receipt and keep the retry marker in step with the outcome."""
        path = record_delivery(self.root, planned.upc, planned.target, delivery)
        failed = delivery.status == "failed"
        marker = update_retry_marker(self.root, planned.upc, planned.target, planned.path, failed)
        with self.lock:
            self.receipts.append(path)
            if marker:
                self.markers.append(marker)

    def done(self, outcome: Outcome) -> None:
        with self.lock:
            self.reporter.done(outcome)


class _FileProgress:
    """One file's way to the reporter: the ``progress`` callback its transport calls per chunk
    (from any of the transport's threads). It counts at most the file's size (a protocol that
    sends a part again must not push the bar past the end), takes back a failed attempt's bytes
    when the next one begins, and reports the file done once its put returned and all its bytes
    went (for the api protocol, that is while its message is sent)."""

    def __init__(self, engine: _Engine, target: str, remote_path: str, size: int) -> None:
        self.lock = engine.lock
        self.reporter = engine.reporter
        self.target = target
        self.remote_path = remote_path
        self.size = size
        self.sent = 0
        self.began: float | None = None
        self.put_returned = False
        self.finished = False

    def begin_attempt(self) -> None:
        with self.lock:
            if self.began is None:
                self.began = time.monotonic()
                self.reporter.file_started(self.target, self.remote_path, self.size)
            elif self.sent:
                self.reporter.file_progress(self.target, -self.sent)
                self.sent = 0

    def __call__(self, nbytes: int) -> None:
        with self.lock:
            if self.finished:
                return
            counted = max(-self.sent, min(nbytes, self.size - self.sent))
            if counted:
                self.sent += counted
                self.reporter.file_progress(self.target, counted)
            self._finish_when_complete()

    def returned(self) -> None:
        """The put returned: the file is there, or (api) queued for its message's request."""
        with self.lock:
            self.put_returned = self.began is not None
            self._finish_when_complete()

    def _finish_when_complete(self) -> None:
        if self.put_returned and self.sent == self.size and not self.finished:
            self.finished = True
            seconds = time.monotonic() - (self.began or 0.0)
            self.reporter.file_done(self.target, self.remote_path, self.size, seconds)


def _fewest_connections(plan: Plan, targets: dict[str, list[PlannedAction]]) -> int:
    assert plan.catalog is not None
    return min((plan.catalog.targets[n].model.delivery.connections for n in targets), default=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


_Item = TypeVar("_Item")
_Part = tuple[Package, list[tuple[str, PackageFile]]]
"""A release of a batch and its files, in upload order."""


@dataclass
class _Prepared:
    """A unit made ready to send: its receipts at the target, its moment, and per release the
    package and the error that stops it with the stage it stopped at ("": the package may go)."""

    receipts: dict[str, Receipt | None]
    moment: dt.datetime
    rendered: list[tuple[Package | None, str, str]]
    error: str = ""
    """Set when the unit cannot be placed in order (an unreadable receipt): all of it fails."""


@dataclass
class _Sent:
    """A unit as its lane left it (a thread, or a forked worker with its own connection): what
    the parent needs to record it. Releases are named by their index in the unit."""

    prepared: _Prepared
    started: dt.datetime
    going: list[int] = field(default_factory=list)
    """The releases that went to upload (or to be rendered, in a dry run)."""
    skipped: list[int] = field(default_factory=list)
    """The releases the receipt records as delivered already."""
    layout: list[tuple[str, PackageFile]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """The errors of the releases that did not arrive, by message id."""
    seconds: float = 0.0
    attempts: int = 0
    retries: int = 0
    remote_facts: dict[str, dict[str, str]] = field(default_factory=dict)
    in_worker: bool = False


_Units = AheadStream[list[PlannedAction], "_Prepared | _Sent"]
_PREPARING: dict[str, object] = {}
"""What forked preparers inherit: the engine and the actions sent one by one, by target."""


def _prepare_in_worker(target: str, index: int) -> _Prepared | _Sent:
    """In a forked worker: unit ``index`` of ``target``'s releases sent one by one, prepared
    as a lane would (the lane then only sends it); or prepared and sent over this worker's own
    connection to ``target`` (``engine.sending``: the parent then only records it)."""
    engine = _PREPARING["engine"]
    actions = _PREPARING["actions"]
    assert isinstance(engine, _Engine) and isinstance(actions, dict)
    if target not in _PREPARING:
        _PREPARING[target] = _worker_lane(engine, target)
    lane = _PREPARING[target]
    assert isinstance(lane, _TargetRun)
    unit = [actions[target][index]]
    if not engine.sending:
        return lane._prepare(unit)
    sent = lane._send(unit)
    sent.in_worker = True
    return sent


def _worker_lane(engine: _Engine, target: str) -> _TargetRun:
    """A forked worker's lane to ``target``: quiet (the parent reports), its connection closed
    when the worker exits."""
    engine.reporter = Reporter()
    lane = _TargetPool(engine, target, []).lanes[0]
    multiprocessing.util.Finalize(None, lane.close, exitpriority=10)
    return lane


class _TargetPool:
    """The deliveries to one target over ``delivery.connections`` lanes, each a :class:`_TargetRun`
    with its own transport (connection).

    Release-by-release, each lane takes the next release as soon as it is free and sends its
    files in order. Batches go one after another: a batch's releases go over the lanes at once,
    and its BatchComplete, naming the releases that arrived, once every one has finished. A
    failed release fails alone; after ``breaker_threshold`` failed uploads in a row (in the
    order they finish) the rest is recorded as failed without trying.
    """

    def __init__(self, engine: _Engine, name: str, actions: list[PlannedAction]) -> None:
        self.engine = engine
        self.name = name
        self.actions = actions
        assert engine.plan.catalog is not None
        self.delivery = engine.plan.catalog.targets[name].model.delivery
        self.lanes = [_TargetRun(engine, name, self) for _ in range(self.delivery.connections)]
        self.lock = threading.Lock()
        self.in_a_row = 0
        """Failed uploads in a row, as the lanes finish them (the circuit breaker)."""
        self.last_batch: dt.datetime | None = None
        """The moment of this run's previous batch (batch ids never repeat)."""

    def run(self, preparers: ProcessPoolExecutor | None = None) -> list[Outcome]:
        try:
            if self.delivery.choreography == "batch":
                size = self.engine.options.batch_size
                batches = [self.actions[i : i + size] for i in range(0, len(self.actions), size)]
                return [o for batch in batches for o in self._unit(self.lanes[0], batch)]
            return self._run_releases(self._prepared_ahead(preparers))
        finally:
            for lane in self.lanes:
                lane.close()

    def _prepared_ahead(self, preparers: ProcessPoolExecutor | None) -> _Units:
        """The releases one by one, each prepared by ``preparers`` ahead of its lane."""
        units = [[planned] for planned in self.actions]
        ahead = len(self.lanes) + 2 * self.engine.preparing
        return AheadStream(preparers, partial(_prepare_in_worker, self.name), units, ahead)

    def _run_releases(self, units: _Units) -> list[Outcome]:
        """One release after another on the first lane until one goes through (a target that is
        down costs one connection, and the breaker sees its failures in order); then the rest
        over every lane."""
        outcomes: list[Outcome] = []
        started = 0
        ahead = units.ahead
        if self.engine.sending:  # a worker sends what it is given: nothing ahead of the first
            units.ahead = 1
        while not any(o.status != "failed" for o in outcomes) and (taken := units.take()):
            outcomes += self._unit(self.lanes[0], *taken)
            started += 1
        units.ahead = ahead

        def drain(lane: _TargetRun) -> list[Outcome]:
            done: list[Outcome] = []
            while (taken := units.take()) is not None:
                done += self._unit(lane, *taken)
            return done

        try:
            return outcomes + self._over_lanes(drain, len(self.actions) - started)
        finally:
            units.close()

    def _over_lanes(self, drain: Callable[[_TargetRun], list[Outcome]], left: int) -> list[Outcome]:
        lanes = self.lanes[:left]
        if len(lanes) <= 1:
            return drain(self.lanes[0])
        with ThreadPoolExecutor(len(lanes), thread_name_prefix=f"{self.name}-lane") as pool:
            return [o for done in pool.map(drain, lanes) for o in done]

    def _next(self, pending: Iterator[_Item]) -> _Item | None:
        with self.lock:
            return next(pending, None)

    def _unit(
        self, lane: _TargetRun, unit: list[PlannedAction], ready: Future[_Prepared] | None = None
    ) -> list[Outcome]:
        """Deliver ``unit`` on ``lane`` (``ready``: prepared by a worker), unless the breaker
        is open (a release that cannot render says nothing about the target and does not count)."""
        with self.lock:
            in_a_row = self.in_a_row
        breaker_open = in_a_row >= self.delivery.breaker_threshold
        if breaker_open and (ready is None or ready.cancel() or not self.engine.sending):
            why = f"not attempted: {in_a_row} deliveries in a row failed at '{self.name}'"
            return [lane._fail(p, None, _now(), why, 0, "breaker") for p in unit]
        # (a worker that began sending it before the breaker opened: recorded as it went)
        done = lane._deliver(unit, None if ready is None else lane._from_worker(ready))
        with self.lock:
            if any(o.stage == "upload" for o in done):
                self.in_a_row += 1
            elif any(o.status != "failed" for o in done):
                self.in_a_row = 0
        return done

    def upload_batch(
        self, lane: _TargetRun, packages: list[Package], layout: list[tuple[str, PackageFile]]
    ) -> dict[str, str]:
        """Send a batch's releases over the lanes, then its BatchComplete (``layout``'s last
        file) on ``lane``, naming only the releases that arrived; the errors by message id."""
        from stardust_git.choreography import batch_complete, release_folders

        *files, _ = layout
        parts = _files_by_package(packages, files)
        errors = self._upload_parts(parts)
        names = release_folders(packages)
        folders = {p.message_id: name for p, name in zip(packages, names, strict=True)}
        sent = [package for package in packages if package.message_id not in errors]
        if sent:
            arrived = [folders[package.message_id] for package in sent]
            lane._upload([batch_complete(sent, arrived, lane.target.priority, lane.moment)])
        return errors

    def _upload_parts(self, parts: list[_Part]) -> dict[str, str]:
        pending = iter(parts)
        errors: dict[str, str] = {}

        def drain(lane: _TargetRun) -> None:
            while (part := self._next(pending)) is not None:
                package, files = part
                error = lane.upload_part(files)
                if error:
                    with self.lock:
                        errors[package.message_id] = error

        lanes = self.lanes[: max(1, len(parts))]
        with ThreadPoolExecutor(len(lanes), thread_name_prefix=f"{self.name}-lane") as pool:
            list(pool.map(drain, lanes))
        coordinator = self.lanes[0]
        for other in lanes[1:]:
            coordinator.take_counts(other)
        return errors


def _files_by_package(packages: list[Package], files: list[tuple[str, PackageFile]]) -> list[_Part]:
    """``files`` (in upload order) split by the package each belongs to."""
    owner = {id(f): index for index, package in enumerate(packages) for f in package.files}
    parts: list[list[tuple[str, PackageFile]]] = [[] for _ in packages]
    for remote_path, package_file in files:
        parts[owner[id(package_file)]].append((remote_path, package_file))
    return [(package, part) for package, part in zip(packages, parts, strict=True) if part]


class _TargetRun:
    """One lane of a target's deliveries: one transport, one unit (release or batch) at a time."""

    def __init__(self, engine: _Engine, name: str, pool: _TargetPool) -> None:
        self.engine = engine
        self.name = name
        self.pool = pool
        catalog = engine.plan.catalog
        assert catalog is not None and engine.plan.context is not None
        self.catalog = catalog
        self.context = engine.plan.context
        self.target: Target = catalog.targets[name].model
        self.secrets = secret_values(self.target.delivery)
        self.transport: Transport | None = None
        self.connected = False
        self.attempts = 0
        self.retries = 0
        self.remote_facts: dict[str, dict[str, str]] = {}
        """Message remote path -> what the transport said after sending it (receipt_extras)."""
        self.swept: set[str] = set()
        """The folders of the package being uploaded already cleared of temporary files a killed
        run left (the delivery lock keeps other runs of this repository from uploading now)."""
        self.held: dict[str, dict[str, RemoteFile] | None] = {}
        """Folder -> the files in it before this upload (Transport.held), asked once."""
        self.moment = _now()
        """The moment of the unit being delivered."""
        self.receipts: dict[str, Receipt | None] = {}
        """UPC -> receipt at this target (None: never attempted), of the unit being delivered."""
        self.resending = False
        """The unit holds a ``--resend``: every file is uploaded, even one already there."""

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def upload_part(self, files: list[tuple[str, PackageFile]]) -> str:
        """Send one release's files of a batch; the error, or "" when they all arrived."""
        try:
            self._upload(files)
        except Exception as exc:  # recorded against that release; the batch goes on
            return self._describe(exc)
        return ""

    def take_counts(self, other: _TargetRun) -> None:
        """Count in the tries and the facts of ``other``, which sent part of this lane's batch."""
        self.attempts = max(self.attempts, other.attempts)
        self.retries += other.retries
        self.remote_facts.update(other.remote_facts)

    # --- rendering ---------------------------------------------------------------------------

    def _read_receipts(self, group: list[PlannedAction]) -> None:
        """The receipts of the unit's releases at this target (order, payload, already sent)."""
        self.receipts = {p.upc: read_receipt(self.engine.root, p.upc, self.name) for p in group}

    def _history(self, upc: str) -> list[Delivery]:
        receipt = self.receipts[upc]
        return receipt.history if receipt else []

    def _moment(self, group: list[PlannedAction]) -> dt.datetime:
        """The moment the unit states (folder timestamp, MessageCreatedDateTime): per release,
        after every placement its receipt records (choreography.placement); a batch takes the
        latest of its releases', and comes after the run's previous batch."""
        from stardust_git.choreography import ONE_MILLISECOND, placement

        commit, committed_at = self.context.commit, self.context.committed_at
        moment = max(placement(commit, committed_at, self._history(p.upc)) for p in group)
        if self.target.delivery.choreography == "batch":
            last = self.pool.last_batch
            if last is not None and moment <= last:
                moment = last + ONE_MILLISECOND
            self.pool.last_batch = moment
        return moment

    def _render(self, planned: PlannedAction, context: RenderContext) -> Package:
        """The package as sent, created at the unit's moment (``context``); a takedown, or an
        update whose assets the target already holds (unless ``resend_assets: always``), is the
        message alone."""
        from stardust_git.choreography import package_as_sent

        loaded = self.catalog.releases[planned.path]
        withdrawn = planned.package.withdrawn if planned.package is not None else planned.withdrawn
        history = self._history(planned.upc)
        return package_as_sent(
            self.catalog,
            loaded,
            self.name,
            planned.action,
            context,
            history,
            withdrawn,
            full=planned.resend,
        )

    def _gate(self, planned: PlannedAction, package: Package, context: RenderContext) -> str:
        """The located errors of a package about to be sent (empty when it may go)."""
        from stardust_git.checks import check_packages

        loaded = self.catalog.releases[planned.path]
        found = check_packages(self.catalog, loaded, [package], context)
        return "; ".join(d.format() for d in found.sorted() if d.severity == "error")

    # --- delivering ------------------------------------------------------------------------

    def _prepare(self, group: list[PlannedAction]) -> _Prepared:
        """Read the unit's receipts, place it in order, render and gate each release."""
        try:
            self._read_receipts(group)
            moment = self._moment(group)
        except (UserError, OSError) as exc:  # an unreadable receipt: nothing placed in order
            return _Prepared(self.receipts, _now(), [], self._describe(exc))
        context = replace(self.context, created_at=moment)
        return _Prepared(self.receipts, moment, [self._render_one(p, context) for p in group])

    def _from_worker(self, ready: Future[_Prepared | _Sent]) -> _Prepared | _Sent:
        """What a worker prepared; a worker that failed fails the unit as a render would."""
        try:
            prepared = ready.result()
        except Exception as exc:  # a worker that died, a result that could not be pickled
            error = f"the process preparing it failed: {self._describe(exc)}"
            return _Prepared({}, _now(), [], error)
        with self.engine.lock:
            self.engine.prepared_in_workers += 1
            self.engine.sent_in_workers += isinstance(prepared, _Sent)
        return prepared

    def _deliver(
        self, group: list[PlannedAction], ready: _Prepared | _Sent | None = None
    ) -> list[Outcome]:
        sent = ready if isinstance(ready, _Sent) else self._send(group, ready)
        return self._record(group, sent)

    def _send(self, group: list[PlannedAction], ready: _Prepared | None = None) -> _Sent:
        """Prepare the unit (unless ``ready``) and upload what may go; nothing recorded."""
        started, clock = _now(), time.monotonic()
        prepared = ready or self._prepare(group)
        sent = _Sent(prepared, started)
        self.receipts = prepared.receipts
        if prepared.error:
            return sent
        may_go = [index for index, (_, _, stage) in enumerate(prepared.rendered) if not stage]
        sent.skipped = [i for i in may_go if self._sent_before(group[i], prepared.rendered[i][0])]
        sent.going = [i for i in may_go if i not in sent.skipped]
        if not sent.going:
            return sent
        packages = [package for _, package in self._going(group, sent)]
        self._begin_unit(any(group[i].resend for i in sent.going), prepared.moment)
        try:
            sent.layout = self._layout(packages, prepared.moment)
            if not self.engine.options.dry_run:
                sent.errors = self._upload_unit(packages, sent.layout)
        except Exception as exc:  # any failure is recorded; the run goes on
            error = self._describe(exc)
            sent.errors = {package.message_id: error for package in packages}
        sent.seconds = time.monotonic() - clock
        sent.attempts, sent.retries, sent.remote_facts = (
            self.attempts,
            self.retries,
            self.remote_facts,
        )
        return sent

    def _going(
        self, group: list[PlannedAction], sent: _Sent
    ) -> list[tuple[PlannedAction, Package]]:
        """The releases of ``group`` that went to upload, with their packages."""
        rendered = sent.prepared.rendered
        return [(group[i], package) for i in sent.going if (package := rendered[i][0])]

    def _record(self, group: list[PlannedAction], sent: _Sent) -> list[Outcome]:
        """Write the receipts of a unit its lane sent, and report it (in this process)."""
        prepared, started, moment = sent.prepared, sent.started, sent.prepared.moment
        if prepared.error:
            return [self._fail(p, None, started, prepared.error, 0, "render") for p in group]
        outcomes = [
            self._fail(planned, package, started, error, 0, stage)
            for planned, (package, error, stage) in zip(group, prepared.rendered, strict=True)
            if stage
        ]
        outcomes += [self._skip(group[index]) for index in sent.skipped]
        self.attempts, self.retries = sent.attempts, sent.retries
        self.remote_facts = sent.remote_facts
        if sent.in_worker and not self.engine.options.dry_run:
            self._replay_progress(sent)
        return outcomes + [
            self._fail(planned, package, started, error, self.attempts, "upload", moment)
            if (error := sent.errors.get(package.message_id))
            else self._succeed(planned, package, started, sent.layout, sent.seconds, moment)
            for planned, package in self._going(group, sent)
        ]

    def _replay_progress(self, sent: _Sent) -> None:
        """Report the files a worker sent, as a lane here would have while sending them."""
        if sent.errors:
            return
        with self.engine.lock:
            for remote_path, package_file in sent.layout:
                size = package_file.size
                self.engine.reporter.file_started(self.name, remote_path, size)
                self.engine.reporter.file_progress(self.name, size)
                self.engine.reporter.file_done(self.name, remote_path, size, 0.0)

    def _begin_unit(self, resending: bool, moment: dt.datetime) -> None:
        batch = self.target.delivery.choreography == "batch"
        for lane in self.pool.lanes if batch else [self]:  # a batch borrows the other lanes
            lane.attempts = lane.retries = 0
            lane.remote_facts = {}
            lane.resending = resending
            lane.moment = moment

    def _upload_unit(
        self, packages: list[Package], layout: list[tuple[str, PackageFile]]
    ) -> dict[str, str]:
        """Upload a unit; the errors of the releases that did not arrive, by message id."""
        if self.target.delivery.choreography == "batch" and len(self.pool.lanes) > 1:
            return self.pool.upload_batch(self, packages, layout)
        self._upload(layout)
        return {}

    def _render_one(
        self, planned: PlannedAction, context: RenderContext
    ) -> tuple[Package | None, str, str]:
        """The package as sent, and why it may not go with the stage that says so."""
        if planned.blocked:
            return None, planned.blocked, "gate"
        try:
            package = self._render(planned, context)
            problems = self._gate(planned, package, context)
        except Exception as exc:  # recorded as a failed delivery
            return None, self._describe(exc), "render"
        return package, problems, "gate" if problems else ""

    def _sent_before(self, planned: PlannedAction, package: Package | None) -> bool:
        """Whether the receipt in the working tree (read for this unit, under the delivery
        lock) already records this delivery: a plan read at ``--head`` may predate it."""
        if self.engine.options.dry_run or planned.resend or package is None:
            return False
        return _already_delivered(self.receipts[planned.upc], planned, package)

    def _skip(self, planned: PlannedAction) -> Outcome:
        why = f"already delivered: {receipt_path(planned.upc, self.name)} records it"
        outcome = Outcome(planned.upc, self.name, planned.action, "skipped", why)
        self.engine.done(outcome)
        return outcome

    def _layout(
        self, packages: list[Package], moment: dt.datetime
    ) -> list[tuple[str, PackageFile]]:
        from stardust_git.choreography import layout

        choreography = self.target.delivery.choreography
        return layout(packages, choreography, self.target.priority, moment)

    def _describe(self, exc: Exception) -> str:
        text = exc.message if isinstance(exc, UserError) else str(exc)
        if not isinstance(exc, UserError | TransientError | PermanentError):
            text = f"{type(exc).__name__}: {text}"
        return redact(text or type(exc).__name__, self.secrets)

    # --- uploading ---------------------------------------------------------------------------

    def _upload(self, layout: list[tuple[str, PackageFile]]) -> None:
        self.swept = set()
        self.held = {}
        for remote_path, package_file in layout:
            sent = _FileProgress(self.engine, self.name, remote_path, package_file.size)
            self._with_retry(lambda r=remote_path, f=package_file, s=sent: self._put(r, f, s))
            sent.returned()
            if package_file.kind == "message":
                self.remote_facts[remote_path] = self._receipt_extras()

    def _receipt_extras(self) -> dict[str, str]:
        assert self.transport is not None
        extras = self.transport.receipt_extras()
        return {key: redact(value, self.secrets) for key, value in extras.items()}

    def _with_retry(self, action: Callable[[], None]) -> None:
        wait = self.engine.options.retry_wait
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.target.delivery.max_attempts),
            wait=wait_exponential(multiplier=wait, max=60 * wait) + wait_random(0, wait),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.attempts = max(self.attempts, 1)  # tries of the delivery, not of each file
                if attempt.retry_state.attempt_number > 1:
                    self.attempts += 1
                    self.retries += 1
                    self._disconnect()
                self._connect()
                action()

    def _connect(self) -> None:
        if self.transport is None:
            self.transport = open_transport(self.name, self.target.delivery, self.engine.root)
        if not self.connected:
            self.transport.connect()
            self.connected = True

    def _disconnect(self) -> None:
        if self.transport is not None and self.connected:
            self.connected = False
            self.transport.close()

    def _put(self, remote_path: str, package_file: PackageFile, sent: _FileProgress) -> None:
        transport = self.transport
        assert transport is not None
        folder = posixpath.dirname(remote_path)
        if folder not in self.swept:  # before the first file goes in, and so before the message
            self._remove_temporary(transport, folder)
        if package_file.kind == "resource" and not self.resending:
            there = self._already_there(transport, remote_path)
            same_md5 = there is not None and there.md5 in (None, package_file.md5)
            if there is not None and there.size == package_file.size and same_md5:
                return
        sent.begin_attempt()
        if package_file.source is not None:
            transport.put_file(package_file.source, remote_path, package_file.md5, sent)
        else:
            data = package_file.data or b""
            transport.put_bytes(data, remote_path, package_file.md5)
            sent(len(data))

    def _already_there(self, transport: Transport, remote_path: str) -> RemoteFile | None:
        """The file at ``remote_path``: from one listing per folder (a request per file would
        double the requests of a release of small files), asking the file itself only when the
        listing cannot tell (no listing; no MD5 in it for a file that is there)."""
        folder = posixpath.dirname(remote_path)
        if folder not in self.held:
            try:
                self.held[folder] = transport.held(folder)
            except PermanentError:  # a drop box that may not be listed
                self.held[folder] = None
        listing = self.held[folder]
        found = listing.get(remote_path) if listing is not None else None
        if listing is None or (found is not None and found.md5 is None):
            return transport.stat(remote_path)
        return found

    def _remove_temporary(self, transport: Transport, folder: str) -> None:
        # A drop box that may not be listed: no leftover can be found there either.
        with contextlib.suppress(PermanentError):
            transport.remove_temporary(folder)
        self.swept.add(folder)

    # --- receipts ----------------------------------------------------------------------------

    def _location(self, layout: list[tuple[str, PackageFile]], package: Package) -> str:
        message = _message_path(layout, package)
        folder = message.rsplit("/", 1)[0] if "/" in message else ""
        if self.transport is None:
            self.transport = open_transport(self.name, self.target.delivery, self.engine.root)
        return self.transport.location(folder)

    def _format(self, package: Package | None) -> str:
        if package is not None:
            return package.format
        if self.target.format == "ern":
            return f"ern/{self.target.ern_version}"
        return "apple"

    def _succeed(
        self,
        planned: PlannedAction,
        package: Package,
        started: dt.datetime,
        layout: list[tuple[str, PackageFile]],
        seconds: float,
        moment: dt.datetime,
    ) -> Outcome:
        size = sum(f.size for f in package.files)
        outcome = Outcome(
            planned.upc,
            self.name,
            planned.action,
            "rendered" if self.engine.options.dry_run else "success",
            files=len(package.files),
            bytes=size,
            seconds=seconds,
            attempts=self.attempts,
            retries=self.retries,
        )
        if not self.engine.options.dry_run:
            delivery = self._delivery(planned, package, started, layout, moment)
            self.engine.record(planned, delivery)
        self.engine.done(outcome)
        return outcome

    def _delivery(
        self,
        planned: PlannedAction,
        package: Package,
        started: dt.datetime,
        layout: list[tuple[str, PackageFile]],
        moment: dt.datetime,
    ) -> Delivery:
        return Delivery(
            message_id=package.message_id,
            action=planned.action,
            commit=self.context.commit,
            format=package.format,
            files=[SentFile(name=f.name, bytes=f.size, md5=f.md5) for f in package.files],
            location=self._location(layout, package),
            started=started,
            finished=_now(),
            attempts=self.attempts,
            status="success",
            fingerprint=package.fingerprint,
            inputs=planned.inputs,
            renderer=renderer_digest(),
            remote=self.remote_facts.get(_message_path(layout, package), {}),
            placed_at=moment,
            resend=planned.resend,
            reason=planned.resend_reason,
        )

    def _fail(
        self,
        planned: PlannedAction,
        package: Package | None,
        started: dt.datetime,
        error: str,
        attempts: int,
        stage: str,
        placed_at: dt.datetime | None = None,
    ) -> Outcome:
        outcome = Outcome(
            planned.upc, self.name, planned.action, "failed", error, attempts=attempts, stage=stage
        )
        if not self.engine.options.dry_run:
            delivery = Delivery(
                message_id=package.message_id if package else "",
                action=planned.action,
                commit=self.context.commit,
                format=self._format(package),
                files=[SentFile(name=f.name, bytes=f.size, md5=f.md5) for f in package.files]
                if package
                else [],
                started=started,
                finished=_now(),
                attempts=attempts,
                status="failed",
                error=error,
                fingerprint=package.fingerprint if package else "",
                placed_at=placed_at,
                resend=planned.resend,
                reason=planned.resend_reason,
            )
            self.engine.record(planned, delivery)
        self.engine.done(outcome)
        return outcome


def _already_delivered(receipt: Receipt | None, planned: PlannedAction, package: Package) -> bool:
    """Whether the receipt's last successful delivery is this very one (the same content
    left live, or a takedown after a takedown)."""
    last_ok = receipt.last_success() if receipt else None
    if last_ok is None:
        return False
    if planned.action == "takedown" or last_ok.action == "takedown":
        return planned.action == last_ok.action
    return last_ok.fingerprint == package.fingerprint


def _message_path(layout: list[tuple[str, PackageFile]], package: Package) -> str:
    return next((remote for remote, file in layout if file is package.message), "")


def describe_outcome(outcome: Outcome) -> str:
    """One log line for a finished delivery."""
    where = f"{outcome.upc} -> {outcome.target} ({outcome.action})"
    if outcome.status == "failed":
        return f"FAILED    {where}: {outcome.error}"
    if outcome.status == "skipped":
        return f"skipped   {where}: {outcome.error}"
    size = f"{outcome.files} files, {outcome.bytes / 1_000_000:.1f} MB"
    verb = "rendered " if outcome.status == "rendered" else "delivered"
    retries = f", {outcome.retries} retries" if outcome.retries else ""
    return f"{verb} {where}: {size}, {outcome.seconds:.1f} s{retries}"


def is_interactive() -> bool:
    """Rich progress on a terminal; plain lines in CI logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")
