from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from oauth2_provider import urls as dot_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("o/", include("django_oauth_par.urls")),
    # RFC 8414 wants the metadata at the origin's root.
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_metadata"))),
    path("", include("example_project.demo.urls")),
]
