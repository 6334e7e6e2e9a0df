"""The example project's URLs plus a Django REST framework resource, for the helper's test."""

from __future__ import annotations

from typing import Any

from django.urls import path
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_oauth_par.granted import authorization_details
from example_project.urls import urlpatterns as example_urlpatterns


class PaymentAPI(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"authorization_details": authorization_details(request)})


urlpatterns = [path("api/drf/payment/", PaymentAPI.as_view()), *example_urlpatterns]
