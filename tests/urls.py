from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from oauth2_provider import urls as dot_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # Before DOT's: DOT >= 3.5 routes a par/ of its own (check oauth_par.E008).
    path("o/", include("django_oauth_par.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_metadata"))),
    path("", include("example_project.demo.urls")),
]
