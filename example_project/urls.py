from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from oauth2_provider import views as dot_views

from django_oauth_par.granted import AuthorizationDetailsIntrospectTokenView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # DOT's introspection, answering authorization_details too (RFC 9396 §9.2): before DOT's URLs.
    path("o/introspect/", AuthorizationDetailsIntrospectTokenView.as_view()),
    # Before DOT's: DOT >= 3.5 routes a par/ of its own (check oauth_par.E008).
    path("o/", include("django_oauth_par.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # RFC 8414 §3: the metadata of the issuer http://host/o lives at the origin's root with the
    # issuer's path appended. Only that form is published here: the bare root form would name
    # http://host as issuer, which is not this server's, and RFC 9207 clients compare the two.
    path(
        ".well-known/oauth-authorization-server/o",
        dot_views.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
    path("", include("example_project.demo.urls")),
]
