"""Client keys: validating a pasted JWK Set and fetching one from ``jwks_uri``.

A client's keys verify its ``private_key_jwt`` assertions and its signed request
objects. Only public signing keys of the types below are accepted, so a key that
could sign for the client (a private key) never reaches the database, and an HMAC
secret can never be confused with a public key.

``jwks_uri`` is fetched with a timeout and a size limit, cached for a bounded time
in the configured cache, re-fetched at most once per interval when a token names an
unknown ``kid``, and never while a database transaction is open: a slow key server
must not hold rows locked or a connection busy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.db import transaction
from jwcrypto import jwk
from jwcrypto.common import JWException

from . import shared_cache
from .conf import par_settings

#: Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
EC_CURVES = frozenset({"P-256", "P-384"})
OKP_CURVES = frozenset({"Ed25519"})
#: Which algorithms each key type can verify; used to refuse a key whose ``alg`` contradicts it.
ALGORITHMS_BY_KEY_TYPE = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384"}),
    "OKP": frozenset({"EdDSA", "Ed25519"}),
}
EC_ALGORITHM_CURVE = {"ES256": "P-256", "ES384": "P-384"}
#: The most keys a set may hold: more is a mistake or an attempt to make every verification slow.
MAX_KEYS = 20


class InvalidKeySetError(ValueError):
    """A JWK Set that cannot be registered; the message is safe to show an administrator."""


class KeySetUnavailableError(Exception):
    """The keys at a ``jwks_uri`` could not be obtained now."""


@dataclass(frozen=True)
class KeyDescription:
    """What the admin shows of a key: enough to recognise it, nothing secret."""

    kid: str
    kind: str
    thumbprint: str


def parse_jwk_set(text: str) -> jwk.JWKSet:
    """Parse and check a JWK Set; raise :class:`InvalidKeySetError` saying what is wrong.

    The messages never repeat key material, so they are safe to show and to log.
    """
    try:
        document = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise InvalidKeySetError('This is not JSON. Paste a JWK Set: {"keys": [...]}.') from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidKeySetError('A JWK Set is a JSON object with a "keys" array.')
    members = document["keys"]
    if not members:
        raise InvalidKeySetError("The JWK Set holds no keys.")
    if len(members) > MAX_KEYS:
        raise InvalidKeySetError(f"The JWK Set holds more than {MAX_KEYS} keys.")
    keyset = jwk.JWKSet()
    seen: set[str] = set()
    for position, member in enumerate(members, start=1):
        key = _parse_key(member, position)
        kid = key.get("kid")
        if kid is not None:
            if kid in seen:
                raise InvalidKeySetError(f"Two keys have the kid {kid!r}; each kid must name one key.")
            seen.add(kid)
        keyset.add(key)
    return keyset


def _parse_key(member: Any, position: int) -> jwk.JWK:
    where = f"Key {position}"
    if not isinstance(member, dict):
        raise InvalidKeySetError(f"{where} is not a JSON object.")
    if isinstance(member.get("kid"), str):
        where = f"Key {position} (kid {member['kid'][:64]!r})"
    private = sorted(PRIVATE_MEMBERS & member.keys())
    if private:
        # Nothing of the key is echoed back: the message names the members only.
        raise InvalidKeySetError(
            f"{where} is a private or secret key (it has {', '.join(private)}). Register the public "
            "key only; keep the private key with the client. Nothing was saved."
        )
    kty = member.get("kty")
    if kty not in ALGORITHMS_BY_KEY_TYPE:
        raise InvalidKeySetError(
            f"{where} has key type {kty!r}; use RSA, EC (P-256, P-384) or OKP (Ed25519)."
        )
    if "kid" in member and not (isinstance(member["kid"], str) and member["kid"]):
        raise InvalidKeySetError(f"{where} has a kid that is not a non-empty string.")
    use = member.get("use")
    if use is not None and use != "sig":
        raise InvalidKeySetError(f'{where} is marked "use": {use!r}; only signing keys ("sig") are accepted.')
    ops = member.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise InvalidKeySetError(f'{where} has key_ops without "verify".')
    alg = member.get("alg")
    if alg is not None and alg not in ALGORITHMS_BY_KEY_TYPE[kty]:
        raise InvalidKeySetError(f"{where} declares alg {alg!r}, which a {kty} key cannot verify.")
    try:
        key = jwk.JWK(**member)
        # Building the verification key checks the numbers themselves (a point on the curve,
        # a usable modulus), which importing the JSON does not.
        public = key.get_op_key("verify")
    except (JWException, ValueError, TypeError, KeyError, AttributeError, NotImplementedError):
        raise InvalidKeySetError(f"{where} is not a well-formed {kty} public key.") from None
    if kty == "RSA":
        bits = public.key_size
        if bits < MIN_RSA_BITS:
            raise InvalidKeySetError(
                f"{where} is an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required."
            )
    elif kty == "EC":
        if member.get("crv") not in EC_CURVES:
            raise InvalidKeySetError(f"{where} is on curve {member.get('crv')!r}; use P-256 or P-384.")
        if alg is not None and EC_ALGORITHM_CURVE.get(alg) != member["crv"]:
            raise InvalidKeySetError(
                f"{where} declares alg {alg!r}, which does not match curve {member['crv']}."
            )
    elif member.get("crv") not in OKP_CURVES:
        raise InvalidKeySetError(f"{where} is on curve {member.get('crv')!r}; use Ed25519.")
    return key


def public_json(keyset: jwk.JWKSet) -> str:
    """The set as it is stored: public members only, in a stable form."""
    return json.dumps({"keys": [json.loads(key.export_public()) for key in keyset]}, sort_keys=True)


def describe(keyset: jwk.JWKSet) -> list[KeyDescription]:
    """Key id, type and RFC 7638 SHA-256 thumbprint of each key, for the admin."""
    rows = []
    for key in keyset:
        kty = key.get("kty")
        kind = f"RSA {key.get_op_key('verify').key_size} bits" if kty == "RSA" else f"{kty} {key.get('crv')}"
        rows.append(KeyDescription(kid=key.get("kid") or "—", kind=kind, thumbprint=key.thumbprint()))
    return rows


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> jwk.JWKSet:
    # Parsing imports every key into the crypto library; a verified set is immutable, so
    # each distinct text is parsed once per process rather than once per request.
    return parse_jwk_set(text)


def check_jwks_uri(uri: str) -> None:
    """Raise :class:`InvalidKeySetError` unless ``uri`` may be fetched: HTTPS, or HTTP in development."""
    parts = urlsplit(uri)
    allowed = ("https", "http") if par_settings.JWKS_URI_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidKeySetError(
            "jwks_uri must be an https URL"
            + (" or, in development, an http URL." if par_settings.JWKS_URI_ALLOW_HTTP else ".")
        )
    if parts.fragment or parts.username or parts.password:
        raise InvalidKeySetError("jwks_uri must not carry a fragment or credentials.")


@dataclass(frozen=True)
class ClientKeys:
    """Where a client's keys come from: a registered set, a URL, or neither."""

    jwks: str = ""
    jwks_uri: str = ""

    def keys(self, kid: str | None) -> jwk.JWKSet:
        """The client's keys, fresh enough to hold ``kid`` when the client has it.

        Raises :class:`InvalidKeySetError` or :class:`KeySetUnavailableError` when there are none to use.
        """
        if self.jwks:
            return _parsed(self.jwks)
        if self.jwks_uri:
            return remote_keys(self.jwks_uri, kid)
        raise KeySetUnavailableError("The client has no registered keys.")


