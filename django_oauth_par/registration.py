"""How a client is registered to authenticate and sign: one function reads it.

Where the installed DOT has its own client-key fields on the Application model
(``token_endpoint_auth_method``, ``client_jwks``, ``client_jwks_uri``), they are the one
source of truth and this app's fields are ignored; otherwise this app's
:class:`~django_oauth_par.models.ClientPolicy` holds them. ``require_signed_request_object``
is always this app's: DOT has no such field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from oauth2_provider.models import get_application_model

from .keys import ClientKeys
from .models import PRIVATE_KEY_JWT, ClientPolicy

DOT_KEY_FIELDS = ("token_endpoint_auth_method", "client_jwks", "client_jwks_uri")
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


@functools.cache
def dot_has_client_keys() -> bool:
    """Whether the installed DOT's Application model carries client keys of its own."""
    names = {model_field.name for model_field in get_application_model()._meta.get_fields()}
    return all(name in names for name in DOT_KEY_FIELDS)


@dataclass(frozen=True)
class Registration:
    """A client's registered authentication method, keys and signing policy."""

    #: RFC 7591 ``token_endpoint_auth_method``, or "" for "by client type".
    method: str = ""
    keys: ClientKeys = field(default_factory=ClientKeys)
    require_signed_request_object: bool = False

    @property
    def uses_private_key_jwt(self) -> bool:
        return self.method == PRIVATE_KEY_JWT

    def accepts(self, presented: str, client_type: str) -> bool:
        """Whether a client registered so may authenticate by ``presented`` (one method per client)."""
        if self.method:
            return presented == self.method
        if presented == PRIVATE_KEY_JWT:
            return False
        confidential = client_type == get_application_model().CLIENT_CONFIDENTIAL
        return presented in SECRET_METHODS if confidential else presented == "none"


def registration(application: Any) -> Registration:
    """The registration of ``application``: one query for this app's policy row, once per instance."""
    remembered = getattr(application, "_oauth_par_registration", None)
    if isinstance(remembered, Registration):
        return remembered
    application._oauth_par_registration = result = _read(application)
    return result


def _read(application: Any) -> Registration:
    policy = ClientPolicy.of(application)
    require_signed = bool(policy and policy.require_signed_request_object)
    if dot_has_client_keys():
        return Registration(
            method=application.token_endpoint_auth_method or "",
            keys=ClientKeys(jwks=application.client_jwks or "", jwks_uri=application.client_jwks_uri or ""),
            require_signed_request_object=require_signed,
        )
    if policy is None:
        return Registration()
    return Registration(
        method=policy.token_endpoint_auth_method,
        keys=ClientKeys(jwks=policy.jwks, jwks_uri=policy.jwks_uri),
        require_signed_request_object=require_signed,
    )
