"""The example site with this app's PAR endpoint in front of any PAR of DOT's own."""

from __future__ import annotations

from django.urls import include, path

from example_project.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("o/", include("django_oauth_par.urls")), *site_urlpatterns]
