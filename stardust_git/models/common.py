"""Field types shared by the models: text, identifiers, codes, path parts and secret references."""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError
from stdnum import ean, isni, isrc
from stdnum.iso7064 import mod_37_36

from stardust_git import vocabulary
from stardust_git.errors import UserError, did_you_mean
from stardust_git.models.docs import describe_fields


class StrictModel(BaseModel):
    """Base of every catalog model: unknown keys are errors and every field documents itself."""

    model_config = ConfigDict(
        extra="forbid",
        coerce_numbers_to_str=True,
        validate_default=False,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        describe_fields(cls)  # the attribute docstrings, without use_attribute_docstrings' cost
        super().__init_subclass__(**kwargs)


def _fail(kind: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context)


#: What XML 1.0 cannot carry or Unicode never means as text: C0 controls (tab, LF and CR are
#: refused too: every text field is one line), DEL and C1 controls, lone surrogates, and the
#: non-characters U+FDD0..U+FDEF and U+nFFFE/U+nFFFF.
_NOT_TEXT = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane + 0xFFFE) + chr(plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000))
    + "]"
)
_LINE_BREAKS = {"\t": "a tab", "\n": "a line break", "\r": "a line break"}


def _kind_of(char: str) -> str:
    code = ord(char)
    if char in _LINE_BREAKS:
        return _LINE_BREAKS[char]
    if code <= 0x9F:
        return "a control character"
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate"
    return "a non-character"


PLACEHOLDER = re.compile(r"TODO\([^()\n]*\)")
"""A value still to be filled in (``TODO(title)``): what templates and scaffolds leave."""


def placeholder_message(value: str) -> str | None:
    """Why ``value`` is refused when it still holds a placeholder; None when it holds none."""
    found = PLACEHOLDER.search(value) if "TODO(" in value else None
    return f"{found.group()} is a placeholder: replace it with the value" if found else None


def _check_text(value: str) -> str:
    unfilled = placeholder_message(value)
    if unfilled:
        raise PydanticCustomError("placeholder", unfilled)
    found = _NOT_TEXT.search(value)
    if found:
        char = found.group()
        raise _fail(
            "text",
            "U+{code} ({what}) at position {position}: remove it; text fields take one line of"
            " printable characters",
            code=f"{ord(char):04X}",
            what=_kind_of(char),
            position=found.start() + 1,
        )
    return value


def _as_written(value: object) -> object:
    """Text XML can carry; a plain YAML number or date is the text as written (``1.10``).

    The YAML loader remembers the source of the scalars it resolves (``yaml_text``); a boolean
    cannot carry it and is refused rather than turned into "True".
    """
    if type(value) is str:  # checked before pydantic's own refusal of lone surrogates
        # Nearly all text passes here. Every character _NOT_TEXT names is a control, a surrogate
        # or unassigned, none printable: printable text needs no search (10x faster than one).
        return value if value.isprintable() and "TODO(" not in value else _check_text(value)
    if isinstance(value, str):
        return _check_text(value)
    written = getattr(value, "yaml_text", None)
    if isinstance(written, str):
        return _check_text(written)
    if isinstance(value, bool):
        answer = str(value).lower()
        raise _fail("text", "{v} is a yes/no value, not text: put it in quotes ('{v}')", v=answer)
    if isinstance(value, dt.date):
        raise _fail("text", "a date where text is expected: put it in quotes")
    return value


def _check_icpn(value: str) -> str:
    if not (value.isascii() and value.isdigit()) or len(value) not in (12, 13):
        raise _fail("upc", "'{v}' is not a UPC-A (12 digits) or EAN-13 (13 digits)", v=value)
    # The check digit alone: ean.is_valid would clean and check the digits again (a validate of
    # 100,000 releases spends seconds there).
    if ean.calc_check_digit(value[:-1]) != value[-1]:
        raise _fail("upc", "'{v}' has a wrong check digit", v=value)
    return value


_COMPACT_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")


@lru_cache(maxsize=1024)
def _isrc_country(code: str) -> bool:
    """Whether ISRCs may start with ``code`` (a country or an agency's code), as stdnum says."""
    return isrc.is_valid(f"{code}AAA0000000")


