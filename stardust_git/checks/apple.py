"""The Apple checks: a rendered .itmsp package against the packaged XSD, its files against the
XML, and the release's artwork and audio against Apple's requirements."""

from __future__ import annotations

import datetime as dt
import threading
from functools import cache
from importlib.resources import files
from pathlib import Path

from lxml import etree

from stardust_git import assets
from stardust_git.checks.profiles import profile_checks
from stardust_git.errors import Diagnostics
from stardust_git.models import Release
from stardust_git.render import Action, Package, PackageFile, RenderContext, RenderError
from stardust_git.render.apple import (
    LOSSLESS_CODECS,
    MAX_TRACKS,
    METADATA_FILE,
    MIN_BITS_PER_SAMPLE,
    MIN_COVER_EDGE,
    MIN_SAMPLE_RATE,
    NAMESPACE,
    SCHEMA_RESOURCE,
    VENDOR_ID,
    Loc,
    render_apple_package,
)
from stardust_git.source.catalog import Catalog, Loaded

_validate_lock = threading.Lock()


@cache
def schema() -> etree.XMLSchema:
    """The packaged XSD of what this module emits."""
    data = files("stardust_git").joinpath(SCHEMA_RESOURCE).read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _parser()))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _find(element: etree._Element, path: str) -> list[etree._Element]:
    return element.findall(path, {"a": NAMESPACE})


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path, {"a": NAMESPACE})
    return (found.text or "") if found is not None else ""


def package_problems(package: Package, reread: bool = True) -> list[str]:
    """What is wrong with a rendered package: XSD, files against the XML, vendor id, tracks."""
    try:
        document = etree.fromstring(package.message.data or b"", _parser())
    except etree.XMLSyntaxError as error:
        return [f"{METADATA_FILE} is not well-formed: {error}"]
    problems = xsd_problems(document)
    problems += vendor_id_problems(document, package)
    problems += file_problems(document, package, reread)
    track_count = len(_find(document, "a:album/a:tracks/a:track"))
    if track_count > MAX_TRACKS:
        problems.append(f"{track_count} tracks; Apple takes at most {MAX_TRACKS} per album")
    return problems


def xsd_problems(document: etree._Element) -> list[str]:
    return [f"{METADATA_FILE} line {line}: {message}" for line, message in xsd_errors(document)]


def xsd_errors(document: etree._Element) -> list[tuple[int, str]]:
    """(line, message) of every way ``document`` breaks the packaged Apple XSD."""
    validator = schema()
    with _validate_lock:  # the error log lives on the schema: deliver checks in many threads
        if validator.validate(document):
            return []
        return [(entry.line, entry.message) for entry in validator.error_log]


def vendor_id_problems(document: etree._Element, package: Package) -> list[str]:
    vendor_id = _text(document, "a:album/a:vendor_id")
    problems = []
    if not VENDOR_ID.fullmatch(vendor_id):
        problems.append(
            f"vendor_id '{vendor_id}' must be letters, digits and underscores,"
            " not starting with an underscore"
        )
    if package.message.name != f"{vendor_id}.itmsp/{METADATA_FILE}":
        problems.append(f"{package.message.name} is not in the folder {vendor_id}.itmsp/")
    return problems


def file_problems(document: etree._Element, package: Package, reread: bool = True) -> list[str]:
    """Every file the XML names is in the package, with the size and MD5 the XML states, and
    is still that file on disk (``reread``); the package sends no file the XML does not name."""
    sent = {file.name.rsplit("/", 1)[-1]: file for file in package.resources}
    named = _find(document, "a:album/a:artwork_files/a:file") + _find(
        document, "a:album/a:tracks/a:track/a:audio_file"
    )
    problems = []
    for element in named:
        name = _text(element, "a:file_name")
        file = sent.pop(name, None)
        if file is None:
            problems.append(f"{name} is named in {METADATA_FILE} but not in the package")
            continue
        problems += _file_matches(name, element, file, reread)
    problems += [f"{name} is in the package but not named in {METADATA_FILE}" for name in sent]
    return problems


