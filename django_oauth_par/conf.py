"""The one settings object of django-oauth-par.

Every value is read from ``settings.OAUTH2_PAR`` when it is accessed, so
``override_settings`` works in tests and nothing is frozen at import time.
Invalid values are reported by the system checks in :mod:`django_oauth_par.checks`;
code that reads them falls back to the default rather than raising.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

SETTINGS_NAME = "OAUTH2_PAR"

#: Every public key with its default. The README documents each one.
DEFAULTS: dict[str, Any] = {
    "REQUEST_URI_LIFETIME": 60,
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False,
    "MAX_BODY_BYTES": 64 * 1024,
    "MAX_PARAMETERS": 100,
    "MAX_VALUE_LENGTH": 16 * 1024,
    "VERIFIED_SECRET_CACHE_SECONDS": 0,
    "CACHE_ALIAS": "default",
    "PUSH_RATE": None,
    "FAILED_AUTHENTICATION_RATE": None,
    "MAX_REQUEST_URI_LIFETIME": 600,
    "REQUIRE_AUTHENTICATED_PUSH": False,
    "AUTHORIZATION_RESPONSE_ISS": True,
    "PROFILE": None,
}

#: What each key must be: the type and the smallest value allowed.
#: (bool is listed apart because ``isinstance(True, int)`` is true.)
POSITIVE_INTEGERS = (
    "REQUEST_URI_LIFETIME",
    "MAX_BODY_BYTES",
    "MAX_PARAMETERS",
    "MAX_VALUE_LENGTH",
    "MAX_REQUEST_URI_LIFETIME",
)
NON_NEGATIVE_INTEGERS = ("VERIFIED_SECRET_CACHE_SECONDS",)
BOOLEANS = (
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
    "REQUIRE_AUTHENTICATED_PUSH",
    "AUTHORIZATION_RESPONSE_ISS",
)
RATES = ("PUSH_RATE", "FAILED_AUTHENTICATION_RATE")
PROFILES = (None, "fapi2")


def user_settings() -> dict[str, Any]:
    value = getattr(settings, SETTINGS_NAME, None)
    return value if isinstance(value, dict) else {}


RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/minute"`` -> ``(60, 60)``: requests allowed and the window in seconds.

    The unit is read by its first letter (``s``, ``m``, ``h``, ``d``), as Django REST
    framework does. Raises ValueError for anything else.
    """
    count, _, unit = rate.partition("/")
    number = int(count)
    if number < 1 or not unit or unit[0] not in RATE_PERIODS:
        raise ValueError(f"not a rate: {rate!r}")
    return number, RATE_PERIODS[unit[0]]


def _is_rate(value: Any) -> bool:
    try:
        parse_rate(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def setting_error(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``name``, or None when it is."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if name in POSITIVE_INTEGERS and not (integer and value >= 1):
        return f"{name} must be a positive integer, not {value!r}."
    if name in NON_NEGATIVE_INTEGERS and not (integer and value >= 0):
        return f"{name} must be an integer of 0 or more, not {value!r}."
    if name in BOOLEANS and not isinstance(value, bool):
        return f"{name} must be True or False, not {value!r}."
    if name in RATES and value is not None and not _is_rate(value):
        return f"{name} must be None or a rate such as '60/minute', not {value!r}."
    if name == "PROFILE" and value not in PROFILES:
        return f"{name} must be None or 'fapi2', not {value!r}."
    if name == "CACHE_ALIAS" and value not in getattr(settings, "CACHES", {"default": {}}):
        return f"{name} must name an entry of CACHES, not {value!r}."
    return None


class Settings:
    """Attribute access to ``OAUTH2_PAR`` with defaults, read on every access."""

    def _get(self, name: str) -> Any:
        value = user_settings().get(name, DEFAULTS[name])
        if setting_error(name, value) is not None:
            return DEFAULTS[name]
        return value

    @property
    def REQUEST_URI_LIFETIME(self) -> int:  # noqa: N802 - mirrors the setting's name
        return int(self._get("REQUEST_URI_LIFETIME"))

    @property
    def REQUIRE_PUSHED_AUTHORIZATION_REQUESTS(self) -> bool:  # noqa: N802
        return bool(self._get("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"))

    @property
    def MAX_BODY_BYTES(self) -> int:  # noqa: N802
        return int(self._get("MAX_BODY_BYTES"))

    @property
    def MAX_PARAMETERS(self) -> int:  # noqa: N802
        return int(self._get("MAX_PARAMETERS"))

    @property
    def MAX_VALUE_LENGTH(self) -> int:  # noqa: N802
        return int(self._get("MAX_VALUE_LENGTH"))

    @property
    def VERIFIED_SECRET_CACHE_SECONDS(self) -> int:  # noqa: N802
        return int(self._get("VERIFIED_SECRET_CACHE_SECONDS"))

    @property
    def CACHE_ALIAS(self) -> str:  # noqa: N802
        return str(self._get("CACHE_ALIAS"))

    @property
    def PUSH_RATE(self) -> str | None:  # noqa: N802
        return self._get("PUSH_RATE")

    @property
    def FAILED_AUTHENTICATION_RATE(self) -> str | None:  # noqa: N802
        return self._get("FAILED_AUTHENTICATION_RATE")

    @property
    def MAX_REQUEST_URI_LIFETIME(self) -> int:  # noqa: N802
        return int(self._get("MAX_REQUEST_URI_LIFETIME"))

    @property
    def REQUIRE_AUTHENTICATED_PUSH(self) -> bool:  # noqa: N802
        return bool(self._get("REQUIRE_AUTHENTICATED_PUSH"))

    @property
    def AUTHORIZATION_RESPONSE_ISS(self) -> bool:  # noqa: N802
        return bool(self._get("AUTHORIZATION_RESPONSE_ISS"))

    @property
    def PROFILE(self) -> str | None:  # noqa: N802
        return self._get("PROFILE")


par_settings = Settings()
