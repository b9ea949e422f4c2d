"""``stardust-git init DIR``: a new catalog repository, ready for CI and pre-commit.

It holds the three workflows (installing the tool through the composite action), a
pre-commit config using the ``stardust-validate`` hook, the genre taxonomy with the common shops'
genre maps, release templates (single, EP, album) for ``new release``, a ``local`` target,
``catalog/_defaults.yaml`` (label, P and C line owners, targets), an example release relying on
it with small real assets generated here, the JSON Schemas and a README.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import struct
import subprocess
import wave
from importlib.resources import files
from pathlib import Path

import click
from PIL import Image, ImageDraw

from stardust_git.authoring.templates import packaged_templates
from stardust_git.checks.workflows import referenced_secrets, with_secret_lines
from stardust_git.errors import UserError
from stardust_git.schemas import write_schemas
from stardust_git.source.catalog import Catalog, load_targets

DEFAULT_ACTION = "stardust-git/stardust-git@v1"
EXAMPLE_UPC = "1234567890128"
EXAMPLE_ISRC = "QZDA92500001"
EXAMPLE_SECONDS = 3
COVER_EDGE = 1400
SAMPLE_RATE = 44_100
WORKFLOWS = ("validate.yml", "deliver.yml", "reconcile.yml")
_INSTALL_STEP = re.compile(
    r"      - uses: actions/setup-python@v5\n.*?\n      - id: install\n"
    r"        name: Install stardust-git\n        run: [^\n]*\n",
    re.DOTALL,
)


def template_text(name: str) -> str:
    """A file from the packaged templates."""
    return files("stardust_git").joinpath("templates", name).read_text(encoding="utf-8")


def genre_maps() -> dict[str, str]:
    """The taxonomy, the genre maps of the common shops and their vocabularies, by path."""
    folder = files("stardust_git").joinpath("templates", "genre-maps")
    found = {f"genre-maps/{p.name}": p for p in folder.iterdir() if p.name.endswith(".yaml")}
    vocabularies = folder.joinpath("vocabularies").iterdir()
    found |= {f"genre-maps/vocabularies/{p.name}": p for p in vocabularies}
    return {path: found[path].read_text(encoding="utf-8") for path in sorted(found)}


def catalog_workflow(name: str, action: str, secrets: list[str] | None = None) -> str:
    """A workflow for a catalog repository: the tool comes from the composite action, and the
    delivering steps get the ``secrets`` its targets reference, by name."""
    text = with_secret_lines(template_text(f"workflows/{name}"), secrets or [])
    step = f"      - id: install\n        name: Install stardust-git\n        uses: {action}\n"
    replaced, count = _INSTALL_STEP.subn(lambda _match: step, text)
    if count < 1:
        raise AssertionError(f"templates/workflows/{name} has no install step to replace")
    return replaced


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"__{key}__", value)
    return text


def init_command(
    directory: Path, action: str = DEFAULT_ACTION, label: str = "Example Records"
) -> int:
    """Create the repository in ``directory`` (new or empty); exit 0."""
    directory = directory.resolve()
    if directory.exists() and any(p.name != ".git" for p in directory.iterdir()):
        raise UserError(f"{directory} is not empty: init starts a new catalog repository")
    repository, _, ref = action.partition("@")
    values = {
        "NAME": directory.name,
        "LABEL": label,
        "UPC": EXAMPLE_UPC,
        "ISRC": EXAMPLE_ISRC,
        "SECONDS": str(EXAMPLE_SECONDS),
        "ACTION_REPOSITORY": f"https://github.com/{repository}",
        "ACTION_REF": ref or "main",
        "ACTION_REPO": repository,
    }
    written = _write_files(directory, action, values)
    written += _write_assets(directory / "assets" / EXAMPLE_UPC)
    written += write_schemas(directory)
    _git_init(directory)
    for path in written:
        click.echo(f"created {path}")
    click.echo(f"\na new catalog repository is ready in {directory}; see its README.md to start")
    return 0


def _write_files(directory: Path, action: str, values: dict[str, str]) -> list[str]:
    contents = {
        ".gitignore": template_text("gitignore"),
        ".pre-commit-config.yaml": _fill(template_text("pre-commit-config.yaml"), values),
        "README.md": _fill(template_text("README.md"), values),
        **genre_maps(),
        **{f"templates/{name}.yaml": text for name, text in packaged_templates().items()},
        "targets/local.yaml": _fill(template_text("local.yaml"), values),
        "catalog/_defaults.yaml": _fill(template_text("defaults.yaml"), values),
        "catalog/example/first-light.yaml": _fill(template_text("release.yaml"), values),
        "receipts/.gitkeep": "",
    }
    _write_texts(directory, contents)
    secrets = list(referenced_secrets(_targets_of(directory)))
    workflows = {f".github/workflows/{n}": catalog_workflow(n, action, secrets) for n in WORKFLOWS}
    _write_texts(directory, workflows)
    return [*contents, *workflows]


def _write_texts(directory: Path, contents: dict[str, str]) -> None:
    for relative, text in contents.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _targets_of(directory: Path) -> Catalog:
    """The targets just written, whose secrets the workflows are to hand over."""
    catalog = Catalog(root=directory)
    load_targets(directory, catalog)
    return catalog


def _write_assets(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cover.jpg").write_bytes(_cover_jpeg(COVER_EDGE))
    (folder / "01.wav").write_bytes(_tone_wav(EXAMPLE_SECONDS))
    return [f"assets/{folder.name}/cover.jpg", f"assets/{folder.name}/01.wav"]


def _cover_jpeg(edge: int) -> bytes:
    """A square gradient with a circle: small as a JPEG, big enough for every shop's minimum."""
    image = Image.linear_gradient("L").resize((edge, edge)).convert("RGB")
    draw = ImageDraw.Draw(image)
    margin = edge // 4
    draw.ellipse((margin, margin, edge - margin, edge - margin), fill=(250, 200, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80, optimize=True)
    return buffer.getvalue()


def _tone_wav(seconds: int) -> bytes:
    """A 440 Hz tone, 16-bit mono PCM, fading in and out."""
    frames = SAMPLE_RATE * seconds
    fade = SAMPLE_RATE // 10
    samples = []
    for index in range(frames):
        envelope = min(1.0, index / fade, (frames - index) / fade)
        samples.append(round(12_000 * envelope * math.sin(2 * math.pi * 440 * index / SAMPLE_RATE)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(SAMPLE_RATE)
        stream.writeframes(struct.pack(f"<{frames}h", *samples))
    return buffer.getvalue()


def _git_init(directory: Path) -> None:
    if (directory / ".git").exists() or shutil.which("git") is None:
        return
    subprocess.run(
        ["git", "init", "--quiet", "--initial-branch=main", str(directory)],
        check=True,
        capture_output=True,
    )
