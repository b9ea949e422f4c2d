"""Keeping secrets out of text: every form a secret takes in what a server or an exception says.

A target names its secrets as ``${ENV_VAR}`` references; :func:`secret_values` resolves them, and
adds ``user:password`` pairs (what HTTP Basic and URLs carry). :class:`Redactor` then blanks out,
in any text, each secret as written, percent- or plus-encoded (URLs, forms), JSON-escaped, and in
base64 (standard and URL-safe, at any offset: inside ``base64(user:password)`` too), as well as
the value of any ``Authorization``/``Proxy-Authorization`` header, ``Basic``/``Bearer``
credentials, credential-named fields (``access_token``, ``client_secret`` ...) and userinfo in
URLs, whether or not their values are known here. Redaction runs on the whole text: cut it
after, never before (a secret cut in half is no longer found).
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from collections.abc import Callable, Iterable

from pydantic import BaseModel

MASK = "***"
#: Shorter values are not secrets worth blanking (they would blank ordinary words).
MIN_SECRET_CHARS = 4
#: A base64 run shorter than this is too likely to occur by chance to be blanked.
MIN_BASE64_CORE = 6

SECRET_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Bounded repeats and a lookbehind keep every pattern linear on a long text (no backtracking).
_URL_USERINFO = re.compile(
    r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://)[^/\s@\"'<>]{1,512}@", re.IGNORECASE
)
_TOKEN68 = r"[A-Za-z0-9._~+/-]+=*"
_AUTHORIZATION = re.compile(
    r"((?:proxy-)?authorization(?:\\?[\"']?\s*[:=]\s*\\?[\"']?|[\"']\s*,\s*[\"'])\s*)"
    r"(?:[A-Za-z][A-Za-z0-9-]*(?:[ \t]|\+|%20)+)?[^\s\"'\\&,;}\]]+",
    re.IGNORECASE,
)
_SCHEMED = re.compile(r"\b(Basic|Bearer)([ \t]+)(" + _TOKEN68 + ")")
_CREDENTIAL_NAME = (
    r"(?:(?:access|refresh|id)_token|token|client_secret|api[-_]?key|password|passwd|secret"
    r"|(?:x-amz-)?signature|x-amz-credential|x-amz-security-token|sig)"
)
_VALUE = r"(?P<value>[^\s\"'\\&,;}\]]+)"
#: A credential-named field's value: in a query or form (name=...), as a quoted key (JSON, a
#: Python dict), or after an unmistakable name and a colon; not "token: " in a sentence.
_CREDENTIAL_FIELDS = (
    re.compile(r"\b" + _CREDENTIAL_NAME + "=" + _VALUE, re.IGNORECASE),
    re.compile(r"([\"'])[\w.-]*" + _CREDENTIAL_NAME + r"\1\s*:\s*[\"']?" + _VALUE, re.IGNORECASE),
    re.compile(r"\b(?:(?:access|refresh|id)_token|client_secret)\s*:\s*" + _VALUE, re.IGNORECASE),
)
_PAIRS = (("username", "password"), ("client_id", "client_secret"))


def secret_names(settings: BaseModel) -> list[str]:
    """The environment variables a target's settings reference as ``${NAME}`` (whole values,
    or inside a URL's query), in order."""
    strings = _strings(settings.model_dump())
    found = [match.group(1) for value in strings for match in SECRET_REFERENCE.finditer(value)]
    return list(dict.fromkeys(found))


def secret_values(settings: BaseModel) -> list[str]:
    """The values of every ``${ENV_VAR}`` a target's settings reference, and their
    ``user:secret`` pairs (what Basic authentication and URLs carry), to keep them out."""
    values = [os.environ.get(name) for name in secret_names(settings)]
    return [value for value in values if value] + _pairs(settings)


def _pairs(settings: BaseModel) -> list[str]:
    pairs = []
    for model in _models(settings):
        for user_field, secret_field in _PAIRS:
            user, reference = getattr(model, user_field, None), getattr(model, secret_field, None)
            match = isinstance(reference, str) and SECRET_REFERENCE.fullmatch(reference)
            secret = match and os.environ.get(match.group(1))
            if isinstance(user, str) and secret:
                pairs.append(f"{user}:{secret}")
    return pairs


