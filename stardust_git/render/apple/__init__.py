"""Apple Music packages (Apple Music package specification 5.3).

A package is the folder ``{vendor_id}.itmsp/`` holding ``metadata.xml`` (UTF-8, no BOM) and the
files it names: the cover ``{UPC}.jpg`` and the audio ``{UPC}_{disc:02}_{track:03}.{ext}``, each
with its size and MD5 in the XML. Deals become products on the album and on every track (one per
store territory, or one WW product; see :mod:`.products`): cleared for sale where a download deal
runs, cleared for stream where a streaming deal runs. A takedown clears every product for neither
and sends no files; a metadata-only update (``include_assets=False``) sends the XML without its
file elements.

By job: :mod:`.spec` (names and limits), :mod:`.files` (the package's files), :mod:`.products`,
:mod:`.credits`, :mod:`.xml` (metadata.xml) and :mod:`.package` (one delivery). The checks of a
rendered package (XSD, files, vendor id) live in :mod:`stardust_git.checks.apple`; the apple
format is registered in :func:`stardust_git.render.render_package`.

The XML has no volatile field, so the fingerprint is the SHA-256 of the full rendering (with the
file elements, whatever ``include_assets`` says): a changed asset changes it, a re-render does not.
"""

from stardust_git.render.apple.credits import (
    Credit,
    apple_contributor_role,
    artist_credits,
    track_credits,
)
from stardust_git.render.apple.files import PackageAssets, package_assets
from stardust_git.render.apple.package import apple_target, render_apple_package, vendor_id_of
from stardust_git.render.apple.products import (
    Product,
    products_for,
    store_territories,
    takedown_products,
    track_products,
)
from stardust_git.render.apple.spec import (
    FORMAT,
    LOSSLESS_CODECS,
    MAX_TRACKS,
    METADATA_FILE,
    MIN_BITS_PER_SAMPLE,
    MIN_COVER_EDGE,
    MIN_SAMPLE_RATE,
    NAMESPACE,
    SCHEMA_RESOURCE,
    SPEC_VERSION,
    VENDOR_ID,
    WORLDWIDE,
    Loc,
)
from stardust_git.render.apple.xml import album_xml, genre_code, serialise, takedown_xml

__all__ = [
    "FORMAT",
    "LOSSLESS_CODECS",
    "MAX_TRACKS",
    "METADATA_FILE",
    "MIN_BITS_PER_SAMPLE",
    "MIN_COVER_EDGE",
    "MIN_SAMPLE_RATE",
    "NAMESPACE",
    "SCHEMA_RESOURCE",
    "SPEC_VERSION",
    "VENDOR_ID",
    "WORLDWIDE",
    "Credit",
    "Loc",
    "PackageAssets",
    "Product",
    "album_xml",
    "apple_contributor_role",
    "apple_target",
    "artist_credits",
    "genre_code",
    "package_assets",
    "products_for",
    "render_apple_package",
    "serialise",
    "store_territories",
    "takedown_products",
    "takedown_xml",
    "track_credits",
    "track_products",
    "vendor_id_of",
]
