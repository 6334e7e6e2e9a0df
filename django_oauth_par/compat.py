"""Where each supported django-oauth-toolkit keeps what this app uses.

DOT's next release moves its modules into role packages (``core``,
``authorization_server``, ``resource_server``); the old paths still import but warn
and are announced for removal in DOT 4.0. Every other module of this app imports
DOT's moved modules through here, so the choice is made once and neither DOT warns.

DOT 3.4 is the oldest supported: DOT 3.0 - 3.3 have no RFC 8414 metadata view and no
RFC 8707 resource indicators, which this app builds on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from oauth2_provider.oauth2_validators import is_valid_resource_uri
from oauth2_provider.settings import DEFAULTS as _DOT_DEFAULTS

try:  # DOT >= 3.5: modules split by role
    from oauth2_provider.authorization_server.forms import AllowForm
    from oauth2_provider.authorization_server.oidc.views import ConnectDiscoveryInfoView
    from oauth2_provider.authorization_server.views.base import AuthorizationView
    from oauth2_provider.authorization_server.views.introspect import IntrospectTokenView
    from oauth2_provider.authorization_server.views.metadata import OAuthServerMetadataView
    from oauth2_provider.authorization_server.views.mixins import (
        AuthorizationServerViewMixin as OAuthLibMixin,
    )
    from oauth2_provider.core.backends_oauthlib import OAuthLibCore
    from oauth2_provider.core.exceptions import FatalClientError, OAuthToolkitError
    from oauth2_provider.resource_server.views.generic import ProtectedResourceView
except ImportError:  # DOT 3.4
    from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
    from oauth2_provider.forms import AllowForm
    from oauth2_provider.oauth2_backends import OAuthLibCore
    from oauth2_provider.views import (
        AuthorizationView,
        ConnectDiscoveryInfoView,
        IntrospectTokenView,
    )
    from oauth2_provider.views.generic import ProtectedResourceView
    from oauth2_provider.views.metadata import OAuthServerMetadataView
    from oauth2_provider.views.mixins import OAuthLibMixin

__all__ = [
    "DOT_HAS_NATIVE_PAR",
    "AllowForm",
    "AuthorizationView",
    "ConnectDiscoveryInfoView",
    "FatalClientError",
    "IntrospectTokenView",
    "NativeParBypassMixin",
    "OAuthLibCore",
    "OAuthLibMixin",
    "OAuthServerMetadataView",
    "OAuthToolkitError",
    "ProtectedResourceView",
    "is_valid_resource_uri",
    "native_par_enabled",
]

#: Whether the installed DOT has a PAR of its own (its settings name ``PAR_ENABLED``).
DOT_HAS_NATIVE_PAR = "PAR_ENABLED" in _DOT_DEFAULTS


def native_par_enabled() -> bool:
    """Whether DOT's own PAR endpoint answers pushes (DOT's default on a DOT that has one)."""
    if not DOT_HAS_NATIVE_PAR:
        return False
    configured = getattr(settings, "OAUTH2_PROVIDER", None) or {}
    return bool(configured.get("PAR_ENABLED", _DOT_DEFAULTS["PAR_ENABLED"]))


class NativeParBypassMixin:
    """Keeps DOT's own ``request_uri`` handling out of a request this app has resolved.

    DOT >= 3.5 looks at ``request_uri`` and at its own "PAR required" flags in
    ``AuthorizationView.get()`` whatever ``PAR_ENABLED`` says. A request this app
    has already resolved carries the pushed parameters instead of a reference, so
    DOT would refuse it for a client whose DOT-side flag is set. This app has
    already decided; DOT is not asked again for a pushed request.
    """

    def _handle_pushed_authorization_request(self, request: Any) -> Any:
        if getattr(self, "pushed", None) is not None:
            return None
        # Not pushed: DOT's own "PAR required" flags still refuse a classic request, as before.
        return super()._handle_pushed_authorization_request(request)  # type: ignore[misc]
