"""The test site's DOT routes without the pushed authorization request endpoint.

For the metadata and the system check (``oauth_par.W003``) of a site that does not route it.
"""

from __future__ import annotations

from django.urls import include, path
from oauth2_provider import urls as dot_urls

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_metadata"))),
]
