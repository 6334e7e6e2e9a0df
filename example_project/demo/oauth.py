from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from django_oauth_par.granted import GrantedAuthorizationMixin


class Validator(GrantedAuthorizationMixin, OAuth2Validator):
    """DOT's validator, carrying what a pushed request granted into the tokens."""
