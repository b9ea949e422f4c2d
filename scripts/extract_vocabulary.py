"""Extract the DDEX allowed values each ERN message XSD accepts into a JSON vocabulary.

Every set is found by walking the message schema from ``NewReleaseMessage`` down to the element or
attribute that carries it and resolving that node's type into the allowed-value-set file, so the
JSON holds exactly what the XSD validates (e.g. ``CommercialModelType_ERN``, not the wider
``CommercialModelType``).

Usage: python scripts/extract_vocabulary.py --xsd-dir ../shared/ddex-xsd [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
NS = {"xs": XS}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "stardust_git" / "data" / "ddex_vocabulary.json"

# Version -> message XSD beneath --xsd-dir; it imports its own allowed-value-set file.
SCHEMAS = {
    "3.8.2": "ern382/release-notification.xsd",
    "4.2": "ern42/release-notification.xsd",
    "4.3": "ern43/release-notification.xsd",
}

DEAL_TERMS_4 = "DealList/ReleaseDeal/Deal/DealTerms"
SOUND_RECORDING_382 = "ResourceList/SoundRecording/SoundRecordingDetailsByTerritory"
RELEASE_382 = "ReleaseList/Release/ReleaseDetailsByTerritory"
IMAGE_382 = "ResourceList/Image/ImageDetailsByTerritory"
SOUND_RECORDING_EDITION_43 = "ResourceList/SoundRecording/SoundRecordingEdition"

# Set name -> {version: path below NewReleaseMessage}; "@Name" ends a path at an attribute and
# a bare "avs:Type" names an AVS type the message does not use (kept for reference only).
# Versions without an entry do not have that set.
SET_PATHS: dict[str, dict[str, str]] = {
    "CommercialModelType": {
        "3.8.2": "DealList/ReleaseDeal/Deal/DealTerms/CommercialModelType",
        "4.2": f"{DEAL_TERMS_4}/CommercialModelType",
        "4.3": f"{DEAL_TERMS_4}/CommercialModelType",
    },
    "UseType": {
        "3.8.2": "DealList/ReleaseDeal/Deal/DealTerms/Usage/UseType",
        "4.2": f"{DEAL_TERMS_4}/UseType",
        "4.3": f"{DEAL_TERMS_4}/UseType",
    },
    "TerritoryCode": {
        "3.8.2": "DealList/ReleaseDeal/Deal/DealTerms/TerritoryCode",
        "4.2": f"{DEAL_TERMS_4}/TerritoryCode",
        "4.3": f"{DEAL_TERMS_4}/TerritoryCode",
    },
    "ReleaseType": {
        "3.8.2": "ReleaseList/Release/ReleaseType",
        "4.2": "ReleaseList/Release/ReleaseType",
        "4.3": "ReleaseList/Release/ReleaseType",
    },
    "ContributorRole": {
        "3.8.2": f"{SOUND_RECORDING_382}/ResourceContributor/ResourceContributorRole",
        "4.2": "ResourceList/SoundRecording/Contributor/Role",
        "4.3": "ResourceList/SoundRecording/Contributor/Role",
    },
    "ArtistRole": {
        "3.8.2": f"{RELEASE_382}/DisplayArtist/ArtistRole",
    },
    "DisplayArtistRole": {
        "4.2": "ReleaseList/Release/DisplayArtist/DisplayArtistRole",
        "4.3": "ReleaseList/Release/DisplayArtist/DisplayArtistRole",
    },
    "ParentalWarningType": {
        "3.8.2": f"{RELEASE_382}/ParentalWarningType",
        "4.2": "ReleaseList/Release/ParentalWarningType",
        "4.3": "ReleaseList/Release/ParentalWarningType",
    },
    "AudioCodecType": {
        "3.8.2": f"{SOUND_RECORDING_382}/TechnicalSoundRecordingDetails/AudioCodecType",
        "4.2": "ResourceList/SoundRecording/TechnicalDetails/AudioCodecType",
        "4.3": f"{SOUND_RECORDING_EDITION_43}/TechnicalDetails/DeliveryFile/AudioCodecType",
    },
    "ImageCodecType": {
        "3.8.2": f"{IMAGE_382}/TechnicalImageDetails/ImageCodecType",
        "4.2": "ResourceList/Image/TechnicalDetails/ImageCodecType",
        "4.3": "ResourceList/Image/TechnicalDetails/ImageCodecType",
    },
    "MessageControlType": {
        "3.8.2": "MessageHeader/MessageControlType",
        "4.2": "MessageHeader/MessageControlType",
        "4.3": "MessageHeader/MessageControlType",
    },
    "ReleaseProfileVersionId": {
        "4.2": "@ReleaseProfileVersionId",
        "4.3": "@ReleaseProfileVersionId",
    },
    "IndirectContributorRole": {  # 3.8.2 writes composers and lyricists here
        "3.8.2": f"{SOUND_RECORDING_382}/IndirectResourceContributor/"
        "IndirectResourceContributorRole",
    },
    "SoundRecordingType": {
        "3.8.2": "ResourceList/SoundRecording/SoundRecordingType",
        "4.2": "ResourceList/SoundRecording/Type",
        "4.3": "ResourceList/SoundRecording/Type",
    },
    "ImageType": {
        "3.8.2": "ResourceList/Image/ImageType",
        "4.2": "ResourceList/Image/Type",
        "4.3": "ResourceList/Image/Type",
    },
    "HashSumAlgorithmType": {
        "3.8.2": f"{SOUND_RECORDING_382}/TechnicalSoundRecordingDetails/File/HashSum/"
        "HashSumAlgorithmType",
        "4.2": "ResourceList/SoundRecording/TechnicalDetails/File/HashSum/Algorithm",
        "4.3": f"{SOUND_RECORDING_EDITION_43}/TechnicalDetails/DeliveryFile/File/HashSum/Algorithm",
    },
    "TitleType": {  # 3.8.2 Title/@TitleType; 4.x AdditionalTitle/@TitleType
        "3.8.2": f"{RELEASE_382}/Title/@TitleType",
        "4.2": "ReleaseList/Release/AdditionalTitle/@TitleType",
        "4.3": "ReleaseList/Release/AdditionalTitle/@TitleType",
    },
    "IsoLanguageCode": {  # 4.x messages take a pattern instead; the AVS set is kept for reference
        "3.8.2": "ResourceList/SoundRecording/LanguageOfPerformance",
        "4.2": "avs:IsoLanguageCode",
        "4.3": "avs:IsoLanguageCode",
    },
    "LanguageOfPerformance": {  # pattern-only in 4.x (lang[-script][-region][-variant])
        "4.2": "ResourceList/SoundRecording/LanguageOfPerformance",
        "4.3": "ResourceList/SoundRecording/LanguageOfPerformance",
    },
}


@dataclass(frozen=True)
class ResolvedSet:
    source: str  # the XSD type the values come from, e.g. "avs:UseType_ERN"
    values: tuple[str, ...] | None = None  # the enumeration, if the type has one
    pattern: str | None = None  # the xs:pattern of a pattern-only type


class SchemaIndex:
    """Named types, elements and groups of one message XSD and the schemas it imports."""

    def __init__(self, message_xsd: Path) -> None:
        self.types: dict[tuple[str, str], etree._Element] = {}
        self.elements: dict[tuple[str, str], etree._Element] = {}
        self.groups: dict[tuple[str, str], etree._Element] = {}
        self.attribute_groups: dict[tuple[str, str], etree._Element] = {}
        self.prefixes: dict[str, str] = {}
        self.message_root = self._load(message_xsd)
        self.message_namespace = self.message_root.get("targetNamespace")

    def _load(self, xsd: Path) -> etree._Element:
        root = etree.parse(str(xsd)).getroot()
        namespace = root.get("targetNamespace")
        for prefix, uri in root.nsmap.items():
            if uri == namespace and prefix:
                self.prefixes[uri] = prefix
        tables = {
            "simpleType": self.types,
            "complexType": self.types,
            "element": self.elements,
            "group": self.groups,
            "attributeGroup": self.attribute_groups,
        }
        for node in root.iterchildren(etree.Element):
            table = tables.get(etree.QName(node).localname)
            if table is not None and node.get("name"):
                table[(namespace, node.get("name"))] = node
        for imported in root.iterfind("xs:import", NS):
            self._load(xsd.parent / imported.get("schemaLocation"))
        return root

    def qname(self, node: etree._Element, attribute: str) -> tuple[str, str]:
        prefix, _, local = node.get(attribute).rpartition(":")
        return node.nsmap.get(prefix or None), local

    def label(self, key: tuple[str, str]) -> str:
        namespace, local = key
        return f"{self.prefixes.get(namespace, 'xs' if namespace == XS else namespace)}:{local}"


def _content_children(index: SchemaIndex, node: etree._Element) -> Iterator[etree._Element]:
    """Yield the xs:element and xs:attribute declarations a type allows, its base type's too."""
    for child in node.iterchildren(etree.Element):
        local = etree.QName(child).localname
        if local in {"element", "attribute"}:
            yield child
            continue
        if local in {"group", "attributeGroup"} and child.get("ref"):
            table = index.groups if local == "group" else index.attribute_groups
            yield from _content_children(index, table[index.qname(child, "ref")])
        if local == "extension":
            base = index.types.get(index.qname(child, "base"))
            if base is not None:
                yield from _content_children(index, base)
        if local != "annotation":
            yield from _content_children(index, child)


