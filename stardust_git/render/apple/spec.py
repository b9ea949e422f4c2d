"""What the Apple Music package specification 5.3 fixes: names, limits, the XSD."""

from __future__ import annotations

import re

NAMESPACE = "http://apple.com/itunes/importer"
SPEC_VERSION = "music5.3"
FORMAT = "apple/5.3"
SCHEMA_RESOURCE = "data/apple-music5.3.xsd"
STORE_TERRITORIES_RESOURCE = "data/apple-store-territories.json"
WORLDWIDE = "WW"
METADATA_FILE = "metadata.xml"
MAX_TRACKS = 500
MIN_COVER_EDGE = 3000
# Apple's audio requirements: lossless masters, 44.1 kHz or more, 16-bit or more, stereo.
LOSSLESS_CODECS = frozenset({"PCM", "FLAC"})
MIN_SAMPLE_RATE = 44_100
MIN_BITS_PER_SAMPLE = 16
VENDOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")

Loc = tuple[str | int, ...]
"""Where in a release file a problem lies, e.g. ``("tracks", 0, "audio")``."""

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
EXTENSIONS = {"jpeg": "jpg", "png": "png", "wav": "wav", "flac": "flac", "mp3": "mp3"}
