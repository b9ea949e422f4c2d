"""The gate: validate, plan and deliver run the same checks, in real git repositories.

Each test puts the hostile input of issue 10 into a real catalog repository (tests/gitrepo.py)
and runs the real command line; what must not be sent is looked for in the local target's outbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git import checks
from stardust_git.receipts import read_receipt, retry_marker
from tests.gitrepo import REPO_ROOT, UPCS, Repo, make_catalog, write_assets
from tests.media import write_jpeg, write_mp3, write_wav

UPC, OTHER, THIRD = UPCS[0], UPCS[1], UPCS[2]


def cli(repo: Repo, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stardust_git", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def sent(repo: Repo, upc: str) -> list[str]:
    """Every file in the outbox whose path names ``upc`` (what reached the targets)."""
    outbox = repo.root / "outbox"
    if not outbox.is_dir():
        return []
    return sorted(str(p.relative_to(outbox)) for p in outbox.rglob("*") if upc in str(p))


def line_of(repo: Repo, path: str, text: str) -> int:
    lines = repo.read(path).splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


@pytest.fixture
def delivered(repo: Repo) -> Repo:
    """UPC delivered to alpha and beta, receipts committed."""
    repo.add_release(UPC)
    repo.commit("Add Summer Vibes")
    done = cli(repo, "deliver", "--all", "--commit")
    assert done.returncode == 0, done.stderr
    assert sent(repo, UPC)
    return repo


# --- one gate, no cycles -------------------------------------------------------------------


def test_render_imports_neither_validate_nor_the_gate() -> None:
    code = (
        "import sys, stardust_git.render, stardust_git.render.apple, "
        "stardust_git.render.ern_package\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('stardust_git.validate', 'stardust_git.checks'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_registry_is_explicit_and_each_check_says_what_it_needs() -> None:
    import stardust_git.validate  # noqa: F401  (importing must not add checks)

    names = [check.name for check in checks.RELEASE_CHECKS]
    assert names == [
        "references",
        "business-rules",
        "likely-mistakes",
        "assets",
        "audio-qc",
        "ern",
        "apple",
        "profiles",
    ]
    needs = {check.name: set(check.needs) for check in checks.RELEASE_CHECKS}
    assert needs["assets"] == {"assets"} and needs["business-rules"] == set()
    catalog_needs = {check.name: set(check.needs) for check in checks.CATALOG_CHECKS}
    assert catalog_needs["deleted-releases"] == {"history"}


def test_validate_no_render_still_reports_the_release_business_rules(repo: Repo) -> None:
    path = repo.add_release(UPC)
    text = repo.read(path).replace(
        "  - territories: [Worldwide]\n",
        "  - territories: [US, CA]\n    excluded_territories: [CA]\n",
    )
    repo.write(path, text)

    done = cli(repo, "validate", "--no-render", "--no-assets")

    assert done.returncode == 1
    line = line_of(repo, path, "    excluded_territories")
    assert (
        f"{path}:{line}:5: deals[0].excluded_territories: territories CA are both included and "
        "excluded [BR-TERR-001]"
    ) in done.stdout


# --- deliver runs the gate ---------------------------------------------------------------


def _corrupt_cover(repo: Repo, upc: str) -> None:
    cover = repo.root / "assets" / upc / "cover.jpg"
    data = cover.read_bytes()
    cover.write_bytes(data[: len(data) // 2])  # no end-of-image marker


def _truncated_audio(repo: Repo, upc: str) -> None:
    audio = repo.root / "assets" / upc / "01.wav"
    audio.write_bytes(audio.read_bytes()[:12000])


@pytest.mark.parametrize(
    ("spoil", "field", "message"),
    [
        (_corrupt_cover, "cover", "truncated JPEG: no end-of-image marker"),
        (
            _truncated_audio,
            "tracks[0].audio",
            "truncated WAV: header says 48044 bytes, file has 12000",  # 3 s at 8 kHz, 16-bit
        ),
    ],
)
def test_deliver_refuses_a_committed_broken_asset_and_retries_it_once_fixed(
    repo: Repo, spoil: object, field: str, message: str
) -> None:
    path = repo.add_release(UPC)
    repo.add_release(OTHER)
    spoil(repo, UPC)  # type: ignore[operator]
    repo.commit("Two releases, one with a broken asset")

    done = cli(repo, "deliver", "--all", "--commit")

    assert done.returncode == 1, done.stderr
    line = line_of(repo, path, "cover" if field == "cover" else "    audio")
    col = 1 if field == "cover" else 5
    assert f"{path}:{line}:{col}: {field}: {message}" in done.stderr
    assert "Traceback" not in done.stderr
    assert sent(repo, UPC) == []
    assert sent(repo, OTHER), "the other release goes on"
    for target in ("alpha", "beta"):
        receipt = read_receipt(repo.root, UPC, target)
        assert receipt is not None and receipt.last() is not None
        assert receipt.last().status == "failed"  # type: ignore[union-attr]
        assert f"{path}:{line}:{col}: {field}" in (receipt.last().error or "")  # type: ignore[union-attr]
        assert (repo.root / retry_marker(UPC, target)).is_file()
    assert repo.git("status", "--porcelain") == "", "the failed receipts were committed"

    write_assets_again(repo, UPC)
    repo.commit("Fix the asset")
    again = cli(repo, "deliver", "--commit")  # no --all: the retry markers bring it back

    assert again.returncode == 0, again.stderr
    assert sent(repo, UPC)
    assert read_receipt(repo.root, UPC, "alpha").last().status == "success"  # type: ignore[union-attr]


def write_assets_again(repo: Repo, upc: str) -> None:
    folder = repo.root / "assets" / upc
    write_jpeg(folder / "cover.jpg", size=1400, seed=int(upc[-4:]))
    write_wav(folder / "01.wav", seconds=3.0, rate=8000, seed=int(upc[-4:]))


def test_plan_reports_a_broken_asset_and_leaves_the_release_out(repo: Repo) -> None:
    path = repo.add_release(UPC)
    repo.add_release(OTHER)
    _truncated_audio(repo, UPC)
    repo.commit("Two releases")

    done = cli(repo, "plan", "--all", "--format", "json")

    assert done.returncode == 1
    planned = {(a["upc"], a["target"]) for a in json.loads(done.stdout)["actions"]}
    assert planned == {(OTHER, "alpha"), (OTHER, "beta")}
    line = line_of(repo, path, "    audio")
    assert f"problem: {path}:{line}:5: tracks[0].audio: truncated WAV" in done.stderr


def test_a_large_plan_still_places_the_gate_errors(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Release files parsed in worker processes come back without positions; the errors of the
    ones the gate stops are placed all the same."""
    from stardust_git.plan import compute_plan
    from stardust_git.source import catalog as source_catalog

    monkeypatch.setattr(source_catalog, "PARALLEL_FROM", 1)
    path = repo.add_release(UPC)
    repo.add_release(OTHER)
    _truncated_audio(repo, UPC)
    repo.commit("Two releases")

    plan = compute_plan(repo.root, all_=True, gate_packages=False)

    line = line_of(repo, path, "    audio")
    assert {(a.upc, a.target) for a in plan.blocked} == {(UPC, "alpha"), (UPC, "beta")}
    assert f"{path}:{line}:5: tracks[0].audio: truncated WAV" in plan.blocked[0].blocked
    assert {a.upc for a in plan.actions} == {OTHER}