def _reason(error: Exception) -> str:
    return error.reason if isinstance(error, assets.AssetError) else str(error)


def _file_matches(name: str, element: etree._Element, file: PackageFile, reread: bool) -> list[str]:
    stated_size, stated_md5 = _text(element, "a:size"), _text(element, "a:checksum")
    problems = []
    if stated_size != str(file.size) or stated_md5 != file.md5:
        problems.append(f"{name}: {METADATA_FILE} states {stated_size} bytes, MD5 {stated_md5}")
    if reread and file.source is not None:
        try:
            size, md5 = file.source.stat().st_size, assets.md5_file(file.source)
        except (OSError, assets.AssetError) as error:
            return [*problems, f"{name}: cannot read {file.source}: {_reason(error)}"]
        if (size, md5) != (int(stated_size or -1), stated_md5):
            problems.append(
                f"{name}: the file has {size} bytes, MD5 {md5}; {METADATA_FILE} states"
                f" {stated_size} bytes, MD5 {stated_md5}"
            )
    return problems


def cover_problems(
    path: Path, min_edge: int = MIN_COVER_EDGE, left_out: frozenset[str] = frozenset()
) -> list[str]:
    """Apple artwork: square and at least ``min_edge`` pixels on each side (each left out when
    another check reports it: ``left_out`` names rule functions, see :func:`_left_out`)."""
    try:
        image = assets.probe_image(path)
    except assets.AssetError as error:
        return [f"cover art: {error.reason}"]
    problems = []
    if image.width != image.height and "artwork_square" not in left_out:
        problems.append(f"cover art must be square for Apple, it is {image.width}x{image.height}")
    if min(image.width, image.height) < min_edge and "artwork_size" not in left_out:
        problems.append(
            f"cover art is {image.width}x{image.height}, Apple needs at least {min_edge}x{min_edge}"
        )
    return problems


