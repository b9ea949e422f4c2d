"""The models: the product.md contract examples validate as written; every field is documented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from stardust_git.models import Release, Target
from stardust_git.models.common import _NOT_TEXT, _as_written, resolve_secret, secret_name
from stardust_git.models.target import (
    ApiDelivery,
    AzureDelivery,
    FtpDelivery,
    FtpsDelivery,
    LocalDelivery,
    S3Delivery,
    SftpDelivery,
)
from stardust_git.schemas import render_schemas, schema_models
from stardust_git.source.yamlio import load_yaml_text
from tests.test_corpus import REPO_ROOT, stardust_git_executable, write_image, write_wav

PRODUCT_MD = REPO_ROOT.parent / "shared" / "docs" / "product.md"
RELEASE_PATH = "catalog/beach-band/summer-vibes.yaml"
SPOTIFY_PATH = "targets/spotify.yaml"
APPLE_PATH = "targets/apple.yaml"
# A file named in backticks in the sentence that introduces a ```yaml block.
_EXAMPLE = re.compile(r"\(`([^`]+\.yaml)`[^\n]*\n```yaml\n(.*?)```", re.DOTALL)


def contract_examples() -> dict[str, str]:
    """File path -> YAML text of every example in the catalog contract of product.md."""
    return dict(_EXAMPLE.findall(PRODUCT_MD.read_text(encoding="utf-8")))


def parse(path: str) -> Any:
    return load_yaml_text(contract_examples()[path], path).data


def test_product_md_holds_the_three_contract_examples() -> None:
    assert set(contract_examples()) == {RELEASE_PATH, SPOTIFY_PATH, APPLE_PATH}


def test_release_example_validates_as_written() -> None:
    release = Release.model_validate(parse(RELEASE_PATH))

    assert (release.upc, release.release_type, release.genre) == (
        "1234567890128",
        "EP",
        "ELECTRONIC",
    )
    assert [(t.isrc, t.duration) for t in release.tracks] == [
        ("USRC12400001", 215.0),
        ("USRC12400002", 189.0),
    ]
    assert [c.role for c in release.tracks[0].contributors] == ["Producer", "Composer"]
    assert release.deals[0].territories == ["Worldwide"]
    assert (release.targets, release.takedown) == (["spotify", "apple"], False)


def test_spotify_example_validates_as_written() -> None:
    target = Target.model_validate(parse(SPOTIFY_PATH))

    assert (target.format, target.ern_version) == ("ern", "4.3")
    assert isinstance(target.delivery, SftpDelivery)
    assert target.delivery.host_key.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")
    assert secret_name(target.delivery.private_key or "") == "SPOTIFY_SFTP_KEY"
    assert target.cover_min_size == 1400


def test_apple_example_validates_as_written() -> None:
    target = Target.model_validate(parse(APPLE_PATH))

    assert (target.format, target.provider) == ("apple", "IndieRecords")
    assert isinstance(target.delivery, LocalDelivery)
    assert target.cover_min_size == 3000


def test_contract_examples_pass_validate_with_their_assets(tmp_path: Path) -> None:
    """The examples as a catalog, with a 3000x3000 cover and WAVs of 215 s and 189 s."""
    for path, text in contract_examples().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    shutil.copytree(REPO_ROOT / "genre-maps", tmp_path / "genre-maps")
    assets = tmp_path / "assets" / "1234567890128"
    assets.mkdir(parents=True)
    write_image(assets / "cover.jpg", 3000, 3000, "jpeg")
    write_wav(assets / "01.wav", 215)
    write_wav(assets / "02.wav", 189)

    result = subprocess.run(
        [stardust_git_executable(), "validate", "--root", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    report = json.loads(result.stdout)
    assert report["errors"] == [], report["errors"]
    assert (result.returncode, report["releases"]) == (0, 1)


# --- model behaviour --------------------------------------------------------------------------

MINIMAL_RELEASE = {
    "upc": "1234567890128",
    "title": "T",
    "artists": [{"name": "A"}],
    "label": "L",
    "release_date": "2024-07-01",
    "genre": "POP",
    "language": "en",
    "p_line": {"year": 2024, "owner": "L"},
    "c_line": {"year": 2024, "owner": "L"},
    "cover": "assets/c.jpg",
    "tracks": [{"isrc": "US-RC1-24-00001", "title": "T", "duration": "PT3M35S", "audio": "a.wav"}],
}


def test_iso_durations_and_hyphenated_isrcs_normalise() -> None:
    track = Release.model_validate(MINIMAL_RELEASE).tracks[0]

    assert (track.isrc, track.duration) == ("USRC12400001", 215.0)


@pytest.mark.parametrize(
    ("tracks", "minutes", "expected"),
    [
        (1, 3, "Single"),
        (3, 9, "Single"),
        (4, 4, "EP"),
        (6, 4, "EP"),
        (7, 3, "Album"),
        (2, 20, "Album"),
    ],
)
def test_release_type_is_derived_when_absent(tracks: int, minutes: int, expected: str) -> None:
    track = MINIMAL_RELEASE["tracks"][0]
    data = {
        **MINIMAL_RELEASE,
        "tracks": [
            {**track, "isrc": f"USRC1240{n:04d}", "duration": minutes * 60} for n in range(tracks)
        ],
    }

    assert Release.model_validate(data).effective_release_type() == expected


def test_every_error_of_a_release_is_reported_at_once() -> None:
    data = {**MINIMAL_RELEASE, "upc": "1234567890123", "language": "english", "colour": "blue"}

    with pytest.raises(ValidationError) as caught:
        Release.model_validate(data)

    assert sorted(e["loc"][0] for e in caught.value.errors()) == ["colour", "language", "upc"]


HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGAETUkKYKQlHVcdYGxvb2GcP/OLo14ZgyfWwAdi9Zuv"
DELIVERIES: list[tuple[dict[str, Any], type[BaseModel]]] = [
    ({"protocol": "local", "directory": "outbox"}, LocalDelivery),
    ({"protocol": "ftp", "host": "h", "username": "u", "password": "${P}"}, FtpDelivery),
    ({"protocol": "ftps", "host": "h", "username": "u", "password": "${P}"}, FtpsDelivery),
    (
        {
            "protocol": "sftp",
            "host": "h",
            "username": "u",
            "password": "${P}",
            "host_key": HOST_KEY,
        },
        SftpDelivery,
    ),
    ({"protocol": "s3", "bucket": "my-bucket"}, S3Delivery),
    ({"protocol": "azure", "container": "ingest", "connection_string": "${C}"}, AzureDelivery),
    (
        {
            "protocol": "api",
            "url": "https://x.example/in",
            "auth": {"type": "bearer", "token": "${T}"},
        },
        ApiDelivery,
    ),
]


@pytest.mark.parametrize(
    ("delivery", "model"), DELIVERIES, ids=lambda v: getattr(v, "__name__", "")
)
def test_each_protocol_has_its_own_delivery_model(
    delivery: dict[str, Any], model: type[BaseModel]
) -> None:
    target = Target.model_validate({"format": "apple", "provider": "P", "delivery": delivery})

    assert type(target.delivery) is model


@pytest.mark.parametrize("secret", ["hunter2", "$PASSWORD", "${PASSWORD", "${1ABC}", "x${P}"])
def test_a_literal_secret_is_refused(secret: str) -> None:
    delivery = {"protocol": "ftp", "host": "h", "username": "u", "password": secret}

    with pytest.raises(ValidationError, match=r"secrets must be \$\{ENV_VAR\} references"):
        Target.model_validate({"format": "apple", "provider": "P", "delivery": delivery})


def test_a_secret_resolves_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARDUST_TEST_SECRET", "s3cr3t")

    assert resolve_secret("${STARDUST_TEST_SECRET}") == "s3cr3t"


# --- documentation ----------------------------------------------------------------------------


def models_reachable_from(model: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    pending = [model]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        for info in current.model_fields.values():
            pending.extend(_models_in(info.annotation))
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


@pytest.mark.parametrize("name", sorted(schema_models()))
def test_every_model_and_field_is_described_in_the_json_schema(name: str) -> None:
    model = schema_models()[name]
    schema = json.loads(render_schemas()[name])
    definitions = {model.__name__: schema, **schema.get("$defs", {})}
    reachable = {m.__name__ for m in models_reachable_from(model)}

    assert reachable <= set(definitions), "a model is missing from the schema"
    for model_name in reachable:
        definition = definitions[model_name]
        assert definition.get("description"), f"{name}: {model_name} has no description"
        undocumented = [
            f for f, spec in definition["properties"].items() if not spec.get("description")
        ]
        assert undocumented == [], f"{name}: {model_name} fields without a description"


def test_text_refuses_every_character_it_names_and_keeps_others_unprintable_or_not() -> None:
    """Text values pass on a printability test before any search: every character the text
    rule refuses (controls, lone surrogates, non-characters) must fail it, and allowed
    characters that are not printable (a no-break space, a line separator) must still pass."""
    every = "".join(chr(code) for code in range(0x110000))
    refused = [match.group() for match in _NOT_TEXT.finditer(every)]
    assert len(refused) == 32 + 33 + 2048 + 32 + 34  # C0, DEL+C1, surrogates, non-characters
    for char in refused:
        with pytest.raises(PydanticCustomError):
            _as_written(f"Title {char}")
    for allowed in ("Title\u00a0Two", "Title\u2028", "Título ünïcode 東京", "", "A  B"):
        assert _as_written(allowed) == allowed
    with pytest.raises(PydanticCustomError, match="placeholder"):
        _as_written("A TODO(title) here")
