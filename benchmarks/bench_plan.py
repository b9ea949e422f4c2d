"""Benchmark: `stardust-git plan` on a 10,000-release repository.

Builds a catalog of N releases (benchmarks/generate_catalog.py when present, else the small
generator below), delivers all of it once into a local target so every release has a receipt,
edits one release's title, then times, as wall clock of the real CLI:

- ``deliver --all --dry-run`` before anything is delivered: every release rendered and gated,
  nothing sent; its wall time and peak RSS (issue 15: memory flat in catalog size)
- ``plan --base HEAD~1``: one changed release (target: under 2 s; under 1 s at 100,000), on
  the work tree and with ``--head HEAD`` (as the workflows run it: git reads trees)
- ``plan --all``: every release examined against its receipts (target: under 30 s; under 60 s
  at 100,000)

each three times; the median is reported (the machine may be shared), with the peak RSS of the
largest process of each command (target: under 1.5 GiB).

Results go to benchmarks/results/plan.json (plan-<N>.json for other sizes than 10,000).

    python benchmarks/bench_plan.py [--releases 10000] [--keep DIR]

With --keep DIR a repository already built there for the same size (delivered, one title
edited) is reused. Building delivers every release with deliver's own engine in two shards at
once, the local target's copies discarded (delivered_repo.py); the dry run and those deliveries
leave out the duplicate-recordings check (without_duplicates.py: the media are shared).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from peakrss import measure
from stdnum import ean

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "plan.json"
TARGETS = {"one-change": 2.0, "all": 30.0}
LARGE_TARGETS = {"one-change": 1.0, "all": 60.0}
"""From 100,000 releases (issue 15)."""
LARGE = 100_000
TARGET_PEAK_RSS_MIB = 1536
BUILT_MARKER = ".bench-plan-built"
WORKERS = 2
"""Shards delivering at once while building (one per core)."""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00Z",
}
"""Fixed dates: the same catalog commits to the same ids in every repository built."""
TARGET_YAML = """\
format: ern
ern_version: "4.3"
sender: {party_id: PADPIDA2025110101D, name: Bench Records}
recipient: {party_id: PADPIDA2025110102B, name: Bench Outbox}
message_control_type: TestMessage
delivery:
  protocol: local
  directory: outbox/bench
