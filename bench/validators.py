"""Validators with the package's verified-secret cache in front, for DOT's token endpoint."""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from django_oauth_par.secret_cache import VerifiedSecretCacheMixin
from example_project.demo.oauth import Validator as ExampleValidator


class CachedSecretValidator(VerifiedSecretCacheMixin, OAuth2Validator):
    """What a site puts in ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]`` to cache verified secrets.

    ``bench/run.py`` compares pushes with DOT's own token endpoint, so it keeps DOT's validator.
    """


class CachedSecretExampleValidator(VerifiedSecretCacheMixin, ExampleValidator):
    """The example project's validator with the cache in front, as the README tells a site to do.

    ``bench/race_soak.py`` serves the example project: its validator must keep the example's
    mixins, or the app's system checks (``oauth_par.E007``) refuse to start the server.
    """