def _type_of(index: SchemaIndex, declaration: etree._Element) -> tuple[str, etree._Element | None]:
    if declaration.get("ref"):
        declaration = index.elements[index.qname(declaration, "ref")]
    if declaration.get("type"):
        key = index.qname(declaration, "type")
        return index.label(key), index.types.get(key)
    inline = declaration.find("xs:complexType", NS)
    if inline is None:
        inline = declaration.find("xs:simpleType", NS)
    return f"(inline in {declaration.get('name')})", inline


def _child(index: SchemaIndex, complex_type: etree._Element, step: str) -> etree._Element:
    wanted_kind, wanted_name = (
        ("attribute", step[1:]) if step.startswith("@") else ("element", step)
    )
    for node in _content_children(index, complex_type):
        name = node.get("name") or node.get("ref", "").rpartition(":")[2]
        if etree.QName(node).localname == wanted_kind and name == wanted_name:
            return node
    raise LookupError(f"no {wanted_kind} {wanted_name!r} in {complex_type.get('name')}")


def _restriction_facets(type_key: str, restriction: etree._Element) -> ResolvedSet | None:
    values = tuple(e.get("value") for e in restriction.iterfind("xs:enumeration", NS))
    if values:
        return ResolvedSet(type_key, values=values)
    patterns = [p.get("value") for p in restriction.iterfind("xs:pattern", NS)]
    if len(patterns) > 1:
        raise LookupError(f"{type_key} has several patterns; extend the extractor")
    return ResolvedSet(type_key, pattern=patterns[0]) if patterns else None


