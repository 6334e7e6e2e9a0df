from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from django_oauth_par.assertions import PrivateKeyJWTMixin
from django_oauth_par.granted import GrantedAuthorizationMixin


class Validator(PrivateKeyJWTMixin, GrantedAuthorizationMixin, OAuth2Validator):
    """DOT's validator, carrying what a pushed request granted into the tokens, and accepting
    private_key_jwt from the clients registered for it, as the PAR endpoint does."""