def _models(model: BaseModel) -> list[BaseModel]:
    nested = [value for value in vars(model).values() if isinstance(value, BaseModel)]
    return [model, *(inner for value in nested for inner in _models(value))]


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in _strings(value)]
    if isinstance(data, list | tuple):
        return [s for value in data for s in _strings(value)]
    return []


class Redactor:
    """Blanks out known secrets in every derived form, and credentials wherever they show."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self._compiled = True  # nothing to compile yet
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Also blank out these values (an OAuth2 access token obtained at run time)."""
        fresh = {s for s in secrets if len(s) >= MIN_SECRET_CHARS} - self._secrets
        if fresh:
            self._secrets |= fresh
            self._compiled = False  # compiled on first use: most runs never need it

    def __call__(self, text: str) -> str:
        if not self._compiled:
            self._known = _known_pattern(self._secrets)
            self._compiled = True
        if self._known is not None:
            text = self._known.sub(MASK, text)
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
        text = _SCHEMED.sub(_blank_credential, text)
        for pattern in _CREDENTIAL_FIELDS:
            text = pattern.sub(_blank_value, text)
        return _URL_USERINFO.sub(r"\1" + MASK + "@", text)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` (in any derived form) and without credentials."""
    return _redactor(tuple(sorted(set(secrets))))(text)


@functools.lru_cache(maxsize=64)
def _redactor(secrets: tuple[str, ...]) -> Redactor:
    return Redactor(secrets)


def _blank_value(match: re.Match[str]) -> str:
    return match.group(0)[: match.start("value") - match.start()] + MASK


def _blank_credential(match: re.Match[str]) -> str:
    scheme, space, credential = match.groups()
    if scheme == "Basic" and not _is_basic_pair(credential):
        return match.group(0)  # "Basic authentication failed" is prose, not a credential
    if scheme == "Bearer" and len(credential) < 16:
        return match.group(0)
    return f"{scheme}{space}{MASK}"


def _is_basic_pair(credential: str) -> bool:
    try:
        decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def _known_pattern(secrets: set[str]) -> re.Pattern[str]:
    forms = {form for secret in secrets for form in _forms(secret)}
    ordered = sorted(forms, key=len, reverse=True)  # the longest form wins where they overlap
    return re.compile("|".join(ordered))


def _forms(secret: str) -> list[str]:
    """Regular expressions for ``secret``: as written or encoded, and its base64 runs."""
    encoded = secret.encode()
    forms = [_escaped_form(secret)]
    for alphabet in (base64.b64encode, base64.urlsafe_b64encode):
        forms.append(re.escape(alphabet(encoded).decode()))
        forms += [re.escape(core) for core in _base64_cores(encoded, alphabet)]
    return forms


def _escaped_form(secret: str) -> str:
    """Each character as written, percent-encoded (either case), ``+`` for a space, or escaped
    as in JSON (``\\"``, ``\\uXXXX``)."""
    return "".join(_char_alternatives(char) for char in secret)


def _char_alternatives(char: str) -> str:
    percent = "".join(_hex_either_case(f"%{byte:02X}") for byte in char.encode())
    options = [re.escape(char), percent, re.escape("\\" + char)]
    if char == " ":
        options.append(r"\+")
    if ord(char) <= 0xFFFF:
        options.append(_hex_either_case(re.escape("\\u") + f"{ord(char):04X}"))
    return "(?:" + "|".join(options) + ")"


def _hex_either_case(text: str) -> str:
    return "".join(f"[{c}{c.lower()}]" if c in "ABCDEF" else c for c in text)


def _base64_cores(encoded: bytes, alphabet: Callable[[bytes], bytes]) -> list[str]:
    """The base64 characters that depend on ``encoded`` alone, for each of the three offsets
    it can start at inside a longer encoded text."""
    cores = []
    for offset in range(3):
        text = alphabet(b"\0" * offset + encoded).decode()
        first = -(-8 * offset // 6)  # the first character whose bits all come from the secret
        last = (8 * (offset + len(encoded)) - 6) // 6
        core = text[first : last + 1]
        if len(core) >= MIN_BASE64_CORE:
            cores.append(core)
    return cores