def test_plan_leaves_out_a_package_that_fails_its_xsd(repo: Repo) -> None:
    beta = repo.read("targets/beta.yaml")
    repo.write("targets/beta.yaml", beta + "release_profile: NotAProfile\n")
    path = repo.add_release(UPC)
    repo.commit("A target whose messages do not validate")

    done = cli(repo, "plan", "--all", "--format", "json")

    assert done.returncode == 1
    planned = [(a["upc"], a["target"]) for a in json.loads(done.stdout)["actions"]]
    assert planned == [(UPC, "alpha")]
    assert f"problem: {path}:" in done.stderr and "target 'beta' (ERN 4.2)" in done.stderr


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_package_that_fails_its_xsd_is_not_sent(repo: Repo, dry_run: bool) -> None:
    beta = repo.read("targets/beta.yaml")
    repo.write("targets/beta.yaml", beta + "release_profile: NotAProfile\n")
    path = repo.add_release(UPC)
    repo.commit("A target whose messages do not validate")

    done = cli(repo, "deliver", "--all", *(["--dry-run"] if dry_run else []))

    assert done.returncode == 1
    assert f"{UPC} -> beta (initial): {path}:" in done.stderr
    assert "target 'beta' (ERN 4.2)" in done.stderr and "ReleaseProfileVersionId" in done.stderr
    if not dry_run:
        assert [p for p in sent(repo, UPC) if p.startswith("beta")] == []
        assert [p for p in sent(repo, UPC) if p.startswith("alpha")]
        assert read_receipt(repo.root, UPC, "beta").last().status == "failed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "env",
    [
        {"STARDUST_XSD_DIR": "EMPTY"},
        {"STARDUST_XSD_DIR": "", "XDG_CACHE_HOME": "EMPTY", "STARDUST_XSD_BASE_URL": "UNREACHABLE"},
    ],
    ids=["empty-xsd-dir", "unreachable-base-url"],
)
def test_deliver_sends_nothing_without_the_xsds(
    repo: Repo, tmp_path: Path, env: dict[str, str]
) -> None:
    empty = tmp_path / "no-xsd"
    empty.mkdir()
    values = {"EMPTY": str(empty), "UNREACHABLE": "http://127.0.0.1:9/", "": ""}
    repo.add_release(UPC)
    repo.add_release(OTHER)
    repo.commit("Two releases")

    done = cli(repo, "deliver", "--all", "--commit", env={k: values[v] for k, v in env.items()})

    assert done.returncode == 1
    assert "nothing was sent" in done.stderr and "XSD" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (repo.root / "outbox").exists()
    assert not (repo.root / "receipts").exists()


