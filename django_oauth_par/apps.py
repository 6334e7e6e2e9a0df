"""The app config: settings refused at start-up, signal receivers and checks connected."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoOAuthParConfig(AppConfig):
    name = "django_oauth_par"
    label = "oauth_par"
    verbose_name = _("OAuth pushed authorization requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, logins  # noqa: F401 - registers the system checks and receivers
        from .conf import validate

        # Here rather than only in a system check: gunicorn and uwsgi run ready() but no checks,
        # and an invalid value must stop the server, never become the default.
        validate()
