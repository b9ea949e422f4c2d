"""A delivery target: one YAML file under targets/ describing a DSP endpoint."""

from __future__ import annotations

import base64
import binascii
import re
from importlib.metadata import entry_points
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from stardust_git.models.common import (
    Directory,
    FileNamePart,
    Name,
    PartyId,
    SecretRef,
    StrictModel,
    Text,
)
from stardust_git.models.credentials import Headers, UrlWithoutCredentials, UrlWithSecretRefs

Choreography = Literal["release-by-release", "batch"]

_HOST_KEY = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521)"
    r" ([A-Za-z0-9+/]+={0,2})"
)


def _check_host_key(value: str) -> str:
    match = _HOST_KEY.fullmatch(value.strip())
    try:
        valid = bool(match) and len(base64.b64decode(match.group(2), validate=True)) > 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise PydanticCustomError(
            "host_key",
            "expected a public host key such as 'ssh-ed25519 AAAA...' (as in known_hosts)",
        )
    return value.strip()


HostKey = Annotated[str, AfterValidator(_check_host_key)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Party(StrictModel):
    """A DDEX party: the sender or the recipient of messages."""

    party_id: PartyId
    """The DDEX party id (DPID), PADPIDA..."""
    name: Text = Field(min_length=1)
    """The party's name."""


class DeliveryBase(StrictModel):
    """Settings every protocol shares."""

    choreography: Choreography = "release-by-release"
    """DDEX choreography: one folder per release, or batches closed by a BatchComplete manifest."""
    max_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per file on transient errors (exponential backoff with jitter)."""
    breaker_threshold: int = Field(default=3, ge=1, le=100)
    """Consecutive failed deliveries after which the rest of this target's run is skipped."""
    connections: int = Field(default=4, ge=1, le=32)
    """Connections to the target used at once (SFTP and FTP sessions, object uploads, HTTP
    requests): each carries whole releases, in order; a batch's BatchComplete goes last."""


class LocalDelivery(DeliveryBase):
    """Delivery into a directory on this machine (the embedded target: no server needed)."""

    protocol: Literal["local"]
    """Protocol name."""
    directory: Directory = Field(min_length=1)
    """Directory to deliver into, relative to the repository root or absolute."""


class FtpDelivery(DeliveryBase):
    """Delivery over plain FTP (passive mode)."""

    protocol: Literal["ftp"]
    """Protocol name."""
    host: Text = Field(min_length=1)
    """Server host name."""
    port: Port = 21
    """Server port."""
    username: Text = Field(min_length=1)
    """Login name."""
    password: SecretRef
    """Login password, as a ${ENV_VAR} reference."""
    directory: Directory = "/"
    """Remote directory to deliver into."""
    block_size: int = Field(default=1 << 20, ge=8192)
    """Bytes per write; 1 MiB keeps TLS overhead low."""


class FtpsDelivery(FtpDelivery):
    """Delivery over FTP with explicit TLS; the certificate is verified."""

    protocol: Literal["ftps"]  # type: ignore[assignment]
    """Protocol name."""
    ca_file: Text | None = None
    """CA bundle to verify the server certificate against; the system store when absent."""


class SftpDelivery(DeliveryBase):
    """Delivery over SFTP with a pinned host key."""

    protocol: Literal["sftp"]
    """Protocol name."""
    host: Text = Field(min_length=1)
    """Server host name."""
    port: Port = 22
    """Server port."""
    username: Text = Field(min_length=1)
    """Login name."""
    private_key: SecretRef | None = None
    """Private key (PEM/OpenSSH text), as a ${ENV_VAR} reference."""
    passphrase: SecretRef | None = None
    """Passphrase of the private key, as a ${ENV_VAR} reference."""
    password: SecretRef | None = None
    """Login password, as a ${ENV_VAR} reference."""
    host_key: HostKey
    """The server's public host key; any other key is refused before anything is sent."""
    directory: Directory = "/"
    """Remote directory to deliver into."""
    request_size: int = Field(default=261_120, ge=4096, le=261_120)
    """Bytes per SFTP write request (some servers accept no more than 32768)."""
    streams: int = Field(default=4, ge=1, le=16)
    """SFTP sessions, on the one SSH connection, that upload parts of a large file at once.
    Each has its own flow-control window, which is what limits a single session on a
    long-distance link; 1 sends every file whole. A server that refuses extra sessions gets as
    many as it accepts."""

    @model_validator(mode="after")
    def _one_credential(self) -> SftpDelivery:
        if not self.private_key and not self.password:
            raise PydanticCustomError("credential", "sftp needs private_key or password")
        return self


class S3Delivery(DeliveryBase):
    """Delivery into an Amazon S3 (or S3-compatible) bucket."""

    protocol: Literal["s3"]
    """Protocol name."""
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
    """Bucket name."""
    prefix: Directory = ""
    """Key prefix to deliver under."""
    region: Text | None = None
    """AWS region; from the environment when absent."""
    endpoint_url: UrlWithoutCredentials | None = None
    """Endpoint of an S3-compatible store (no credentials in it)."""
    access_key_id: SecretRef | None = None
    """Access key id, as a ${ENV_VAR} reference; the AWS credential chain when absent."""
    secret_access_key: SecretRef | None = None
    """Secret access key, as a ${ENV_VAR} reference."""
    server_side_encryption: Literal["AES256", "aws:kms"] | None = None
    """Server-side encryption to request."""
    kms_key_id: Text | None = None
    """KMS key for aws:kms encryption."""
    multipart_threshold_mib: int = Field(default=64, ge=5, le=5120)
    """Files larger than this are uploaded in parts."""
    part_size_mib: int = Field(default=16, ge=16, le=64)
    """Size of each part."""
    max_concurrency: int = Field(default=4, ge=1, le=32)
    """Parts uploaded at once."""

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> S3Delivery:
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise PydanticCustomError(
                "credential", "access_key_id and secret_access_key go together"
            )
        return self


class AzureDelivery(DeliveryBase):
    """Delivery into an Azure Blob Storage container."""

    protocol: Literal["azure"]
    """Protocol name."""
    container: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    """Container name."""
    prefix: Directory = ""
    """Blob name prefix to deliver under."""
    connection_string: SecretRef | None = None
    """Connection string, as a ${ENV_VAR} reference."""
    account_url: UrlWithoutCredentials | None = None
    """Account URL (https://<account>.blob.core.windows.net) for key or Azure AD credentials."""
    account_key: SecretRef | None = None
    """Account key, as a ${ENV_VAR} reference; the default Azure credential when absent."""
    max_concurrency: int = Field(default=4, ge=1, le=32)
    """Blocks uploaded at once."""

    @model_validator(mode="after")
    def _one_way_in(self) -> AzureDelivery:
        if not self.connection_string and not self.account_url:
            raise PydanticCustomError("credential", "azure needs connection_string or account_url")
        return self


class BearerAuth(StrictModel):
    """A static bearer token."""

    type: Literal["bearer"]
    """Authentication kind."""
    token: SecretRef
    """The token, as a ${ENV_VAR} reference."""


class BasicAuth(StrictModel):
    """HTTP Basic authentication."""

    type: Literal["basic"]
    """Authentication kind."""
    username: Text = Field(min_length=1)
    """User name."""
    password: SecretRef
    """Password, as a ${ENV_VAR} reference."""


class OAuth2Auth(StrictModel):
    """OAuth2 client credentials: a token is fetched from token_url before delivering."""

    type: Literal["oauth2"]
    """Authentication kind."""
    token_url: UrlWithSecretRefs = Field(min_length=1)
    """The token endpoint (a credential in its query only as a ${ENV_VAR} reference)."""
    client_id: Text = Field(min_length=1)
    """The client id."""
    client_secret: SecretRef
    """The client secret, as a ${ENV_VAR} reference."""
    scope: Text | None = None
    """Scope to request."""


ApiAuth = Annotated[BearerAuth | BasicAuth | OAuth2Auth, Field(discriminator="type")]


class ApiDelivery(DeliveryBase):
    """Delivery to an HTTP API: the message and its files as a streamed multipart upload."""

    protocol: Literal["api"]
    """Protocol name."""
    url: UrlWithSecretRefs = Field(pattern=r"^https?://")
    """Endpoint that receives deliveries (a credential in its query only as a ${ENV_VAR}
    reference, never user:password@)."""
    auth: ApiAuth
    """How to authenticate."""
    headers: Headers = {}
    """Extra request headers (values may be ${ENV_VAR} references; those of a header whose name
    says credential, such as Authorization or X-Api-Key, must be)."""
    timeout: float = Field(default=120.0, gt=0, le=3600)
    """Seconds to wait for the server."""


class PluginDelivery(DeliveryBase):
    """Delivery through a protocol a plugin package registers in the ``stardust_git.protocols``
    entry point group; the other settings are the plugin's own."""

    model_config = ConfigDict(extra="allow")
    protocol: Name
    """Protocol name, as the plugin registers it."""

    @field_validator("protocol")
    @classmethod
    def _installed(cls, protocol: str) -> str:
        known = sorted(entry.name for entry in entry_points(group=PROTOCOL_ENTRY_POINTS))
        if protocol not in known:
            raise PydanticCustomError(
                "protocol",
                "no delivery protocol '{protocol}' is installed (known: {known})",
                {"protocol": protocol, "known": ", ".join(known)},
            )
        return protocol


PROTOCOL_ENTRY_POINTS = "stardust_git.protocols"
BUILT_IN_PROTOCOLS = frozenset({"local", "ftp", "ftps", "sftp", "s3", "azure", "api"})


def _delivery_kind(value: object) -> str:
    """The built-in protocol a delivery names, else "plugin"."""
    protocol = value.get("protocol") if isinstance(value, dict) else getattr(value, "protocol", "")
    return protocol if protocol in BUILT_IN_PROTOCOLS else "plugin"


Delivery = Annotated[
    Annotated[LocalDelivery, Tag("local")]
    | Annotated[FtpDelivery, Tag("ftp")]
    | Annotated[FtpsDelivery, Tag("ftps")]
    | Annotated[SftpDelivery, Tag("sftp")]
    | Annotated[S3Delivery, Tag("s3")]
    | Annotated[AzureDelivery, Tag("azure")]
    | Annotated[ApiDelivery, Tag("api")]
    | Annotated[PluginDelivery, Tag("plugin")],
    Discriminator(_delivery_kind),
]


class Target(StrictModel):
    """A delivery target: what to render for a DSP and how to deliver it."""

    format: Literal["ern", "apple"]
    """ern: a DDEX ERN message; apple: an Apple Music .itmsp package."""
    ern_version: Literal["3.8.2", "4.2", "4.3"] | None = None
    """ERN version to render (format: ern)."""
    sender: Party | None = None
    """The DDEX party sending (format: ern)."""
    recipient: Party | None = None
    """The DDEX party receiving (format: ern)."""
    message_control_type: Literal["LiveMessage", "TestMessage"] = "LiveMessage"
    """LiveMessage for production, TestMessage for a DSP's test feed."""
    update_indicator: bool = False
    """ERN 3.8.2 only: write the deprecated UpdateIndicator (OriginalMessage for an initial
    delivery, UpdateMessage for an update or a takedown) when the DSP asks for it. It says
    nothing about how a takedown's deals are written: that is ``takedown_form``."""
    takedown_form: Literal["end-dated", "TakeDown"] = "end-dated"
    """ERN 3.8.2 only: how a takedown (and a withdrawn territory) states its deals.
    ``end-dated``: each deal that had started ends ``takedown_end_days_ago`` days ago, a deal
    that had not started is left out (as in ERN 4.x). ``TakeDown``: the deprecated
    DealTerms/TakeDown form, one TakeDown per deal, effective the day after that end date; only
    for DSPs that ask for it."""
    takedown_end_days_ago: int = Field(default=2, ge=2, le=365)
    """How many days before the delivery's date (UTC) a takedown's deals end. At least 2: the
    day before is still today west of UTC, so only an end two days back is past in every time
    zone (YouTube asks for that). A deal that starts later than that end date is withdrawn (not
    stated) rather than given a window it never had."""
    resend_assets: Literal["changed", "always"] = "changed"
    """When an update sends the audio and the cover again. ``changed``: only when one of them
    differs (name or MD5) from what the successful deliveries since the last takedown sent to
    this target; otherwise the update is the message alone, which states each file it does not
    carry (ERN 4.x: IsProvidedInDelivery false; 3.8.2 and Apple: no file entry). ``always``:
    every update sends every file. A takedown never sends files."""
    release_profile: Text | None = None
    """ReleaseProfileVersionId the messages declare. ERN 4.x: an allowed value, overriding the
    default from the release type (Audio for albums, singles and EPs); 3.8.2: written only
    when set (free text there, e.g. CommonReleaseTypes/13/AudioSingle)."""
    priority: Literal["P", "N", "L"] = "N"
    """Choreography folder priority: priority, normal or low."""
    provider: Name | None = None
    """Apple: the provider short name Apple assigns (format: apple)."""
    vendor_id_prefix: FileNamePart = ""
    """Apple: prefix of the vendor id (the vendor id is the UPC after this prefix)."""
    genre_map: Name | None = None
    """Name of the genre map (genre-maps/<name>.yaml) applied when rendering."""
    genre_strict: bool = False
    """An unmappable genre is a validation error instead of using the fallback."""
    genre_fallback: Text | None = None
    """Vocabulary value used for unmappable genres; overrides the map's own fallback."""
    min_cover_size: int | None = Field(default=None, ge=100, le=10_000)
    """Smallest cover edge in pixels; 1400 for ERN and 3000 for Apple when absent."""
    delivery: Delivery
    """Where and how the packages are sent."""
    profile: Name | None = None
    """The DSP profile whose rules validate applies to every release sent here (youtube,
    apple, spotify, ..., or generic for the baseline); none when absent. ``stardust-git profile
    list`` names them."""

    @model_validator(mode="after")
    def _format_fields(self) -> Target:
        if self.format == "ern":
            missing = [
                name
                for name in ("ern_version", "sender", "recipient")
                if getattr(self, name) is None
            ]
            if missing:
                raise PydanticCustomError(
                    "format", "an ern target needs {m}", {"m": ", ".join(missing)}
                )
        if self.takedown_form == "TakeDown" and self.ern_version != "3.8.2":
            raise PydanticCustomError(
                "format", "takedown_form: TakeDown exists in ERN 3.8.2 only (4.x ends the deals)"
            )
        if self.format == "apple" and not self.provider:
            raise PydanticCustomError("format", "an apple target needs provider")
        return self

    @property
    def cover_min_size(self) -> int:
        """The minimum cover edge this target accepts."""
        return self.min_cover_size or (3000 if self.format == "apple" else 1400)