# --- catalog-level conflicts ---------------------------------------------------------------


def test_one_upc_in_two_files_blocks_both_everywhere(delivered: Repo) -> None:
    copy = "catalog/copy.yaml"
    delivered.write(copy, delivered.read(f"catalog/{UPC}.yaml").replace("Summer", "Winter"))
    delivered.commit("A second file with the same UPC")
    line = line_of(delivered, copy, "upc:")

    validated = cli(delivered, "validate", "--no-render")
    planned = cli(delivered, "plan", "--format", "json")
    done = cli(delivered, "deliver", "--commit")

    expected = f"{copy}:{line}:1: upc: UPC {UPC} is also used by catalog/{UPC}.yaml"
    assert validated.returncode == 1 and expected in validated.stdout
    assert planned.returncode == 1 and json.loads(planned.stdout)["actions"] == []
    assert expected in planned.stderr
    assert done.returncode == 1 and expected in done.stderr
    assert "give one of them its own UPC" in done.stderr
    receipt = read_receipt(delivered.root, UPC, "alpha")
    assert receipt is not None and [d.status for d in receipt.history] == ["success", "failed"]
    assert len(list((delivered.root / "outbox" / "alpha").iterdir())) == 1, "no Update was sent"


def test_a_delivered_upc_changed_in_place_is_refused_until_taken_down(delivered: Repo) -> None:
    path = f"catalog/{UPC}.yaml"
    delivered.write(path, delivered.read(path).replace(f'upc: "{UPC}"', f'upc: "{THIRD}"'))
    delivered.commit("Change the UPC in place")
    line = line_of(delivered, path, "upc:")

    validated = cli(delivered, "validate", "--no-render")
    planned = cli(delivered, "plan", "--format", "json")
    done = cli(delivered, "deliver", "--commit")

    assert validated.returncode == 1
    assert f"receipts/{UPC}/alpha.json: release {UPC} was delivered" in validated.stdout
    assert "takedown: true" in validated.stdout
    assert planned.returncode == 1 and json.loads(planned.stdout)["actions"] == []
    expected = (
        f"{path}:{line}:1: upc: this file held release {UPC}, which is live at 'alpha', 'beta'"
    )
    assert expected in planned.stderr and "`takedown: true`" in planned.stderr
    assert done.returncode == 1 and expected in done.stderr
    assert sent(delivered, THIRD) == [], "the new UPC was not sent as an Initial"
    assert read_receipt(delivered.root, THIRD, "alpha").last().status == "failed"  # type: ignore[union-attr]

    # The way out: take the old release down first, then give the new one its file.
    delivered.write(path, delivered.read(path).replace(f'upc: "{THIRD}"', f'upc: "{UPC}"'))
    delivered.write(path, delivered.read(path) + "takedown: true\n")
    delivered.commit("Take the old release down")
    taken = cli(delivered, "deliver", "--commit")
    assert taken.returncode == 0, taken.stderr
    assert read_receipt(delivered.root, UPC, "alpha").last().action == "takedown"  # type: ignore[union-attr]


