from __future__ import annotations

from django.db import models
from oauth2_provider.models import AbstractApplication


class PartnerApplication(AbstractApplication):
    """A swapped Application model, as sites use to add their own columns."""

    partner_code = models.CharField(max_length=20, blank=True, default="")

    class Meta(AbstractApplication.Meta):
        app_label = "swapped"
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
