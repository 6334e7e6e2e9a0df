"""The example site that also serves RFC 8414 metadata at the origin's bare root, as DOT's docs show."""

from __future__ import annotations

from django.urls import path
from oauth2_provider import views as dot_views

from example_project.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path(".well-known/oauth-authorization-server", dot_views.OAuthServerMetadataView.as_view()),
    *site_urlpatterns,
]