def _check_isrc(value: str) -> str:
    # Nearly every ISRC is written compact: only the others go through stdnum's slower cleaning.
    if _COMPACT_ISRC.fullmatch(value) and _isrc_country(value[:2]):
        return value
    if not isrc.is_valid(value):
        raise _fail("isrc", "'{v}' is not a valid ISRC (CC-XXX-YY-NNNNN, 12 characters)", v=value)
    return isrc.compact(value)


def _check_isni(value: str) -> str:
    if not isni.is_valid(value):
        raise _fail("isni", "'{v}' is not a valid ISNI (16 characters, check digit)", v=value)
    return isni.compact(value)


_ISWC = re.compile(r"T-?(\d{3})\.?(\d{3})\.?(\d{3})-?(\d)")


def _check_iswc(value: str) -> str:
    # python-stdnum has no ISWC module; the check digit is CISAC's weighted sum.
    match = _ISWC.fullmatch(value.strip().upper())
    digits = "".join(match.groups()[:3]) if match else ""
    checksum = (1 + sum(i * int(d) for i, d in enumerate(digits, start=1))) % 10
    if not match or (10 - checksum) % 10 != int(match.group(4)):
        raise _fail("iswc", "'{v}' is not a valid ISWC (T-123.456.789-C)", v=value)
    return f"T{digits}{match.group(4)}"


_IPI = re.compile(r"\d{9,11}")


def _check_ipi(value: str) -> str:
    if not _IPI.fullmatch(value):
        raise _fail("ipi", "'{v}' is not an IPI name number (9 to 11 digits)", v=value)
    return value


_DPID = re.compile(r"PADPIDA[0-9A-Z]{10,11}")


def _check_party_id(value: str) -> str:
    if not _DPID.fullmatch(value):
        raise _fail(
            "party_id", "'{v}' is not a DDEX party id (PADPIDA + 10 or 11 characters)", v=value
        )
    return value


def party_id_check_character(value: str) -> str | None:
    """The expected ISO 7064 Mod 37,36 check character when ``value``'s is wrong, else None.

    Not every DPID in circulation carries a valid one, so a mismatch is a warning, not an error.
    """
    if len(value) != 18 or mod_37_36.is_valid(value):
        return None
    return mod_37_36.calc_check_digit(value[:-1])


def _check_territory(value: str) -> str:
    if not vocabulary.is_territory(value):
        hint = did_you_mean(vocabulary.suggest(value, "TerritoryCode"))
        raise _fail("territory", "'{v}' is not a DDEX territory code" + hint, v=value)
    return value


_LANGUAGE = re.compile(r"([a-z]{2,3})(-[A-Za-z]{4})?(-([A-Z]{2}|\d{3}))?")


def _check_language(value: str) -> str:
    match = _LANGUAGE.fullmatch(value)
    if not match or not vocabulary.is_language(match.group(1)):
        raise _fail("language", "'{v}' is not an ISO 639 language code (e.g. en, pt-BR)", v=value)
    return value


def _vocab_check(set_name: str, check, kind: str):  # type: ignore[no-untyped-def]
    def validate(value: str) -> str:
        if not check(value):
            hint = did_you_mean(vocabulary.suggest(value, set_name))
            raise _fail(kind, "'{v}' is not a DDEX " + set_name + hint, v=value)
        return value

    return validate


_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _check_secret(value: str) -> str:
    if not _SECRET.fullmatch(value):
        raise _fail(
            "secret",
            "secrets must be ${ENV_VAR} references, never literal values",
        )
    return value


