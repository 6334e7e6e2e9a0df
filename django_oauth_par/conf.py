"""The one table of settings of django-oauth-par.

Each setting is one row of :class:`Settings`: its name, default, kind (type and the
test a value must pass), a one-line description, an example, and whether a wrong
value weakens a protection. The same rows drive the reader (``par_settings.NAME``),
the system checks in :mod:`django_oauth_par.checks`, the start-up validation in
``AppConfig.ready()`` and the README's settings reference (``reference_table()``;
rewrite the README with ``python -m django_oauth_par.conf README.md``).

Values are read from ``settings.OAUTH2_PAR`` on every access, so ``override_settings``
works and nothing is frozen at import time. An invalid value is never replaced by the
default: it raises ``ImproperlyConfigured`` at start-up and on every access.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SETTINGS_NAME = "OAUTH2_PAR"

T = TypeVar("T")


# --- rates ---------------------------------------------------------------------------------------

RATE_UNITS = {
    **{unit: 1 for unit in ("s", "sec", "second", "seconds")},
    **{unit: 60 for unit in ("m", "min", "minute", "minutes")},
    **{unit: 3600 for unit in ("h", "hour", "hours")},
    **{unit: 86400 for unit in ("d", "day", "days")},
}
# ASCII digits only: int() would also take " 60", "6_0" and other scripts' digits.
RATE_RE = re.compile(r"([0-9]+)/([a-z]+)")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/minute"`` -> ``(60, 60)``: requests allowed and the window in seconds.

    The unit is a second, minute, hour or day, spelt out or shortened (``s``, ``sec``,
    ``m``, ``min``, ``h``, ``d``). Anything else raises ValueError, so ``"60/month"``
    is refused rather than read as a minute.
    """
    match = RATE_RE.fullmatch(rate) if isinstance(rate, str) else None
    if match is None or match.group(2) not in RATE_UNITS or int(match.group(1)) < 1:
        raise ValueError(f"not a rate: {rate!r}")
    return int(match.group(1)), RATE_UNITS[match.group(2)]


# --- kinds: what a setting accepts ---------------------------------------------------------------


@dataclass(frozen=True)
class Kind(Generic[T]):
    """The type of a setting: shown in the README and enforced on every read."""

    #: The README's "type" column, e.g. ``int, seconds``.
    label: str
    #: Completes "it must be ...", e.g. ``an integer of 1 or more``.
    requirement: str
    accepts: Callable[[Any], bool]


def integer(minimum: int, unit: str = "") -> Kind[int]:
    # bool is refused although ``isinstance(True, int)``: True is no lifetime.
    return Kind(
        label=f"int, {unit}" if unit else "int",
        requirement=f"an integer of {minimum} or more",
        accepts=lambda value: type(value) is int and value >= minimum,
    )


def _is_rate(value: Any) -> bool:
    try:
        parse_rate(value)
    except ValueError:
        return False
    return True


BOOLEAN: Kind[bool] = Kind(
    "bool", "True or False (a bool; no string is read as one)", lambda value: isinstance(value, bool)
)
OPTIONAL_RATE: Kind[str | None] = Kind(
    "str or `None`", "None or a rate such as '60/minute'", lambda value: value is None or _is_rate(value)
)
PROFILE_NAME: Kind[str | None] = Kind(
    '`None` or `"fapi2"`', "None or 'fapi2'", lambda value: value in (None, "fapi2")
)
AUTHORIZATION_DETAILS_TYPE_MAP: Kind[dict[str, str | None]] = Kind(
    "dict: type name → `None` or dotted path",
    "a dict from each type name to None or the dotted path of a callable that can be imported",
    lambda value: _types_problem(value) is None,
)
KEY_NAMES: Kind[list[str]] = Kind(
    "list of str",
    "a list of non-empty key names",
    lambda value: isinstance(value, (list, tuple)) and all(isinstance(key, str) and key for key in value),
)


def _types_problem(value: Any) -> str | None:
    from .authorization_details import types_setting_error

    return types_setting_error(value)