def _cache_keys(uri: str) -> tuple[str, str, str]:
    digest = hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()
    return f"oauth_par:jwks:{digest}", f"oauth_par:jwks-refetch:{digest}", f"oauth_par:jwks-down:{digest}"


def remote_keys(uri: str, kid: str | None) -> jwk.JWKSet:
    """The set at ``uri``: from the cache, else fetched; fetched again for an unknown ``kid``.

    A re-fetch for an unknown ``kid`` happens at most once per ``JWKS_REFETCH_INTERVAL``
    per URL across all workers (an atomic ``cache.add`` elects the one that fetches), and
    a failed fetch is not retried within that interval either, so unknown ``kid`` values
    and a key server that is down cannot turn every request into a fetch.
    """
    interval = par_settings.JWKS_REFETCH_INTERVAL
    entry_key, refetch_key, down_key = _cache_keys(uri)
    cached = _cache_call("get", entry_key)
    if isinstance(cached, str):
        keyset = _parsed(cached)
        if kid is None or _has_kid(keyset, kid) or not _cache_call("add", refetch_key, 1, timeout=interval):
            return keyset  # an unknown kid then fails verification; no new fetch this interval
    elif _cache_call("get", down_key) is not None:
        raise KeySetUnavailableError("The client's keys could not be fetched recently; try again later.")
    try:
        text = fetch_jwk_set(uri)
    except KeySetUnavailableError:
        _cache_call("set", down_key, 1, timeout=interval)
        raise
    _cache_call("set", entry_key, text, timeout=par_settings.JWKS_CACHE_SECONDS)
    return _parsed(text)