"""


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def upc_of(index: int) -> str:
    body = f"9{index:011d}"
    return body + ean.calc_check_digit(body)


def release_text(index: int, upc: str) -> str:
    tracks = "".join(
        f"""  - isrc: QZBEN{(index * 2 + n) % 100:02d}{(index * 2 + n) // 100:05d}
    title: Track {n + 1} of Release {index}
    duration: 3
    audio: assets/shared/0{n + 1}.wav
"""
        for n in range(2)
    )
    return f"""upc: "{upc}"
title: Release {index}
artists:
  - {{name: Artist {index % 997}, role: MainArtist}}
label: Bench Records
release_date: 2024-07-01
genre: ELECTRONIC
language: en
p_line: {{year: 2024, owner: Bench Records}}
c_line: {{year: 2024, owner: Bench Records}}
cover: assets/shared/cover.jpg
tracks:
{tracks}deals:
  - territories: [Worldwide]
    commercial_models: [SubscriptionModel]
    use_types: [OnDemandStream]
    start_date: 2024-07-01
targets: [bench]
"""


def fallback_generate(root: Path, n: int) -> list[str]:
    """Releases sharing one small set of assets (hashing real per-release audio is not the
    point here; the asset module caches each file's MD5)."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.media import write_jpeg, write_wav

    write_jpeg(root / "assets" / "shared" / "cover.jpg", size=1400)
    for n_track in (1, 2):
        write_wav(root / "assets" / "shared" / f"0{n_track}.wav", seconds=3.0, seed=n_track)
    paths = []
    for index in range(n):
        upc = upc_of(index)
        relative = f"catalog/label-{index % 50:02d}/{upc}.yaml"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(release_text(index, upc), encoding="utf-8")
        paths.append(relative)
    return paths


ASSET_LINE = re.compile(r"(?m)^\s*-?\s*(?:cover|audio): (assets/\S+)$")
"""A release file's asset paths (one per line in the generated files; no YAML parse needed)."""
LINKS_PER_ORIGINAL = 60_000
"""Hard links made to one original (ext4 allows 65,000 to an inode)."""


def write_media(root: Path) -> None:
    """Every referenced asset, as a hard link to an original per file name and format (a
    release's tracks hold different recordings: the gate finds one recording under two ISRCs;
    a new copy of an original every LINKS_PER_ORIGINAL links)."""
    _durations_of_the_media(root, seconds=3)
    links: dict[str, int] = {}
    for path in sorted((root / "catalog").rglob("*.yaml")):
        for asset in ASSET_LINE.findall(path.read_text(encoding="utf-8")):
            target = root / asset
            if target.exists():
                continue
            name = target.name
            links[name] = links.get(name, 0) + 1
            original = _original(root, name, links[name] // LINKS_PER_ORIGINAL)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(original, target)


def _original(root: Path, name: str, copy: int) -> Path:
    """``.media/<copy>/<name>``, written on first use: a distinct recording per track number."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.media import write_flac, write_jpeg, write_mp3, write_wav

    original = root / ".media" / str(copy) / name
    if original.exists():
        return original
    original.parent.mkdir(parents=True, exist_ok=True)
    stem, suffix = Path(name).stem, Path(name).suffix
    seed = int(stem) if stem.isdigit() else 0
    writers = {
        ".jpg": lambda p: write_jpeg(p, size=3000),
        ".jpeg": lambda p: write_jpeg(p, size=3000),
        ".wav": lambda p: write_wav(p, seconds=3.0, seed=seed, freq=220.0 + 40 * seed),
        ".flac": lambda p: write_flac(p, seconds=3.0, seed=seed, freq=220.0 + 40 * seed),
        ".mp3": lambda p: write_mp3(p, seconds=3.0),
    }
    writers[suffix](original)
    return original


def _durations_of_the_media(root: Path, seconds: int) -> None:
    """Every track declares the length of the media written for it: deliver checks declared
    against decoded durations (the gate), and a realistic mix of lengths would need gigabytes."""
    for path in (root / "catalog").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^(\s+duration: ).*$", rf"\g<1>{seconds}", text))


def deliver_locally(root: Path) -> None:
    """Keep each target's rendering settings; deliver into outbox/<name> instead of a server."""
    import yaml

    for path in (root / "targets").glob("*.yaml"):
        target = yaml.safe_load(path.read_text(encoding="utf-8"))
        choreography = target["delivery"].get("choreography", "release-by-release")
        target["delivery"] = {
            "protocol": "local",
            "directory": f"outbox/{path.stem}",
            "choreography": choreography,
        }
        if target.pop("genre_strict", False):  # a strict map refuses some synthetic genres
            target.pop("genre_map", None)
        path.write_text(yaml.safe_dump(target, sort_keys=False), encoding="utf-8")


def generate(root: Path, n: int) -> str:
    """The shared generator when it exists, else ours; returns which one was used."""
    shared = BENCH_DIR / "generate_catalog.py"
    if shared.is_file():
        spec = importlib.util.spec_from_file_location("generate_catalog", shared)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["generate_catalog"] = module
        spec.loader.exec_module(module)
        module.generate(root, n, seed=0)
        write_media(root)
        deliver_locally(root)
        return "benchmarks/generate_catalog.py"
    fallback_generate(root, n)
    (root / "targets").mkdir(exist_ok=True)
    (root / "targets" / "bench.yaml").write_text(TARGET_YAML, encoding="utf-8")
    genres = (REPO_ROOT / "genre-maps" / "genres.yaml").read_text(encoding="utf-8")
    (root / "genre-maps").mkdir(exist_ok=True)
    (root / "genre-maps" / "genres.yaml").write_text(genres, encoding="utf-8")
    return "bench_plan.py fallback"


def snapshot_tool(workdir: Path) -> Path:
    """A copy of the package, taken now: the measured tool cannot change under the benchmark
    (in a shared checkout others edit the renderer, and new renderer code renders again)."""
    folder = workdir / "tool"
    shutil.copytree(
        REPO_ROOT / "stardust_git",
        folder / "stardust_git",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    return folder


def timed(root: Path, tool: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    seconds, _, done = measured(root, tool, *args)
    return seconds, done


def measured(
    root: Path, tool: Path, *args: str
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak RSS in MiB of the largest process (the command or one of its
    workers) and the finished command."""
    env = {**os.environ, "PYTHONPATH": str(tool)}
    run = measure(["stardust-git", *args], root, env)
    return run.wall_s, run.peak_rss_mib, run.done


def first_release(root: Path) -> Path:
    return min((root / "catalog").rglob("*.yaml"))


def build(root: Path, tool: Path, n: int, dry_run: bool) -> dict[str, object]:
    """The repository: ``n`` releases committed, a dry run of delivering all of them measured
    (unless ``dry_run`` is false), everything delivered with receipts committed
    (delivered_repo.py: deliver's engine in parallel shards, the local target's copies
    discarded), then one title edited and committed."""
    from delivered_repo import deliver_in_shards, edit_one_title
    from delivered_repo import generate_committed as generate_and_commit

    generate_and_commit(root, n)
    env = {**os.environ, "PYTHONPATH": str(tool)}
    built: dict[str, object] = {"generator": "benchmarks/generate_catalog.py"}
    if dry_run:
        built.update(measured_dry_run(root, env))
    delivered = deliver_in_shards(root, WORKERS, env)
    edit_one_title(root)
    built["deliver_all_seconds"] = round(float(delivered["seconds"]), 2)
    built["deliver_all_workers"] = WORKERS
    (root / BUILT_MARKER).write_text(json.dumps({"releases": n, **built}), encoding="utf-8")
    return built


def measured_dry_run(root: Path, env: dict[str, str]) -> dict[str, object]:
    """Wall time, CPU and peak RSS of ``deliver --all --dry-run`` before anything is delivered."""
    from delivered_repo import WITHOUT_DUPLICATES

    dry = measure([sys.executable, WITHOUT_DUPLICATES, "deliver", "--all", "--dry-run"], root, env)
    if dry.done.returncode != 0:
        raise SystemExit(f"deliver --all --dry-run failed:\n{dry.done.stderr[-3000:]}")
    return {
        "deliver_dry_run_seconds": round(dry.wall_s, 2),
        "deliver_dry_run_cpu_s": round(dry.cpu_s, 1),
        "deliver_dry_run_peak_rss_mib": round(dry.peak_rss_mib, 1),
    }


def built_before(root: Path, n: int) -> dict[str, object] | None:
    """What building the repository at ``root`` measured, if it was built for ``n`` releases."""
    try:
        built = json.loads((root / BUILT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return built if built.pop("releases", None) == n else None


def renderer_matches(root: Path, tool: Path) -> bool:
    """Whether the receipts in ``root`` name the renderer of ``tool``. A repository kept from an
    earlier build was delivered by another renderer: the first plan --all then renders every
    release again (the renderer changed) and fills the fingerprint cache; the runs after it
    do not. Measured numbers must say which of the two they are."""
    receipt = next((root / "receipts").glob("*/*.json"), None)
    if receipt is None:
        return True
    recorded = json.loads(receipt.read_text(encoding="utf-8"))["history"][-1].get("renderer", "")
    code = "from stardust_git.fingerprints import renderer_digest; print(renderer_digest())"
    env = {**os.environ, "PYTHONPATH": str(tool)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tool, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == recorded


def run(n: int, keep: Path | None, dry_run: bool = True) -> dict[str, object]:
    workdir = keep or Path(tempfile.mkdtemp(prefix="bench-plan-"))
    root = workdir / "catalog-repo"
    tool = snapshot_tool(workdir)
    built = built_before(root, n)
    if built is None:
        from delivered_repo import generated_before

        if not generated_before(root, n):  # a build stopped after generating resumes from it
            shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        built = build(root, tool, n, dry_run)
    receipts = sum(1 for _ in (root / "receipts").rglob("*.json"))
    same_renderer = renderer_matches(root, tool)
    one_runs = [measured(root, tool, "plan", "--base", "HEAD~1", "--format", "json") for _ in "123"]
    # As the workflows run it: git reads the commits' trees, not the work tree.
    head = ("plan", "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    head_runs = [measured(root, tool, *head) for _ in "123"]
    all_runs = [measured(root, tool, "plan", "--all", "--format", "json") for _ in "123"]
    one_seconds, one_rss, one = sorted(one_runs, key=lambda run: run[0])[1]  # median of three
    head_seconds, head_rss, at_head = sorted(head_runs, key=lambda run: run[0])[1]
    all_seconds, all_rss, every = sorted(all_runs, key=lambda run: run[0])[1]
    targets = LARGE_TARGETS if n >= LARGE else TARGETS
    peak_rss = max(run[1] for run in one_runs + head_runs + all_runs)
    runs = (("plan --base HEAD~1", one), ("plan --base HEAD~1 --head HEAD", at_head))
    for name, done in (*runs, ("plan --all", every)):
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    one_actions = json.loads(one.stdout)["actions"]
    all_actions = json.loads(every.stdout)["actions"]
    assert len(one_actions) == 1 and one_actions[0]["action"] == "update", one_actions
    assert json.loads(at_head.stdout)["actions"] == one_actions, "the commit holds the one edit"
    assert all_actions == one_actions, "plan --all must find exactly the one edited release"
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "releases": n,
        "receipts": receipts,
        "receipts_name_this_renderer": same_renderer,
        **built,
        "plan_one_change_seconds": round(one_seconds, 2),
        "plan_one_change_head_seconds": round(head_seconds, 2),
        "plan_all_seconds": round(all_seconds, 2),
        "plan_one_change_peak_rss_mib": round(one_rss, 1),
        "plan_one_change_head_peak_rss_mib": round(head_rss, 1),
        "plan_all_peak_rss_mib": round(all_rss, 1),
        "runs_seconds": {
            "plan_one_change": [round(run[0], 2) for run in one_runs],
            "plan_one_change_head": [round(run[0], 2) for run in head_runs],
            "plan_all": [round(run[0], 2) for run in all_runs],
        },
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        "targets_seconds": {"plan_one_change": targets["one-change"], "plan_all": targets["all"]},
        "target_peak_rss_mib": TARGET_PEAK_RSS_MIB,
        "plan_one_change_head_within_target": head_seconds < targets["one-change"],
        "within_targets": one_seconds < targets["one-change"]
        and all_seconds < targets["all"]
        and peak_rss < TARGET_PEAK_RSS_MIB,
        "repository": str(root) if keep else "(deleted)",
        "workdir": str(workdir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None, help="build the repository here")
    parser.add_argument(
        "--no-dry-run",
        action="store_true",
        help="build without measuring deliver --all --dry-run (bench_dry_run.py measures it)",
    )
    args = parser.parse_args(argv)
    result = run(args.releases, args.keep, dry_run=not args.no_dry_run)
    if args.keep is None:
        shutil.rmtree(Path(str(result.pop("workdir"))), ignore_errors=True)
    results = (
        RESULTS if args.releases == 10_000 else RESULTS.with_name(f"plan-{args.releases}.json")
    )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["within_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