#: Asymmetric JWS algorithms a client's registered public keys can verify. ``none`` and the
#: HMAC algorithms are absent on purpose: they can never be allowed.
SUPPORTED_SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "EdDSA",
)
SIGNING_ALGORITHM_LIST: Kind[list[str]] = Kind(
    "list of str",
    f"a non-empty list drawn from {', '.join(SUPPORTED_SIGNING_ALGORITHMS)} (never none, never HMAC)",
    lambda value: (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(alg, str) and alg in SUPPORTED_SIGNING_ALGORITHMS for alg in value)
    ),
)
#: A skew larger than this would let tokens from the future through for minutes.
MAX_CLOCK_SKEW = 120
CLOCK_SKEW_SECONDS: Kind[int] = Kind(
    f"int, seconds (0 to {MAX_CLOCK_SKEW})",
    f"an integer from 0 to {MAX_CLOCK_SKEW}",
    lambda value: type(value) is int and 0 <= value <= MAX_CLOCK_SKEW,
)
CACHE_NAME: Kind[str] = Kind(
    "str",
    "the name of an entry of CACHES",
    lambda value: isinstance(value, str) and value in getattr(settings, "CACHES", {"default": {}}),
)


# --- the rows ------------------------------------------------------------------------------------


def user_settings() -> dict[str, Any]:
    """The site's ``OAUTH2_PAR``: ``{}`` when absent, ImproperlyConfigured when not a dict."""
    value = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME} must be a dict, not {type(value).__name__}. "
            f"Fix: write it as {SETTINGS_NAME} = {{...}} or remove it."
        )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Setting(Generic[T]):
    """One row of the table; as a class attribute of :class:`Settings` it reads its value."""

    def __init__(self, default: T, kind: Kind[T], description: str, example: T, *, security: bool) -> None:
        self.default = default
        self.kind = kind
        self.description = description
        self.example = example
        self.security = security
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return self.read()

    def read(self) -> T:
        configured = user_settings()
        if self.name not in configured:
            for key in configured:
                if key not in SETTINGS and misspelling_of(key) == self.name:
                    raise ImproperlyConfigured(misspelling_problem(key, self.name))
            return self.default
        value = configured[self.name]
        problem = self.problem(value)
        if problem is not None:
            raise ImproperlyConfigured(problem)
        return value  # type: ignore[no-any-return]  # accepted by the kind, so a T

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be this setting, with the fix; None when it can."""
        if self.kind.accepts(value):
            return None
        return (
            f"{SETTINGS_NAME}[{self.name!r}] is {_short(value)} (a {type(value).__name__}), but it must be "
            f"{self.kind.requirement}. Fix: set it to such a value (for example {self.example!r}) "
            f"or remove the key for the default, {self.default!r}."
        )


class Settings:
    """Every setting, one row each. To add one, add a row here and regenerate the README."""

    REQUEST_URI_LIFETIME = Setting(
        60,
        integer(1, "seconds"),
        "How long a `request_uri` stays usable; returned as `expires_in`.",
        90,
        security=True,
    )
    REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = Setting(
        False,
        BOOLEAN,
        "Refuse every authorization request that does not use PAR.",
        True,
        security=True,
    )
    MAX_BODY_BYTES = Setting(
        64 * 1024,
        integer(1, "bytes"),
        "Larger push bodies get `413` before anything is parsed or hashed.",
        16384,
        security=True,
    )
    MAX_PARAMETERS = Setting(100, integer(1), "Pushes with more parameters get `400`.", 50, security=True)
    MAX_VALUE_LENGTH = Setting(
        16 * 1024,
        integer(1, "characters"),
        "Longer parameter names or values get `400`.",
        4096,
        security=True,
    )
    PUSH_RATE = Setting(
        None,
        OPTIONAL_RATE,
        "Pushes allowed per authenticated (confidential) client; past it `429` with `Retry-After`. A "
        "slot is taken for the client a push claims to be before its secret is hashed, and given back if "
        "authentication fails. Public clients' pushes count against `UNAUTHENTICATED_PUSH_RATE` "
        "instead, so no one can use this up in their name. `None` turns it off.",
        "60/minute",
        security=True,
    )
    FAILED_AUTHENTICATION_RATE = Setting(
        None,
        OPTIONAL_RATE,
        "Failed client authentications allowed per address; past it every push from that address gets "
        "`429` before any secret is hashed. Each push takes a slot before it is authenticated and gives "
        "it back when authentication succeeds, so concurrent guesses pay at most this many hashes, and "
        "at most this many pushes from one address are in authentication at once.",
        "30/minute",
        security=True,
    )
    UNAUTHENTICATED_PUSH_RATE = Setting(
        "30/minute",
        OPTIONAL_RATE,
        "Pushes without client authentication (public clients, whatever secret they send) allowed per "
        "address (an IPv6 one counts as its /64); past it `429`. `None` turns it off.",
        "10/minute",
        security=True,
    )
    UNAUTHENTICATED_MAX_BODY_BYTES = Setting(
        8 * 1024,
        integer(1, "bytes"),
        "Larger bodies of pushes without client authentication get `413`.",
        4096,
        security=True,
    )
    UNAUTHENTICATED_PENDING_PER_ADDRESS = Setting(
        20,
        integer(1),
        "Unexpired, unredeemed pushes without client authentication that one address may hold per client; "
        "past it `429`.",
        5,
        security=True,
    )
    UNAUTHENTICATED_PENDING_PER_CLIENT = Setting(
        1000,
        integer(1),
        "Unredeemed pushes without client authentication a client may have stored at once (its expired "
        "ones are deleted to make room); past it `429`.",
        200,
        security=True,
    )
    VERIFIED_SECRET_CACHE_SECONDS = Setting(
        0,
        integer(0, "seconds"),
        "Remember a successfully verified client secret this long (see below); `0` is off.",
        300,
        security=True,
    )
    CACHE_ALIAS = Setting(
        "default",
        CACHE_NAME,
        "The entry of `CACHES` that holds rate counters, verified secrets, used `jti` values and fetched "
        "JWK Sets.",
        "par",
        security=True,
    )
    MAX_REQUEST_URI_LIFETIME = Setting(
        600,
        integer(1, "seconds"),
        "The longest `request_uri` lifetime a client's own policy may set; the FAPI 2.0 profile caps it "
        "at 599.",
        300,
        security=True,
    )
    REQUIRE_AUTHENTICATED_PUSH = Setting(
        False,
        BOOLEAN,
        "Refuse every push that carries no client authentication with `401 invalid_client`.",
        True,
        security=True,
    )
    AUTHORIZATION_RESPONSE_ISS = Setting(
        True,
        BOOLEAN,
        "Put `iss` in every authorization response (RFC 9207) and announce it in the metadata.",
        False,
        security=True,
    )
    PROFILE = Setting(
        None,
        PROFILE_NAME,
        '`"fapi2"` applies the FAPI 2.0 Security Profile\'s rules for PAR to every client (see below).',
        "fapi2",
        security=True,
    )

    AUTHORIZATION_DETAILS_TYPES = Setting[dict[str, str | None]](
        {},
        AUTHORIZATION_DETAILS_TYPE_MAP,
        "The RFC 9396 `authorization_details` types accepted at push, each with an optional validator "
        "(see [Rich Authorization Requests](#rich-authorization-requests-authorization_details)); "
        "`{}` refuses every push that carries details.",
        # The README's example must pass the row's own test: a path has to import here.
        {"payment_initiation": "example_project.demo.payments.validate_payment"},
        security=True,
    )
    AUDIT_TRAIL = Setting(
        True,
        BOOLEAN,
        "Store each pushed request's events as rows (see [the audit chain](#the-audit-chain-stored-rows)); "
        "signals and log lines are sent either way.",
        False,
        security=False,
    )
    AUDIT_RETENTION_DAYS = Setting(
        365,
        integer(1, "days"),
        "`clearpushedrequests` deletes audit events older than this, and chains left with no event.",
        90,
        security=False,
    )
    AUDIT_SENSITIVE_KEYS = Setting(
        [],
        KEY_NAMES,
        "Keys whose values stored audit rows keep as digests only, wherever they occur in an event's "
        "facts (nested `authorization_details` included).",
        ["creditorAccount", "iban"],
        security=True,
    )

    # Key-based clients and signed request objects (RFC 7523, RFC 9101); see the README's section.
    SIGNING_ALGORITHMS = Setting(
        ["RS256", "PS256", "ES256", "EdDSA"],
        SIGNING_ALGORITHM_LIST,
        "Algorithms accepted for `private_key_jwt` assertions and request objects, and announced in the "
        "metadata. `none` and HMAC can never be listed.",
        ["PS256", "ES256"],
        security=True,
    )
    CLIENT_ASSERTION_MAX_LIFETIME = Setting(
        300,
        integer(1, "seconds"),
        "The longest a client assertion may be valid (`exp` minus `iat`/`nbf`, or minus now).",
        60,
        security=True,
    )
    REQUEST_OBJECT_MAX_LIFETIME = Setting(
        600,
        integer(1, "seconds"),
        "The longest a request object may be valid, counted the same way.",
        300,
        security=True,
    )
    CLOCK_SKEW = Setting(
        30,
        CLOCK_SKEW_SECONDS,
        "How far ahead of ours a client's clock may be for `nbf` and `iat`; never applied to `exp`.",
        10,
        security=True,
    )
    REQUIRE_SIGNED_REQUEST_OBJECT = Setting(
        False,
        BOOLEAN,
        "Refuse every push that carries no signed request object (`request`); announced in the metadata.",
        True,
        security=True,
    )
    JWKS_URI_ALLOW_HTTP = Setting(
        False,
        BOOLEAN,
        "**Development only:** let a client's `jwks_uri` be plain `http://`.",
        True,
        security=True,
    )
    JWKS_FETCH_TIMEOUT = Setting(
        3,
        integer(1, "seconds"),
        "Connect and read timeout of a `jwks_uri` fetch, and the most the whole fetch may take.",
        2,
        security=True,
    )
    JWKS_MAX_BYTES = Setting(
        64 * 1024,
        integer(1, "bytes"),
        "A larger JWK Set is refused and not read further.",
        16384,
        security=True,
    )
    JWKS_CACHE_SECONDS = Setting(
        300,
        integer(1, "seconds"),
        "How long a fetched JWK Set is used before it is fetched again.",
        3600,
        security=False,
    )
    JWKS_REFETCH_INTERVAL = Setting(
        60,
        integer(1, "seconds"),
        "At most one fetch per `jwks_uri` in this interval, for an unknown `kid` or after a failure.",
        300,
        security=True,
    )

    @classmethod
    def rows(cls) -> list[Setting[Any]]:
        return [value for value in vars(cls).values() if isinstance(value, Setting)]


par_settings = Settings()

#: Every row by name, in the table's order.
SETTINGS: dict[str, Setting[Any]] = {row.name: row for row in Settings.rows()}


def misspelling_of(key: Any) -> str | None:
    """The setting that an unknown key was probably meant to be, or None.

    A misspelt switch would leave the real one at its default (``False``, no rate) as
    silently as an invalid value would, so it is refused in the same way.
    """
    if not isinstance(key, str) or key in SETTINGS:
        return None
    if key.upper() in SETTINGS:
        return key.upper()
    close = difflib.get_close_matches(key.upper(), list(SETTINGS), n=1, cutoff=0.85)
    return close[0] if close else None


def misspelling_problem(key: str, name: str) -> str:
    return (
        f"{SETTINGS_NAME} has the key {key!r}, which is no setting but looks like {name!r}; {name} is "
        f"left at its default, {SETTINGS[name].default!r}. Fix: rename the key to {name!r}."
    )


def unknown_keys() -> list[str]:
    """Keys that are no setting and resemble none (ImproperlyConfigured if not a dict)."""
    return [key for key in user_settings() if key not in SETTINGS and misspelling_of(key) is None]


def invalid_values() -> list[str]:
    """One message per invalid value or misspelt key (ImproperlyConfigured if not a dict)."""
    problems: list[str | None] = []
    for key, value in user_settings().items():
        meant = misspelling_of(key)
        if key in SETTINGS:
            problems.append(SETTINGS[key].problem(value))
        elif meant is not None:
            problems.append(misspelling_problem(key, meant))
    return [problem for problem in problems if problem is not None]


def validate() -> None:
    """Raise ImproperlyConfigured naming every invalid value. Called from ``AppConfig.ready()``."""
    problems = invalid_values()
    if problems:
        raise ImproperlyConfigured(" ".join(problems))


# --- the README's settings reference -------------------------------------------------------------

README_START = "<!-- settings table: generated from django_oauth_par/conf.py, do not edit by hand -->"
README_END = "<!-- end of settings table -->"


def _literal(value: Any) -> str:
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


def reference_table() -> str:
    """The README's settings table, in Markdown, one line per row of :class:`Settings`."""
    lines = [
        "| key | type | default | example | security | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in Settings.rows():
        cells = (
            f"`{row.name}`",
            row.kind.label,
            _literal(row.default),
            _literal(row.example),
            "yes" if row.security else "",
            row.description,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between the two markers replaced by ``reference_table()``."""
    head, start, rest = readme.partition(README_START)
    _old, end, tail = rest.partition(README_END)
    if not start or not end:
        raise ValueError("the README has no settings table markers")
    return f"{head}{README_START}\n{reference_table()}{README_END}{tail}"


def main(argv: list[str]) -> int:
    """``python -m django_oauth_par.conf README.md [--check]``: rewrite (or check) the table."""
    paths = [arg for arg in argv if arg != "--check"]
    path = Path(paths[0] if paths else "README.md")
    current = path.read_text(encoding="utf-8")
    wanted = readme_with_table(current)
    if current == wanted:
        return 0
    if "--check" in argv:
        print(f"{path}: the settings table is out of date", file=sys.stderr)
        return 1
    path.write_text(wanted, encoding="utf-8")
    print(f"{path}: settings table rewritten")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    sys.exit(main(sys.argv[1:]))
