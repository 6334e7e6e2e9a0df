"""The test site without this app: only django-oauth-toolkit's routes (tests/dot_only_settings.py)."""

from __future__ import annotations

from django.urls import include, path
from oauth2_provider import urls as dot_urls

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_metadata"))),
]