def _enumerations(index: SchemaIndex, type_key: str, node: etree._Element | None) -> ResolvedSet:
    """Follow simpleContent, restrictions and unions down to the enumerated values."""
    if node is None:  # a built-in type such as xs:string: free text
        return ResolvedSet(type_key)
    restriction = node.find("xs:restriction", NS)
    facets = None if restriction is None else _restriction_facets(type_key, restriction)
    if facets is not None:
        return facets
    union = node.find("xs:union", NS)
    if union is not None:
        return _union(index, type_key, union)
    derivation = node.find("xs:simpleContent/*", NS)
    if derivation is None:
        derivation = restriction
    if derivation is None or not derivation.get("base"):
        raise LookupError(f"cannot resolve values of {type_key}")
    base_key = index.qname(derivation, "base")
    return _enumerations(index, index.label(base_key), index.types.get(base_key))


def _union(index: SchemaIndex, type_key: str, union: etree._Element) -> ResolvedSet:
    values: list[str] = []
    for member in union.get("memberTypes", "").split():
        prefix, _, local = member.rpartition(":")
        key = (union.nsmap.get(prefix or None), local)
        resolved = _enumerations(index, index.label(key), index.types.get(key))
        if resolved.values is None:
            raise LookupError(f"{type_key}: union member {member} is not an enumeration")
        values.extend(resolved.values)
    return ResolvedSet(type_key, values=tuple(values))


def resolve_path(index: SchemaIndex, path: str) -> ResolvedSet:
    """Resolve ``A/B/@c`` below NewReleaseMessage (or a bare ``avs:Type``) to its values."""
    if ":" in path:
        prefix, _, local = path.partition(":")
        key = (index.message_root.nsmap[prefix], local)
        return _enumerations(index, path, index.types[key])
    declaration = index.elements[(index.message_namespace, "NewReleaseMessage")]
    for step in path.split("/"):
        _, complex_type = _type_of(index, declaration)
        declaration = _child(index, complex_type, step)
    return _enumerations(index, *_type_of(index, declaration))


def _resolve_set(index: SchemaIndex, version: str, set_name: str) -> ResolvedSet:
    try:
        resolved = resolve_path(index, SET_PATHS[set_name][version])
    except LookupError as error:
        raise LookupError(f"ERN {version} {set_name}: {error}") from error
    if resolved.values is None and resolved.pattern is None:
        raise LookupError(f"ERN {version} {set_name}: {resolved.source} is free text")
    return resolved


def extract(xsd_dir: Path) -> dict:
    """Build the vocabulary document: values, patterns and where each set came from."""
    document: dict[str, dict[str, dict]] = {"patterns": {}, "sources": {}, "values": {}}
    for version, message_xsd in SCHEMAS.items():
        index = SchemaIndex(xsd_dir / message_xsd)
        values = document["values"].setdefault(version, {})
        patterns = document["patterns"].setdefault(version, {})
        sources = document["sources"].setdefault(version, {})
        for set_name in (name for name, paths in SET_PATHS.items() if version in paths):
            resolved = _resolve_set(index, version, set_name)
            sources[set_name] = f"{SET_PATHS[set_name][version]} -> {resolved.source}"
            if resolved.values is not None:
                values[set_name] = sorted(set(resolved.values))
            else:
                patterns[set_name] = resolved.pattern
    return document


def render(document: dict) -> str:
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xsd-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(extract(args.xsd_dir)), encoding="utf-8")


if __name__ == "__main__":
    main()