ICPN = Annotated[str, AfterValidator(_check_icpn), Field(examples=["1234567890128"])]
ISRC = Annotated[str, AfterValidator(_check_isrc), Field(examples=["USRC12400001"])]
ISNI = Annotated[str, AfterValidator(_check_isni)]
ISWC = Annotated[str, AfterValidator(_check_iswc)]
IPI = Annotated[str, AfterValidator(_check_ipi)]
PartyId = Annotated[str, AfterValidator(_check_party_id), Field(examples=["PADPIDA2014120301A"])]
Territory = Annotated[str, AfterValidator(_check_territory), Field(examples=["Worldwide", "US"])]
Language = Annotated[str, AfterValidator(_check_language), Field(examples=["en", "pt-BR"])]
CommercialModel = Annotated[
    str, AfterValidator(_vocab_check("CommercialModelType", vocabulary.is_commercial_model, "deal"))
]
UseType = Annotated[str, AfterValidator(_vocab_check("UseType", vocabulary.is_use_type, "deal"))]
ReleaseType = Annotated[
    str, AfterValidator(_vocab_check("ReleaseType", vocabulary.is_release_type, "release_type"))
]
ParentalWarning = Annotated[
    str,
    AfterValidator(
        _vocab_check("ParentalWarningType", vocabulary.is_parental_warning, "parental_warning")
    ),
]
ArtistRole = Annotated[
    str, AfterValidator(_vocab_check("ArtistRole", vocabulary.is_artist_role, "artist_role"))
]
SecretRef = Annotated[
    str,
    AfterValidator(_check_secret),
    Field(pattern=r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$", examples=["${SPOTIFY_SFTP_KEY}"]),
]
GenreCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", examples=["ELECTRONIC"])]

Text = Annotated[
    str,
    BeforeValidator(_as_written),
    Field(json_schema_extra={"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}),
]
"""One line of text, as written: no control characters, no non-characters, never a number."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ID_PART = re.compile(r"([A-Za-z0-9][A-Za-z0-9_]*)?")
_DIRECTORY = re.compile(r"[A-Za-z0-9_.~@+=, /-]*")


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise _fail(
            "name",
            "'{v}' is not a name: letters, digits, '_', '-' and '.', starting with a letter or"
            " digit",
            v=_shown(value),
        )
    return value


def _check_id_part(value: str) -> str:
    if not _ID_PART.fullmatch(value):
        raise _fail(
            "file_name",
            "'{v}' may hold only letters, digits and '_', starting with a letter or digit"
            " (it becomes part of a file name)",
            v=_shown(value),
        )
    return value


def _check_directory(value: str) -> str:
    if not _DIRECTORY.fullmatch(value):
        raise _fail(
            "directory",
            "'{v}': a directory or prefix may hold only letters, digits, spaces and"
            " _ - . ~ @ + = , /",
            v=_shown(value),
        )
    if ".." in value.split("/"):
        raise _fail("directory", "'{v}': a '..' segment would leave the delivery area", v=value)
    return value


def _shown(value: str) -> str:
    """``value`` with anything unprintable as an escape, for a message quoting it."""
    return value.encode("unicode_escape").decode("ascii") if not value.isprintable() else value


Name = Annotated[
    str,
    BeforeValidator(_as_written),
    AfterValidator(_check_name),
    Field(json_schema_extra={"pattern": f"^{_NAME.pattern}$"}),
]
"""The name of a file in the repository (a target, a genre map): safe in a path, one part."""
FileNamePart = Annotated[
    str,
    BeforeValidator(_as_written),
    AfterValidator(_check_id_part),
    Field(json_schema_extra={"pattern": f"^{_ID_PART.pattern}$"}),
]
"""Text that becomes part of a file or folder name (letters, digits, '_')."""
Directory = Annotated[
    str,
    BeforeValidator(_as_written),
    AfterValidator(_check_directory),
    Field(json_schema_extra={"pattern": f"^(?!(.*/)?\\.\\.(/|$)){_DIRECTORY.pattern}$"}),
]
"""A delivery directory or key prefix: safe characters and '/', never a '..' segment."""


def secret_name(reference: str) -> str:
    """``${SPOTIFY_SFTP_KEY}`` -> ``SPOTIFY_SFTP_KEY``."""
    match = _SECRET.fullmatch(reference)
    if not match:
        raise UserError("a secret must be a ${ENV_VAR} reference")
    return match.group(1)


def resolve_secret(reference: str | None) -> str | None:
    """The value of the environment variable a secret reference names (never logged)."""
    if reference is None:
        return None
    name = secret_name(reference)
    value = os.environ.get(name)
    if value is None:
        raise UserError(f"the environment variable {name} is not set (referenced as ${{{name}}})")
    return value
