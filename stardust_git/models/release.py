"""A release: one YAML file under catalog/."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from stardust_git import vocabulary
from stardust_git.errors import did_you_mean
from stardust_git.models.common import (
    ICPN,
    IPI,
    ISNI,
    ISRC,
    ISWC,
    ArtistRole,
    CommercialModel,
    GenreCode,
    Language,
    Name,
    ParentalWarning,
    ReleaseType,
    StrictModel,
    Territory,
    Text,
    UseType,
)

_ISO_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?")


def parse_duration(value: object) -> float:
    """Seconds from a number or an ISO 8601 duration such as ``PT3M35S``."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", "a duration is seconds or ISO 8601 (PT3M35S)")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _ISO_DURATION.fullmatch(value.strip())
        if match and any(match.groups()):
            hours, minutes, seconds = (float(group or 0) for group in match.groups())
            return hours * 3600 + minutes * 60 + seconds
    raise PydanticCustomError(
        "duration", "'{v}' is not seconds or an ISO 8601 duration (PT3M35S)", {"v": str(value)}
    )


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(gt=0, le=86_400, json_schema_extra={"examples": [215, "PT3M35S"]}),
]


class CopyrightLine(StrictModel):
    """A P line (sound recording) or C line (artwork and text) notice."""

    year: int = Field(ge=1900, le=2100)
    """The year of first publication."""
    owner: Text = Field(min_length=1)
    """Who holds the right, e.g. the label."""


class Artist(StrictModel):
    """An artist credited on the release or a track."""

    name: Text = Field(min_length=1)
    """The artist's name as it is displayed."""
    role: ArtistRole = "MainArtist"
    """DDEX display artist role: MainArtist, FeaturedArtist, ..."""
    isni: ISNI | None = None
    """The artist's ISNI, when known."""
    ipi: IPI | None = None
    """The artist's IPI name number, when known."""


class Contributor(StrictModel):
    """Someone who contributed to a recording (producer, composer, engineer ...)."""

    name: Text = Field(min_length=1)
    """The contributor's name."""
    role: Text = Field(min_length=1)
    """A DDEX contributor role or a friendly alias (Producer, Composer); mapped per ERN version."""
    isni: ISNI | None = None
    """The contributor's ISNI, when known."""
    ipi: IPI | None = None
    """The contributor's IPI name number, when known."""

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        if not vocabulary.known_contributor_role(role):
            hint = did_you_mean(vocabulary.suggest(role, "ContributorRole"))
            raise PydanticCustomError(
                "role", "'{v}' is not a DDEX contributor role" + hint, {"v": role}
            )
        return role


class Track(StrictModel):
    """A track: one sound recording on the release."""

    isrc: ISRC
    """The recording's ISRC."""
    title: Text = Field(min_length=1)
    """The track title."""
    version: Text | None = None
    """A version or subtitle, e.g. "Radio Edit"."""
    duration: Duration
    """Length in seconds, or an ISO 8601 duration (PT3M35S); checked against the audio file."""
    audio: Text = Field(min_length=1)
    """Path of the audio file, relative to the repository root (WAV, FLAC or MP3)."""
    disc: int = Field(default=1, ge=1, le=99)
    """Disc (volume) number."""
    artists: list[Artist] | None = None
    """Track artists; the release artists when absent."""
    contributors: list[Contributor] = []
    """Producers, composers, engineers and other contributors."""
    parental_warning: ParentalWarning | None = None
    """The track's parental warning; the release's when absent."""
    iswc: ISWC | None = None
    """ISWC of the underlying musical work."""
    language: Language | None = None
    """Language of the performance; the release's when absent."""
    preview_start: int | None = Field(default=None, ge=0)
    """Where a preview clip starts, in seconds."""
    genre: GenreCode | None = None
    """The track's genre when it differs from the release's."""
    instant_grat: bool = False
    """Instant gratification: pre-order customers get this track at once, before the street date.
    Needs a deal with a ``preorder_date``; not every track of the release may be one."""


