from __future__ import annotations

from django.contrib import admin


class PartnerApplicationAdmin(admin.ModelAdmin):
    """A site's own APPLICATION_ADMIN_CLASS."""

    list_display = ("name", "client_id", "partner_code")
