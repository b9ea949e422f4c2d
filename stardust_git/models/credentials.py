"""No literal credentials in targets: URLs and headers that would carry one must name a secret.

A credential written into a target file is committed, pushed and shown in every plan. So a URL
may carry no ``user:password@`` and, in its query, no parameter whose name says credential
(``api_key``, ``token``, ``sig`` ...) unless its value is a ``${ENV_VAR}`` reference; a header
whose name says credential (``Authorization``, ``X-Api-Key``, ``Cookie`` ...) takes only a
reference. Where the protocol cannot resolve references in a URL (S3, Azure), none is allowed.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_CREDENTIAL_WORDS = frozenset(
    {
        "auth",
        "authorization",
        "apikey",
        "cookie",
        "credential",
        "credentials",
        "key",
        "passwd",
        "password",
        "pwd",
        "sas",
        "secret",
        "session",
        "sessionid",
        "sig",
        "signature",
        "token",
    }
)
_CREDENTIAL_PARTS = ("apikey", "password", "secret", "signature", "token")


def is_credential_name(name: str) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    normalized = name.strip().lower()
    words = set(re.split(r"[-_.\s]+", normalized))
    squeezed = re.sub(r"[-_.\s]+", "", normalized)
    return bool(words & _CREDENTIAL_WORDS) or any(part in squeezed for part in _CREDENTIAL_PARTS)


def _refuse(message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError("credential", message, context)


def _check_url(value: str, references_resolved: bool) -> str:
    parts = urlsplit(value)
    if "@" in parts.netloc:
        raise _refuse(
            "a URL may not carry user:password@ (it would be committed): give the credential "
            "to the protocol's own setting as a ${ENV_VAR} reference"
        )
    for name, given in parse_qsl(parts.query, keep_blank_values=True):
        if not is_credential_name(name):
            continue
        if not references_resolved:
            raise _refuse(
                "the query parameter '{name}' is a credential: a URL here may carry none, give "
                "it to the protocol's own setting as a ${ENV_VAR} reference",
                name=name,
            )
        if not _REFERENCE.fullmatch(given):
            raise _refuse(
                "the query parameter '{name}' holds a literal value: a credential is only ever "
                "a ${ENV_VAR} reference ({name}=${MY_SECRET})",
                name=name,
            )
    return value


def _url_with_references(value: str) -> str:
    return _check_url(value, references_resolved=True)


def _url_without_credentials(value: str) -> str:
    return _check_url(value, references_resolved=False)


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, given in headers.items():
        if is_credential_name(name) and not _REFERENCE.fullmatch(given):
            raise _refuse(
                "the header '{name}' is a credential and holds a literal value: write it as a "
                "${ENV_VAR} reference ({name}: ${MY_SECRET})",
                name=name,
            )
    return headers


#: An URL whose credential query parameters are ``${ENV_VAR}`` references (resolved on use).
UrlWithSecretRefs = Annotated[str, AfterValidator(_url_with_references)]
#: An URL that carries no credential at all.
UrlWithoutCredentials = Annotated[str, AfterValidator(_url_without_credentials)]
#: Request headers; those whose name says credential hold only ``${ENV_VAR}`` references.
Headers = Annotated[dict[str, str], AfterValidator(_check_headers)]