class Deal(StrictModel):
    """Where, how and from when the release may be sold or streamed."""

    territories: list[Territory] = Field(min_length=1)
    """DDEX territory codes (ISO 3166-1 alpha-2, Worldwide, ...)."""
    excluded_territories: list[Territory] = []
    """Territories carved out of the ones listed (e.g. Worldwide except US)."""
    commercial_models: list[CommercialModel] = Field(min_length=1)
    """DDEX commercial model types: SubscriptionModel, AdvertisementSupportedModel, ..."""
    use_types: list[UseType] = Field(min_length=1)
    """DDEX use types: OnDemandStream, PermanentDownload, ..."""
    start_date: dt.date
    """First day of the deal."""
    end_date: dt.date | None = None
    """Last day of the deal; open-ended when absent. A past end date takes the release down."""
    price_tier: Text | None = None
    """Wholesale price tier for stores that sell downloads (Apple)."""
    preorder_date: dt.date | None = None
    """The day the pre-order opens in this deal's territories; before ``start_date`` (the street
    date of the deal) and the release date. No pre-order when absent."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> Deal:
        if self.end_date and self.end_date < self.start_date:
            raise PydanticCustomError("dates", "end_date is before start_date")
        return self


class Release(StrictModel):
    """A release (single, EP, album): the unit that is delivered to the shops."""

    upc: ICPN
    """UPC-A (12 digits) or EAN-13 (13 digits); the check digit is verified."""
    title: Text = Field(min_length=1)
    """The release title."""
    version: Text | None = None
    """A version or subtitle, e.g. "Deluxe Edition"."""
    artists: list[Artist] = Field(min_length=1)
    """The release artists, in display order."""
    label: Text = Field(min_length=1)
    """The label name shown in the shops."""
    release_type: ReleaseType | None = None
    """DDEX release type (Single, EP, Album); derived from tracks and duration when absent."""
    release_date: dt.date
    """Street date."""
    original_release_date: dt.date | None = None
    """First release date of a reissue."""
    genre: GenreCode
    """A code from genre-maps/genres.yaml."""
    language: Language
    """Language of the release's metadata (ISO 639)."""
    p_line: CopyrightLine
    """The sound recording copyright (P line)."""
    c_line: CopyrightLine
    """The artwork and text copyright (C line)."""
    parental_warning: ParentalWarning = "NoAdviceAvailable"
    """DDEX parental warning: Explicit, NotExplicit, ExplicitContentEdited, NoAdviceAvailable."""
    cover: Text = Field(min_length=1)
    """Path of the front cover image (JPEG or PNG, square), relative to the repository root."""
    catalog_number: Text | None = None
    """The label's own catalog number."""
    tracks: list[Track] = Field(min_length=1)
    """The tracks, in order (per disc)."""
    deals: list[Deal] = []
    """Commercial terms. A live release needs at least one."""
    targets: list[Name] = []
    """Names of the targets (files in targets/) this release is delivered to."""
    takedown: bool = False
    """True takes the release down everywhere it was delivered."""
    deliver_after: dt.date | None = None
    """Hold deliveries until this date (the reconcile workflow sends them then)."""

    @model_validator(mode="after")
    def _live_release_has_deals(self) -> Release:
        if not self.takedown and not self.deals and self.targets:
            raise PydanticCustomError("deals", "a release with targets needs at least one deal")
        return self

    @property
    def duration(self) -> float:
        """Total running time in seconds."""
        return sum(track.duration for track in self.tracks)

    def effective_release_type(self) -> str:
        """The declared release type, or the one industry rules derive from the tracks."""
        if self.release_type:
            return self.release_type
        count, seconds = len(self.tracks), self.duration
        if count <= 3 and seconds < 30 * 60:
            return "Single"
        if count <= 6 and seconds < 30 * 60:
            return "EP"
        return "Album"
