"""Git access through the git command line: diffs, files at any revision, commits and pushes.

One ``git`` process per question, never one per file: ``git diff --name-status -z`` for what
changed, ``git ls-tree -r -z`` to list a folder at a revision and ``git cat-file --batch`` to read
any number of files in one process, so a 10,000-release repository is read in well under a second.
Renames are reported as a deletion and an addition (``--no-renames``); the plan matches releases by
UPC, not by path, so a moved file is simply the same release.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from stardust_git.errors import UserError
from stardust_git.fileio import too_large

ZERO_COMMIT = "0" * 40
WORKTREE = None
"""The ``head`` that means "the working tree" (files on disk, uncommitted changes included)."""


class GitError(UserError):
    """A git command failed."""


@dataclass(frozen=True)
class Change:
    """One path that differs between two trees: A(dded), M(odified), D(eleted), T(ype change)."""

    status: str
    path: str


@dataclass(frozen=True)
class DiffRange:
    """Which commits a diff compares, after resolving force pushes; ``base`` None: everything."""

    base: str | None
    head: str | None
    note: str = ""


class Git:
    """The git repository at ``root`` (any folder inside a work tree)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirty: dict[tuple[str, ...], dict[str, str]] = {}

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        command = ["git", "-c", "core.quotepath=off", *args]
        merged_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
        early = None if input is not None or env else _STARTED.pop((str(self.root), args), None)
        try:
            if early is not None:
                stdout, stderr = early.communicate()
                done = subprocess.CompletedProcess(command, early.returncode, stdout, stderr)
            else:
                done = subprocess.run(
                    command,
                    cwd=self.root,
                    input=input,
                    capture_output=True,
                    env=merged_env,
                    check=False,
                )
        except FileNotFoundError:
            raise GitError("git is not installed (needed to read the catalog's history)") from None
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
        return done

    def text(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "replace").strip()

    def is_repository(self) -> bool:
        done = self.run("rev-parse", "--is-inside-work-tree", check=False)
        return done.returncode == 0 and done.stdout.strip() == b"true"

    def resolve(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None when it names none."""
        done = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def commit_of(self, rev: str) -> str:
        """The commit id of ``rev``; a UserError when there is none."""
        commit = self.resolve(rev)
        if commit is None:
            raise GitError(f"'{rev}' is not a commit in this repository")
        return commit

    def committed_at(self, rev: str) -> dt.datetime:
        """The committer time of ``rev`` in UTC."""
        seconds = int(self.text("show", "-s", "--format=%ct", self.commit_of(rev)))
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        done = self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return done.returncode == 0

    def merge_base(self, first: str, second: str) -> str | None:
        done = self.run("merge-base", first, second, check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def diff_range(self, base: str | None, head: str | None) -> DiffRange:
        """Resolve ``base``..``head`` into commits, coping with rewritten history.

        A base that is not an ancestor of head (a force push) is replaced by their merge base; a
        base with no common history, or one this clone does not have, means "examine everything".
        """
        head_commit = self.commit_of(head) if head else None
        if not base or base == ZERO_COMMIT:
            return DiffRange(None, head_commit, "no base revision: examined every release")
        base_commit = self.resolve(base)
        if base_commit is None:
            note = f"base {base} is not in this repository: examined every release"
            return DiffRange(None, head_commit, note)
        tip = head_commit or self.resolve("HEAD")
        if tip is None or self.is_ancestor(base_commit, tip):
            return DiffRange(base_commit, head_commit)
        common = self.merge_base(base_commit, tip)
        if common is None:
            note = f"base {base[:12]} shares no history with head: examined every release"
            return DiffRange(None, head_commit, note)
        note = (
            f"base {base[:12]} is not an ancestor of head (history rewritten): "
            f"compared from their merge base {common[:12]}"
        )
        return DiffRange(common, head_commit, note)

    def changed_files(self, base: str, head: str | None, paths: Sequence[str] = ()) -> list[Change]:
        """Paths that differ between commit ``base`` and ``head`` (None: the working tree).

        Against the working tree: the commits from base to HEAD, plus whatever ``git status``
        reports (untracked files included), in one scan of the working tree.
        """
        args = ["diff", "--name-status", "--no-renames", "-z", base, head or "HEAD"]
        output = self.run(*args, "--", *paths).stdout.decode("utf-8", "surrogateescape")
        fields = output.split("\0")
        changes = {fields[i + 1]: fields[i][:1] for i in range(0, len(fields) - 1, 2)}
        if head is None:
            changes.update(self.worktree_changes(paths or ["."]))
        return [Change(status, path) for path, status in sorted(changes.items())]

    def list_files(self, rev: str, prefix: str) -> list[str]:
        """Every file path under folder ``prefix`` at ``rev`` (recursively), sorted."""
        output = self.run("ls-tree", "-r", "-z", "--name-only", rev, "--", prefix).stdout
        return sorted(p for p in output.decode("utf-8", "surrogateescape").split("\0") if p)

    def read_files(self, rev: str, paths: Iterable[str]) -> dict[str, bytes]:
        """The content of each of ``paths`` at ``rev`` (missing ones are left out), one process."""
        wanted = list(dict.fromkeys(paths))
        found = self.read_objects([f"{rev}:{path}" for path in wanted])
        return {path: found[f"{rev}:{path}"] for path in wanted if f"{rev}:{path}" in found}

    def read_objects(
        self,
        specs: Iterable[str],
        limit: int | None = None,
        refused: dict[str, str] | None = None,
    ) -> dict[str, bytes]:
        """Blobs named ``rev:path`` (any mix of revisions), read by one ``git cat-file --batch``.

        Symbolic links inside the repository are followed, as in a checkout. A blob over ``limit``
        bytes is skipped unread, as is anything that is not a file; ``refused`` gets why.
        """
        wanted = list(dict.fromkeys(specs))
        found: dict[str, bytes] = {}
        if not wanted:
            return found
        request = "".join(f"{spec}\n" for spec in wanted).encode("utf-8", "surrogateescape")
        why_not = refused if refused is not None else {}
        with self._cat_file(request) as output:
            for spec in wanted:
                data = _next_object(output, limit, why_not, spec)
                if data is not None:
                    found[spec] = data
        return found

    @contextlib.contextmanager
    def _cat_file(self, request: bytes) -> Iterator[IO[bytes]]:
        """The output of ``git cat-file --batch`` over ``request``, streamed (blobs may be big)."""
        command = ["git", "-c", "core.quotepath=off", "cat-file", "--batch", "--follow-symlinks"]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        try:
            process = subprocess.Popen(
                command,
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (needed to read the catalog's history)") from None
        assert process.stdin and process.stdout and process.stderr
        # A writer thread: git answers while it reads, and a full pipe would block both sides.
        writer = threading.Thread(target=_feed, args=(process.stdin, request), daemon=True)
        writer.start()
        try:
            yield process.stdout
        finally:
            process.stdout.close()
            writer.join()
            problem = process.stderr.read().decode("utf-8", "replace").strip()
            process.stderr.close()
            if process.wait() != 0 and problem:
                raise GitError(f"git cat-file failed: {problem.splitlines()[-1]}")

    def read_file(self, rev: str, path: str) -> bytes | None:
        return self.read_files(rev, [path]).get(path)

    def blob_ids(self, commit: str | None, paths: Sequence[str] | None = None) -> dict[str, str]:
        """path -> blob id at ``commit`` (None: in the index), of ``paths`` (None: every file)."""
        chunks = (
            [None] if paths is None else [paths[i : i + 500] for i in range(0, len(paths), 500)]
        )
        ids: dict[str, str] = {}
        for chunk in chunks:
            spec = ["--", *chunk] if chunk is not None else []
            if commit:
                output = self.run("ls-tree", "-r", "-z", "--full-tree", commit, *spec).stdout
                oid = 2  # <mode> blob <oid>\t<path>
            else:
                output = self.run("ls-files", "-s", "-z", *spec).stdout
                oid = 1  # <mode> <oid> <stage>\t<path>
            for entry in output.decode("utf-8", "surrogateescape").split("\0"):
                if "\t" in entry:
                    info, path = entry.split("\t", 1)
                    ids[path] = info.split(" ")[oid]
        return ids

    def current_branch(self) -> str | None:
        done = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def dirty_paths(self, paths: Sequence[str]) -> list[str]:
        """Tracked files under ``paths`` with uncommitted changes, and untracked ones."""
        return list(self.worktree_changes(paths))

    def differing_from_head(self, folder: str) -> set[str]:
        """Every path under ``folder`` that differs from HEAD: changed, staged, deleted,
        untracked or ignored. Three git commands at once (the work tree's lstat of every tracked
        file is most of a one-file validate's git time); it may name a few that do not differ
        (staged, then changed back; a file touched but not changed), never miss one."""
        commands = differing_from_head_commands(folder)
        with started_early(self.root, commands, one_thread=False):
            changed, staged, untracked = (names_of(self.run(*args).stdout) for args in commands)
        if len(changed) > REFRESH_ABOVE:  # the index's stat data is stale: refresh it once
            self.run("update-index", "-q", "--refresh", check=False)
            changed = names_of(self.run(*commands[0]).stdout)
        return changed | staged | untracked

    def worktree_changes(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> A, M or D for what ``git status`` reports under ``paths`` against HEAD.

        Remembered per instance: a plan asks more than once and the scan is the slow part.
        """
        key = tuple(sorted(set(paths)))
        if key not in self._dirty and (wider := self._covering(key)) is not None:
            return {p: s for p, s in self._dirty[wider].items() if _under(p, key)}
        if key not in self._dirty:
            args = ["status", "--porcelain", "-z", "--no-renames", "--untracked-files=all"]
            output = self.run(*args, "--", *key).stdout.decode("utf-8", "surrogateescape")
            self._dirty[key] = {
                entry[3:]: _status_letter(entry[:2])
                for entry in output.split("\0")
                if len(entry) > 3
            }
        return self._dirty[key]

    def _covering(self, key: tuple[str, ...]) -> tuple[str, ...] | None:
        """A scan already made whose folders hold every path of ``key`` (filtered, not run
        again: on a large working tree each scan stats every file)."""
        return next((k for k in self._dirty if all(_under(p, k) for p in key)), None)

    def tree_id(self, commit: str, folder: str) -> str | None:
        """The id of the tree ``folder`` is at ``commit`` (None: no such folder)."""
        done = self.run("rev-parse", "--verify", "--quiet", f"{commit}:{folder}", check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def object_exists(self, oid: str) -> bool:
        return self.run("cat-file", "-e", oid, check=False).returncode == 0


def differing_from_head_commands(folder: str) -> tuple[tuple[str, ...], ...]:
    """The git commands :meth:`Git.differing_from_head` runs: the work tree against the index,
    the index against HEAD (staged), and every untracked file, ignored ones included (no
    exclude option). One ``git status`` does the same one after another, and refreshes the
    index first."""
    return (
        ("diff-files", "--name-only", "-z", "--no-renames", "--", folder),
        ("diff-index", "--cached", "--name-only", "-z", "--no-renames", "HEAD", "--", folder),
        ("ls-files", "--others", "-z", "--", folder),
    )


REFRESH_ABOVE = 256
"""More files than this differing from the index (a checkout that rewrote every file, a copy
that changed every mtime) means its stat data is stale: it is refreshed once, as git status
would, so later runs do not read every file again."""


def names_of(output: bytes) -> set[str]:
    """The paths of git's ``-z`` output (NUL-separated names)."""
    return {name for name in output.decode("utf-8", "surrogateescape").split("\0") if name}


_STARTED: dict[tuple[str, tuple[str, ...]], subprocess.Popen[bytes]] = {}
"""Git commands started ahead of time, by (root, arguments): the first :meth:`Git.run` of the
same command in this process takes its output instead of starting another."""


@contextlib.contextmanager
def started_early(
    root: Path, commands: Sequence[tuple[str, ...]], one_thread: bool = True
) -> Iterator[None]:
    """Run each git command of ``commands`` in ``root`` in the background while the body runs
    (a one-file validate starts git's scan of the work tree before importing the models and
    checks: the second core does it meanwhile). Whatever the body did not take is waited for at
    the end (never killed: a killed git could leave its ``index.lock`` behind). A command
    already started is not started again.

    Each runs one thread (unless ``one_thread`` is false: nothing to run beside, as in a warm
    server's child, which has its imports): git's preload of the index otherwise lstats in up
    to 20 threads, which on two cores starve the one Python thread it is meant to run beside."""
    keys = [(str(root), args) for args in commands if (str(root), args) not in _STARTED]
    preload = "false" if one_thread else "true"
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    for key in keys:
        command = ["git", "-c", "core.quotepath=off", "-c", f"core.preloadIndex={preload}"]
        try:
            _STARTED[key] = subprocess.Popen(
                [*command, *key[1]],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment,
            )
        except OSError:  # no git: the body's own run says so, in its own words
            break
    try:
        yield
    finally:
        for key in keys:
            left = _STARTED.pop(key, None)
            if left is not None:
                left.communicate()


_NOT_FOLLOWED = {
    b"symlink": "a symbolic link out of the repository",
    b"dangling": "a symbolic link to nothing",
    b"loop": "a loop of symbolic links",
    b"notdir": "a symbolic link through a file",
}
_COPY_CHUNK = 1 << 20


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, ValueError):  # git stopped early: its exit status tells why
        return


def _next_object(
    output: IO[bytes], limit: int | None, refused: dict[str, str], spec: str
) -> bytes | None:
    """The next answer of ``cat-file --batch``: the blob's bytes, or None (``refused`` says why
    when there was something there). Unwanted contents are skipped in bounded chunks."""
    header = output.readline().rstrip(b"\n").split(b" ")
    if len(header) == 2 and header[0] in _NOT_FOLLOWED:
        _skip(output, int(header[1]) + 1)
        refused[spec] = f"not a regular file: {_NOT_FOLLOWED[header[0]]}; not read"
        return None
    if len(header) != 3 or header[-1] in (b"missing", b"ambiguous"):
        return None
    size = int(header[2])
    if header[1] != b"blob":
        _skip(output, size + 1)
        kind = "a directory" if header[1] == b"tree" else f"a git {header[1].decode()}"
        refused[spec] = f"not a regular file: {kind}; not read"
        return None
    if limit is not None and size > limit:
        _skip(output, size + 1)
        refused[spec] = too_large(size, limit)
        return None
    data = output.read(size)
    output.read(1)
    return data


def _skip(output: IO[bytes], count: int) -> None:
    while count > 0:
        chunk = output.read(min(count, _COPY_CHUNK))
        if not chunk:
            return
        count -= len(chunk)


def _under(path: str, folders: Sequence[str]) -> bool:
    """Whether a pathspec of ``folders`` (plain paths, "." for all) takes ``path``."""
    return any(f in (".", path) or path.startswith(f.rstrip("/") + "/") for f in folders)


def _status_letter(code: str) -> str:
    if "D" in code:
        return "D"
    return "A" if code in ("??", "A ", "AM") else "M"


def has_identity(git: Git) -> bool:
    done = git.run("config", "user.email", check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


BOT_IDENTITY = {
    "GIT_AUTHOR_NAME": "stardust-git",
    "GIT_AUTHOR_EMAIL": "stardust-git@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "stardust-git",
    "GIT_COMMITTER_EMAIL": "stardust-git@users.noreply.github.com",
}


def commit_paths(git: Git, paths: Sequence[str], message: str) -> str | None:
    """Commit exactly ``paths`` (added, changed or removed); the new commit id, or None when
    nothing changed. Paths go to git on stdin: a run may write tens of thousands."""
    folders = sorted({p.split("/", 1)[0] for p in paths})
    listed = git.run("ls-files", "-z", "--", *folders).stdout.decode("utf-8", "surrogateescape")
    tracked = set(listed.split("\0"))
    wanted = [p for p in dict.fromkeys(paths) if p in tracked or (git.root / p).exists()]
    if not wanted:
        return None
    spec = "".join(f"{p}\0" for p in wanted).encode("utf-8", "surrogateescape")
    from_stdin = ("--pathspec-from-file=-", "--pathspec-file-nul")
    git.run("add", "--all", *from_stdin, input=spec)
    staged = git.run("diff", "--cached", "--name-only", "-z").stdout.decode(
        "utf-8", "surrogateescape"
    )
    if not set(staged.split("\0")) & set(wanted):
        return None
    env = {} if has_identity(git) else BOT_IDENTITY
    git.run("commit", "--quiet", "--no-verify", "-m", message, *from_stdin, input=spec, env=env)
    return git.commit_of("HEAD")


Resolver = Callable[[str, bytes | None, bytes | None], bytes | None]
"""Merges a conflicted file: (path, upstream version, our version) -> merged content or None."""

PUSH_TRIES = 5
_REJECTED = ("[rejected]", "fetch first", "non-fast-forward", "failed to push", "stale info")


def push_with_retry(
    git: Git, remote: str, branch: str, resolve: Resolver, tries: int = PUSH_TRIES
) -> int:
    """Push HEAD to ``remote``/``branch``; when the remote moved, fetch, rebase and try again.

    Conflicts during the rebase are handed to ``resolve`` (receipts merge their histories);
    a conflict it cannot resolve aborts the rebase. Returns the number of push attempts.
    """
    for attempt in range(1, tries + 1):
        done = git.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
        if done.returncode == 0:
            return attempt
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        if not any(sign in output for sign in _REJECTED) or attempt == tries:
            last = output.strip().splitlines()[-1:] or ["(no output)"]
            raise GitError(f"git push to {remote}/{branch} failed after {attempt} tries: {last[0]}")
        git.run("fetch", "--quiet", remote, branch)
        rebase_onto(git, "FETCH_HEAD", resolve)
        time.sleep(random.uniform(0.05, 0.25) * attempt)
    raise AssertionError("unreachable")


def sync_with_remote(git: Git, remote: str, branch: str, resolve: Resolver) -> str:
    """Bring HEAD up to ``remote``/``branch`` before planning, so receipts pushed by an earlier
    run are seen; local commits are rebased on top. Returns what happened, for the log."""
    done = git.run("fetch", "--quiet", remote, branch, check=False)
    if done.returncode != 0:
        return f"could not fetch {remote}/{branch}: planning from the local checkout"
    upstream = git.commit_of("FETCH_HEAD")
    local = git.commit_of("HEAD")
    if upstream == local or git.is_ancestor(upstream, local):
        return "up to date"
    if git.is_ancestor(local, upstream):
        git.run("merge", "--ff-only", "--quiet", upstream)
        return f"fast-forwarded to {remote}/{branch} ({upstream[:12]})"
    rebase_onto(git, upstream, resolve)
    return f"rebased onto {remote}/{branch} ({upstream[:12]})"


def rebase_onto(git: Git, upstream: str, resolve: Resolver) -> None:
    env = {"GIT_EDITOR": "true", **({} if has_identity(git) else BOT_IDENTITY)}
    done = git.run("rebase", "--quiet", upstream, check=False, env=env)
    while done.returncode != 0:
        conflicted = _conflicted(git)
        if not conflicted:
            git.run("rebase", "--abort", check=False)
            raise GitError(f"git rebase onto {upstream[:12]} failed")
        for path in conflicted:
            merged = resolve(path, _stage(git, 2, path), _stage(git, 3, path))
            if merged is None:
                git.run("rebase", "--abort", check=False)
                raise GitError(f"cannot rebase: {path} changed on both sides")
            (git.root / path).write_bytes(merged)
            git.run("add", "--", path)
        done = git.run("rebase", "--continue", check=False, env=env)


def _conflicted(git: Git) -> list[str]:
    output = git.run("diff", "--name-only", "--diff-filter=U", "-z").stdout
    return [p for p in output.decode("utf-8", "surrogateescape").split("\0") if p]


def _stage(git: Git, stage: int, path: str) -> bytes | None:
    done = git.run("show", f":{stage}:{path}", check=False)
    return done.stdout if done.returncode == 0 else None