def _cache_call(operation: str, *args: Any, **kwargs: Any) -> Any:
    # The cache bounds fetches per interval: without it every request could fetch, so it fails closed.
    return shared_cache.call("client keys from jwks_uri", operation, *args, **kwargs)


def cached_keys(uri: str) -> jwk.JWKSet | None:
    """The set last fetched from ``uri``, if the cache still holds it; never fetches."""
    cached = _cache_call("get", _cache_keys(uri)[0])
    if not isinstance(cached, str):
        return None
    try:
        return _parsed(cached)
    except InvalidKeySetError:
        return None


def _has_kid(keyset: jwk.JWKSet, kid: str) -> bool:
    return any(key.get("kid") == kid for key in keyset)


def fetch_jwk_set(uri: str) -> str:
    """GET ``uri`` and return a checked JWK Set as text; raise :class:`KeySetUnavailableError` otherwise."""
    if transaction.get_connection().in_atomic_block:
        # A fetch may take the whole timeout; inside a transaction it would hold its locks that long.
        raise KeySetUnavailableError("The client's keys cannot be fetched inside a database transaction.")
    try:
        check_jwks_uri(uri)
    except InvalidKeySetError as error:
        raise KeySetUnavailableError(str(error)) from None
    timeout = float(par_settings.JWKS_FETCH_TIMEOUT)
    limit = par_settings.JWKS_MAX_BYTES
    deadline = time.monotonic() + timeout
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False, num_pools=1
    )
    try:
        response = http.request(
            "GET",
            uri,
            headers={"Accept": "application/jwk-set+json, application/json"},
            redirect=False,
            preload_content=False,
        )
        try:
            if response.status != 200:
                raise KeySetUnavailableError(f"The jwks_uri answered with status {response.status}.")
            body = _read_limited(response.stream(8192), limit, deadline)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError:
        raise KeySetUnavailableError("The jwks_uri could not be reached in time.") from None
    finally:
        http.clear()
    try:
        text = body.decode("utf-8")
        parse_jwk_set(text)
    except (UnicodeDecodeError, InvalidKeySetError) as error:
        detail = str(error) if isinstance(error, InvalidKeySetError) else "It is not UTF-8."
        raise KeySetUnavailableError(f"The jwks_uri did not return a usable JWK Set. {detail}") from None
    return text


def _read_limited(chunks: Iterable[bytes], limit: int, deadline: float) -> bytes:
    """Read at most ``limit`` bytes before ``deadline``; a slow drip or a flood is cut off."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise KeySetUnavailableError(f"The jwks_uri returned more than {limit} bytes.")
        if time.monotonic() > deadline:
            raise KeySetUnavailableError("The jwks_uri could not be read in time.")
    return bytes(body)
