"""The error page a browser gets when no redirect to the client can be trusted."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .exceptions import ParError

ERROR_TEMPLATE = "django_oauth_par/error.html"


def error_page(request: HttpRequest, error: ParError) -> HttpResponse:
    """The page a browser gets when no redirect to the client can be trusted."""
    response = TemplateResponse(
        request, ERROR_TEMPLATE, {"error": error.error, "description": error.description}, status=error.status
    )
    response["Cache-Control"] = "no-store"
    response.render()
    return response
