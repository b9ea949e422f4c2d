"""Benchmark ERN rendering and XSD validation of a 12-track album, per ERN version.

    python benchmarks/bench_render.py [--runs 500] [--catalog 10000] [--compare-npm]

Renders the example catalog's 12-track album (catalog/the-meridians/longitude.yaml, real FLAC
and JPEG assets) for a target of each ERN version and reports the median time of:
render (``render_message``: the message bytes), package (``render_package``: bytes, resource
list, fingerprint), validate (``xsd.validate_xml`` of the bytes: parse + XSD) and rules
(``rules.check_message`` on the parsed tree). Targets: render <= 1 ms, validate <= 2 ms.
Results go to benchmarks/results/render.json and a table is printed; the exit status is 1 when
a target is missed. Schemas come from STARDUST_XSD_DIR (default: ../shared/ddex-xsd).

``--catalog N`` also validates a synthetic catalog of N releases (benchmarks/generate_catalog.py)
whose releases all go to two ERN targets (spotify 4.3, tidal 4.2), with the render check on and
the asset checks off: every release is rendered twice, XSD-validated and rule-checked. Its audio
and covers are symlinks to one tiny FLAC and one JPEG. Target: under 60 s on 2 cores.

``--compare-npm`` builds the same album (titles, ISRCs, discs, label, UPC) with the npm
``ddex-builder`` package (node_modules/, needs node) and reports its median build time beside
ours, whether two builds are identical, and how many XSD errors its ERN 4.3 output has. It
writes far less than we do (no parties, technical details, deals), so the ratio flatters it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "render.json"
os.environ.setdefault("STARDUST_XSD_DIR", str(PROJECT_ROOT.parent / "shared" / "ddex-xsd"))

from stardust_git import rules, xsd  # noqa: E402
from stardust_git.errors import Diagnostics  # noqa: E402
from stardust_git.models import Target  # noqa: E402
from stardust_git.render import RenderContext, render_message, render_package  # noqa: E402
from stardust_git.source.catalog import Catalog, load_catalog, validate_document  # noqa: E402
from stardust_git.source.yamlio import load_yaml_text  # noqa: E402
from stardust_git.validate import ValidationOptions, validate_catalog  # noqa: E402

ALBUM = "catalog/the-meridians/longitude.yaml"
VERSIONS = ("3.8.2", "4.2", "4.3")
TARGETS_MS = {"render": 1.0, "validate": 2.0}
CATALOG_TARGET_S = 60.0
CATALOG_DIR = BENCH_DIR / "results" / "tmp" / "render-catalog"
ERN_TARGETS = "targets: [spotify, tidal]"
CONTEXT = RenderContext(
    commit="1f2e3d4c5b6a79881726354453627180a9b8c7d6",
    committed_at=dt.datetime(2025, 11, 3, 14, 5, 9, tzinfo=dt.UTC),
)
TARGET_YAML = """\
format: ern
ern_version: "{version}"
sender: {{party_id: PADPIDA2025110101D, name: Indie Records}}
recipient: {{party_id: PADPIDA20251101063, name: Benchmark DSP}}
delivery: {{protocol: local, directory: outbox/bench}}
"""


def median_ms(action: Callable[[], object], runs: int) -> float:
    for _ in range(min(50, runs)):
        action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(runs: int) -> dict[str, dict[str, float]]:
    catalog = load_catalog(PROJECT_ROOT)
    return {version: measure_version(catalog, version, runs) for version in VERSIONS}


def measure_version(catalog: Catalog, version: str, runs: int) -> dict[str, float]:
    album = catalog.releases[ALBUM]
    name = f"bench-{version}"
    document = load_yaml_text(TARGET_YAML.format(version=version), f"targets/{name}.yaml")
    loaded = validate_document(document, Target, Diagnostics())
    assert loaded is not None
    catalog.targets[name] = loaded
    xml = render_message(catalog, album, name, "initial", CONTEXT)
    problems = xsd.validate_xml(xml, version)
    if problems:
        raise SystemExit(f"ERN {version}: the album does not validate: {problems[0]}")
    tree = xsd.parse_untrusted(xml)
    return {
        "render_ms": median_ms(
            lambda: render_message(catalog, album, name, "initial", CONTEXT), runs
        ),
        "package_ms": median_ms(
            lambda: render_package(catalog, album, name, "initial", CONTEXT), runs
        ),
        "validate_ms": median_ms(lambda: xsd.validate_xml(xml, version), runs),
        "rules_ms": median_ms(lambda: rules.check_message(tree), runs),
        "message_bytes": len(xml),
    }


def report(results: dict[str, dict[str, float]], runs: int) -> bool:
    print(f"12-track album, median of {runs} runs (ms)")
    print(f"{'ERN':<7}{'render':>9}{'package':>9}{'validate':>10}{'rules':>8}{'bytes':>9}")
    for version, row in results.items():
        print(
            f"{version:<7}{row['render_ms']:>9.3f}{row['package_ms']:>9.3f}"
            f"{row['validate_ms']:>10.3f}{row['rules_ms']:>8.3f}{int(row['message_bytes']):>9}"
        )
    missed = [
        f"ERN {version} {kind} {row[f'{kind}_ms']:.3f} ms > {limit} ms"
        for version, row in results.items()
        for kind, limit in TARGETS_MS.items()
        if row[f"{kind}_ms"] > limit
    ]
    for line in missed:
        print(f"target missed: {line}")
    print("targets: render <= 1 ms, validate <= 2 ms:", "met" if not missed else "MISSED")
    return not missed


# --- a whole synthetic catalog ------------------------------------------------------------


def make_catalog(n: int) -> Path:
    sys.path.insert(0, str(BENCH_DIR))
    from generate_catalog import generate

    shutil.rmtree(CATALOG_DIR, ignore_errors=True)
    generate(CATALOG_DIR, n)
    media = _asset_writer()
    flac = media.write_flac(CATALOG_DIR / "assets/_media/track.flac", seconds=0.2)
    cover = media.write_jpeg(CATALOG_DIR / "assets/_media/cover.jpg", size=64)
    for path in sorted((CATALOG_DIR / "catalog").rglob("*.yaml")):
        text = re.sub(r"^targets: \[.*\]$", ERN_TARGETS, path.read_text(), flags=re.M)
        path.write_text(text)
        for asset in re.findall(r"^\s*-?\s*(?:audio|cover): (assets/\S+)$", text, flags=re.M):
            _link(CATALOG_DIR / asset, cover if asset.endswith(".jpg") else flac)
    return CATALOG_DIR


def _asset_writer():
    spec = importlib.util.spec_from_file_location(
        "make_example_assets", PROJECT_ROOT / "scripts" / "make_example_assets.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.symlink_to(os.path.relpath(target, path.parent))


def measure_catalog(n: int) -> dict[str, float | int | dict[str, int]]:
    root = make_catalog(n)
    timings = {}
    for render in (False, True):
        options = ValidationOptions(check_assets=False, check_render=render)
        start = time.perf_counter()
        report = validate_catalog(root, None, options)
        timings[render] = time.perf_counter() - start
    rules_seen: dict[str, int] = {}
    for diagnostic in report.errors:
        rules_seen[diagnostic.rule or "-"] = rules_seen.get(diagnostic.rule or "-", 0) + 1
    return {
        "releases": report.releases,
        "messages": 2 * report.releases,
        "validate_no_render_s": timings[False],
        "validate_with_render_s": timings[True],
        "render_check_s": timings[True] - timings[False],
        "errors_by_rule": rules_seen,
    }


def report_catalog(result: dict) -> bool:
    seconds = result["validate_with_render_s"]
    print(
        f"catalog: {result['releases']} releases x 2 ERN targets: validate with render "
        f"{seconds:.1f} s (without render {result['validate_no_render_s']:.1f} s; render "
        f"check {result['render_check_s']:.1f} s = "
        f"{1000 * result['render_check_s'] / max(1, result['messages']):.2f} ms/message)"
    )
    if result["errors_by_rule"]:
        print(f"catalog errors by rule: {result['errors_by_rule']}")
    met = seconds <= CATALOG_TARGET_S
    print(f"target: under {CATALOG_TARGET_S:.0f} s:", "met" if met else "MISSED")
    return met


# --- the npm ddex-builder, side by side -----------------------------------------------------

NODE_BENCH = """
const { DdexBuilder } = require('ddex-builder');
const album = JSON.parse(process.argv[1]);
async function build() {
  const builder = new DdexBuilder();
  for (const track of album.tracks) builder.addResource(track);
  builder.addRelease(album.release);
  return builder.build();
}
(async () => {
  const first = await build();
  const second = await build();
  const times = [];
  for (let i = 0; i < album.runs; i++) {
    const start = process.hrtime.bigint();
    await build();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({ median_ms: median, identical: first === second, xml: first }));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


def npm_album(catalog: Catalog, runs: int) -> dict:
    release = catalog.releases[ALBUM].model
    tracks = [
        {
            "resourceId": f"A{number}",
            "resourceType": "SoundRecording",
            "title": track.title,
            "artist": release.artists[0].name,
            "isrc": track.isrc,
            "duration": f"PT{round(track.duration)}S",
            "trackNumber": number,
            "volumeNumber": track.disc,
        }
        for number, track in enumerate(release.tracks, start=1)
    ]
    return {
        "runs": runs,
        "tracks": tracks,
        "release": {
            "releaseId": "R0",
            "releaseType": release.effective_release_type(),
            "title": release.title,
            "artist": release.artists[0].name,
            "label": release.label,
            "upc": release.upc,
            "releaseDate": str(release.release_date),
            "genre": "House",
            "trackIds": [t["resourceId"] for t in tracks],
        },
    }


def compare_npm(runs: int, ours_ms: float) -> dict | None:
    if shutil.which("node") is None or not (PROJECT_ROOT / "node_modules/ddex-builder").is_dir():
        print("npm ddex-builder: node or node_modules/ddex-builder missing; comparison skipped")
        return None
    album = npm_album(load_catalog(PROJECT_ROOT), runs)
    done = subprocess.run(
        ["node", "-e", NODE_BENCH, json.dumps(album)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"npm ddex-builder failed: {done.stderr.strip()[:300]}")
        return None
    result = json.loads(done.stdout)
    errors = xsd.validate_xml(result.pop("xml").encode("utf-8"), "4.3")
    result.update(xsd_errors=len(errors), ours_ms=ours_ms, ratio=result["median_ms"] / ours_ms)
    print(
        f"npm ddex-builder 0.4.5, same album as ERN 4.3: {result['median_ms']:.3f} ms "
        f"(ours {ours_ms:.3f} ms, {result['ratio']:.2f}x); two builds identical: "
        f"{result['identical']}; XSD errors: {result['xsd_errors']}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--catalog", type=int, default=0, help="also validate N releases")
    parser.add_argument("--compare-npm", action="store_true", help="also run npm ddex-builder")
    args = parser.parse_args(argv)
    gc.collect()
    results = measure(args.runs)
    met = report(results, args.runs)
    npm = compare_npm(args.runs, results["4.3"]["render_ms"]) if args.compare_npm else None
    catalog = measure_catalog(args.catalog) if args.catalog else None
    if catalog is not None:
        met = report_catalog(catalog) and met
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "render",
        "release": ALBUM,
        "tracks": 12,
        "runs": args.runs,
        "targets_ms": TARGETS_MS,
        "met": met,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "results": results,
        "catalog": catalog,
        "npm_ddex_builder": npm,
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results: {RESULTS_FILE.relative_to(PROJECT_ROOT)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