def test_the_deleted_release_check_ignores_a_upc_in_a_comment(delivered: Repo) -> None:
    delivered.delete(f"catalog/{UPC}.yaml")
    write_assets(delivered.root, OTHER)
    other = delivered.add_release(OTHER)
    delivered.write(other, f"# formerly {UPC}\n" + delivered.read(other))
    delivered.write("catalog/notes.yaml", f"# upc: {UPC}\n")

    done = cli(delivered, "validate", "--no-render")

    assert done.returncode == 1
    assert f"receipts/{UPC}/alpha.json: release {UPC} was delivered to 'alpha'" in done.stdout


def test_plan_checks_the_packages_it_rendered_without_rendering_them_again(
    delivered: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stardust_git.render
    from stardust_git.plan import compute_plan

    path = f"catalog/{UPC}.yaml"
    delivered.write(path, delivered.read(path).replace("Summer Vibes", "Winter Vibes"))
    delivered.commit("Retitle")
    rendered: list[tuple[str, str]] = []
    real = stardust_git.render.render_package

    def counting(catalog, loaded, target, action, *args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append((target, action))
        return real(catalog, loaded, target, action, *args, **kwargs)

    monkeypatch.setattr(stardust_git.render, "render_package", counting)

    plan = compute_plan(delivered.root, "HEAD~1")

    assert [(a.target, a.action) for a in plan.actions] == [("alpha", "update"), ("beta", "update")]
    assert sorted(rendered) == [("alpha", "update"), ("beta", "update")]


def test_deliver_stops_an_apple_package_apple_would_refuse(repo: Repo) -> None:
    """The Apple package checks run in deliver too: Apple takes no MP3 (other shops do)."""
    repo.write(
        "targets/apple.yaml",
        "format: apple\nprovider: IndieRecords\ngenre_map: apple\ndelivery:\n"
        "  protocol: local\n  directory: outbox/apple\n",
    )
    for name in ("apple.yaml", "vocabularies/apple.yaml"):
        repo.write(f"genre-maps/{name}", (REPO_ROOT / "genre-maps" / name).read_text())
    path = repo.add_release(UPC, targets=("alpha", "apple"))
    write_jpeg(repo.root / "assets" / UPC / "cover.jpg", size=3000)
    write_mp3(repo.root / "assets" / UPC / "01.mp3", seconds=3.0)
    repo.write(path, repo.read(path).replace("/01.wav", "/01.mp3"))
    repo.commit("A release for Apple with MP3 audio")

    done = cli(repo, "deliver", "--all", "--commit")

    assert done.returncode == 1
    line = line_of(repo, path, "    audio")
    assert (
        f"{UPC} -> apple (initial): {path}:{line}:5: tracks[0].audio: apple target 'apple': "
        "Apple takes lossless audio only (WAV or FLAC); this is MP3"
    ) in done.stderr
    assert not (repo.root / "outbox" / "apple").exists()
    assert sent(repo, UPC), "alpha still got it"
    assert read_receipt(repo.root, UPC, "apple").last().status == "failed"  # type: ignore[union-attr]
