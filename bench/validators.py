"""DOT's validator with the verified-secret cache in front, for DOT's token endpoint."""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from django_oauth_par.secret_cache import VerifiedSecretCacheMixin


class CachedSecretValidator(VerifiedSecretCacheMixin, OAuth2Validator):
    """What a site puts in ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]`` to cache verified secrets."""
