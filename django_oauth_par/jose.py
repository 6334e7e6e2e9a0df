"""Verifying a client's signed JWT: what client assertions and request objects share.

Each check raises the ``ParError`` its caller hands in, so an assertion fails with
``invalid_client`` and a request object with ``invalid_request_object`` while the
rules stay in one place. Nothing here logs or keeps a token.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from jwcrypto.common import JWException
from jwcrypto.jwa import JWA

from .conf import par_settings
from .exceptions import ParError
from .keys import (
    ALGORITHMS_BY_KEY_TYPE,
    EC_ALGORITHM_CURVE,
    ClientKeys,
    InvalidKeySetError,
    KeySetUnavailableError,
)

#: base64url without padding, as JWS compact serialization requires (RFC 7515 §3.1).
SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
#: A ``jti`` longer than this is refused: it is stored, so its size is bounded.
MAX_JTI_LENGTH = 256
#: The largest numeric date accepted; anything beyond is a malformed token, not a far future.
MAX_NUMERIC_DATE = 2**40

Refusal = Callable[[str], ParError]


def decode_segment(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_signed_jwt(
    token: str, keys: ClientKeys, refuse: Refusal, *, what: str, max_length: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify ``token``'s signature with the client's keys; return ``(header, claims)``.

    Only compact JWS with an allow-listed asymmetric algorithm is accepted: ``none``,
    HMAC (which would be keyed with a public key), JSON serialization, JWE and any
    ``crit`` extension are refused before a key is looked at. The header's own key
    hints (``jwk``, ``jku``, ``x5u``, ``x5c``) are ignored; only registered keys count.
    """
    if len(token) > max_length:
        raise refuse(f"The {what} is longer than {max_length} characters.")
    segments = token.split(".")
    if len(segments) == 5:
        raise refuse(f"The {what} is encrypted; encrypted tokens are not accepted. Send a signed JWT.")
    if len(segments) != 3 or not all(SEGMENT.match(segment) for segment in segments):
        raise refuse(f"The {what} is not a signed JWT in compact serialization.")
    try:
        header = json.loads(decode_segment(segments[0]))
    except (ValueError, binascii.Error, RecursionError):
        raise refuse(f"The {what}'s header is not base64url-encoded JSON.") from None
    if not isinstance(header, dict):
        raise refuse(f"The {what}'s header is not a JSON object.")
    alg = header.get("alg")
    allowed = par_settings.SIGNING_ALGORITHMS
    if not isinstance(alg, str) or alg not in allowed:
        raise refuse(f"The {what} is signed with alg {printable_alg(alg)}; accepted: {', '.join(allowed)}.")
    if not segments[2]:
        raise refuse(f"The {what} carries no signature.")
    if "crit" in header:
        raise refuse(f"The {what} names critical header extensions, which are not supported.")
    if isinstance(header.get("cty"), str) and header["cty"].upper() == "JWT":
        raise refuse(f"The {what} is a nested JWT; send the claims in the signed JWT itself.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise refuse(f"The {what}'s kid is not a string.")

    try:
        keyset = keys.keys(kid)
    except (KeySetUnavailableError, InvalidKeySetError) as error:
        raise refuse(f"The client's keys are not available: {error}") from None
    candidates = [key for key in keyset if kid is None or key.get("kid") == kid]
    if not candidates:
        raise refuse(f"No key of the client has the kid named in the {what}.")
    signing_input = f"{segments[0]}.{segments[1]}".encode("ascii")
    try:
        signature = decode_segment(segments[2])
        payload = decode_segment(segments[1])
    except (ValueError, binascii.Error):
        raise refuse(f"The {what} is not base64url-encoded.") from None
    if not any(_verifies(key, alg, signing_input, signature) for key in candidates):
        raise refuse(f"The {what}'s signature does not verify with the client's registered keys.")
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError):
        raise refuse(f"The {what}'s payload is not JSON.") from None
    if not isinstance(claims, dict):
        raise refuse(f"The {what}'s payload is not a JSON object.")
    return header, claims


def _verifies(key: Any, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``key`` verifies ``signature`` under ``alg``: only a key of the type ``alg`` needs.

    The key type is matched to the algorithm before the signature is computed, so an RSA key
    is never used for an EC algorithm or the reverse (and ES256 only with a P-256 key).
    """
    kty = key.get("kty")
    if alg not in ALGORITHMS_BY_KEY_TYPE.get(kty, ()):
        return False
    if kty == "EC" and EC_ALGORITHM_CURVE.get(alg) != key.get("crv"):
        return False
    try:
        JWA.signing_alg(alg).verify(key, signing_input, signature)
    except (InvalidSignature, JWException, ValueError, TypeError, KeyError, AttributeError):
        return False
    return True


def printable_alg(alg: Any) -> str:
    if isinstance(alg, str) and len(alg) <= 16 and alg.isprintable():
        return repr(alg)
    return "(missing or malformed)"


def numeric_date(claims: dict[str, Any], name: str, refuse: Refusal, what: str) -> float | None:
    """The claim ``name`` as seconds since the epoch (RFC 7519 §2), or None when absent."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise refuse(f"The {what}'s {name} claim is not a number.")
    if not 0 <= value < MAX_NUMERIC_DATE:
        raise refuse(f"The {what}'s {name} claim is out of range.")
    return float(value)


def check_times(claims: dict[str, Any], max_lifetime: int, refuse: Refusal, what: str) -> float:
    """Check ``exp`` (required, future, bounded), ``nbf`` and ``iat``; return ``exp``.

    The clock skew is granted to ``nbf`` and ``iat`` (a client's clock a little ahead of
    ours) and never to ``exp``. The lifetime counts from the earliest of ``nbf``/``iat``
    that the token states, else from now, so a token cannot stay valid for longer than
    ``max_lifetime`` by leaving them out.
    """
    now = time.time()
    skew = par_settings.CLOCK_SKEW
    exp = numeric_date(claims, "exp", refuse, what)
    nbf = numeric_date(claims, "nbf", refuse, what)
    iat = numeric_date(claims, "iat", refuse, what)
    if exp is None:
        raise refuse(f"The {what} has no exp claim.")
    if exp <= now:
        raise refuse(f"The {what} has expired.")
    if nbf is not None and nbf > now + skew:
        raise refuse(f"The {what} is not valid yet (nbf is in the future).")
    if iat is not None and iat > now + skew:
        raise refuse(f"The {what} was issued in the future (iat).")
    start = min(value for value in (nbf, iat, now) if value is not None)
    if exp - start > max_lifetime + skew:
        raise refuse(f"The {what} is valid for longer than the {max_lifetime} seconds allowed.")
    return exp


def check_audience(claims: dict[str, Any], accepted: Iterable[str], refuse: Refusal, what: str) -> None:
    """``aud`` must be, or be an array holding, one of ``accepted`` (RFC 7519 §4.1.3)."""
    aud = claims.get("aud")
    values = aud if isinstance(aud, list) else [aud]
    if aud is None or not values or not all(isinstance(value, str) for value in values):
        raise refuse(f"The {what} has no aud claim, or it is not a string or an array of strings.")
    if not any(candidate in values for candidate in accepted):
        raise refuse(f"The {what}'s aud does not name this server.")


def check_jti(claims: dict[str, Any], refuse: Refusal, what: str) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise refuse(f"The {what} has no jti claim.")
    if len(jti) > MAX_JTI_LENGTH:
        raise refuse(f"The {what}'s jti is longer than {MAX_JTI_LENGTH} characters.")
    return jti
