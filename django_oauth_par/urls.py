"""The PAR endpoint's URL, ``oauth_par:push``, to include beside DOT's."""

from __future__ import annotations

from django.urls import path

from .views import PushedAuthorizationRequestView

app_name = "oauth_par"

urlpatterns = [
    path("par/", PushedAuthorizationRequestView.as_view(), name="push"),
]