def audio_problems(
    path: Path, left_out: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of one track's audio against Apple's requirements, leaving out what
    another check reports (``left_out``: rule functions such as audio_codec).

    Lossy audio is refused outright. Below 44.1 kHz, 16-bit or stereo is only a warning: the
    package is well-formed, but Apple's ingestion checks the masters and may reject it.
    """
    try:
        audio = assets.probe_audio(path)
    except assets.AssetError:
        return [], []  # the asset check reports an unreadable file once, for every target
    if audio.codec not in LOSSLESS_CODECS:
        if "audio_codec" in left_out:
            return [], []
        return [f"Apple takes lossless audio only (WAV or FLAC); this is {audio.codec}"], []
    shortfalls = []
    if audio.sample_rate < MIN_SAMPLE_RATE and "audio_sample_rate" not in left_out:
        shortfalls.append(f"{audio.sample_rate} Hz")
    bits = audio.bits_per_sample
    if bits is not None and bits < MIN_BITS_PER_SAMPLE and "audio_bit_depth" not in left_out:
        shortfalls.append(f"{bits}-bit")
    if audio.channels != 2 and "audio_channels" not in left_out:
        shortfalls.append("mono" if audio.channels == 1 else f"{audio.channels} channels")
    if not shortfalls:
        return [], []
    return [], [
        f"{', '.join(shortfalls)}: Apple asks for stereo at 44.1 kHz or more and 16-bit or more,"
        " and may reject this audio"
    ]


def check_apple_packages(
    catalog: Catalog,
    loaded: Loaded[Release],
    diagnostics: Diagnostics,
    profiles_measure: bool = False,
    read_assets: bool = True,
) -> None:
    """validate: render the release for each apple target it lists and check the package
    (``profiles_measure``: the gate measures assets, so the profiles' artwork and audio rules
    and the assets check run; this leaves their problems to them). Without ``read_assets``
    (``--no-assets``) the metadata alone is checked: no asset file is opened."""
    for index, name in enumerate(loaded.model.targets):
        target = catalog.targets.get(name)
        if target is None or target.model.format != "apple":
            continue
        left_out = _left_out(catalog, name, profiles_measure)
        target_loc: Loc = ("targets", index)
        problems = apple_release_problems(catalog, loaded, name, target_loc, left_out, read_assets)
        for loc, problem in problems:
            diagnostics.add(loaded.diagnostic(loc, f"apple target '{name}': {problem}"))
        if read_assets and not loaded.model.takedown:
            _check_apple_audio(catalog, loaded, name, left_out, diagnostics)


def _left_out(catalog: Catalog, target_name: str, assets_measured: bool) -> frozenset[str]:
    """What this check leaves to others when the gate measures assets: what the target's
    profile checks (its rules carry an id and a source), and a cover that is not square (the
    assets check reports that for every target)."""
    if not assets_measured:
        return frozenset()
    return profile_checks(catalog, target_name) | {"artwork_square"}


def _check_apple_audio(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    left_out: frozenset[str],
    diagnostics: Diagnostics,
) -> None:
    for index, track in enumerate(loaded.model.tracks):
        errors, warnings = audio_problems(catalog.root / track.audio, left_out)
        loc = ("tracks", index, "audio")
        for problem in errors:
            diagnostics.add(loaded.diagnostic(loc, f"apple target '{target_name}': {problem}"))
        for problem in warnings:
            diagnostics.add(
                loaded.diagnostic(
                    loc, f"apple target '{target_name}': {problem}", severity="warning"
                )
            )


def apple_release_problems(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    target_loc: Loc,
    left_out: frozenset[str] = frozenset(),
    read_assets: bool = True,
) -> list[tuple[Loc, str]]:
    """(release field, problem) for the package ``loaded`` renders to for ``target_name``
    (without ``read_assets``: its metadata-only update, no asset file opened)."""
    action: Action = "takedown" if loaded.model.takedown else "initial"
    context = _check_context()
    try:
        package = render_apple_package(
            catalog, loaded, target_name, action, context, read_assets=read_assets
        )
    except RenderError as error:
        return [(error.loc or target_loc, error.message)]
    return _problems_of(catalog, loaded, package, target_loc, left_out=left_out)


def _problems_of(
    catalog: Catalog,
    loaded: Loaded[Release],
    package: Package,
    target_loc: Loc,
    reread: bool = True,
    left_out: frozenset[str] = frozenset(),
) -> list[tuple[Loc, str]]:
    found = [(target_loc, problem) for problem in package_problems(package, reread)]
    if package.action != "takedown" and package.resources:
        edge = max(MIN_COVER_EDGE, catalog.targets[package.target].model.cover_min_size)
        cover = catalog.root / loaded.model.cover
        found += [(("cover",), problem) for problem in cover_problems(cover, edge, left_out)]
    return found


def check_apple_package(
    catalog: Catalog,
    loaded: Loaded[Release],
    package: Package,
    diagnostics: Diagnostics,
    profiles_measure: bool = False,
) -> None:
    """A package about to be sent: its XML, its files, and (when it sends them) the assets
    (``profiles_measure``: as for :func:`check_apple_packages`)."""
    name = package.target
    left_out = _left_out(catalog, name, profiles_measure)
    targets = loaded.model.targets
    target_loc: Loc = ("targets", targets.index(name)) if name in targets else ("targets",)
    # The package was rendered just now, its files hashed: reading every file again would double
    # the disk reads of a delivery (the transports check each upload's size and MD5).
    found = _problems_of(catalog, loaded, package, target_loc, False, left_out)
    for loc, problem in found:
        diagnostics.add(loaded.diagnostic(loc, f"apple target '{name}': {problem}"))
    if package.action != "takedown" and package.resources:
        _check_apple_audio(catalog, loaded, name, left_out, diagnostics)


def _check_context() -> RenderContext:
    now = dt.datetime.now(dt.UTC)
    return RenderContext(commit="0" * 40, committed_at=now, today=now.date())
