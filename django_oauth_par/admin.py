from __future__ import annotations

from typing import Any

import oauth2_provider.admin  # noqa: F401 - DOT registers its Application admin on import
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_application_model

from .models import ClientPolicy, PushedRequest

#: How many of a client's pushes its admin page lists.
RECENT_PUSHES = 10


class ClientPolicyInline(admin.StackedInline):
    """``require_pushed_authorization_requests`` on the client's own admin page."""

    model = ClientPolicy
    can_delete = False
    max_num = 1
    min_num = 1
    extra = 0
    verbose_name = _("pushed authorization requests")
    verbose_name_plural = _("pushed authorization requests")
    fields = (
        "require_pushed_authorization_requests",
        "require_authenticated_push",
        "request_uri_lifetime",
        "redirect_uri_patterns",
        "recent_pushes",
    )
    readonly_fields = ("recent_pushes",)

    @admin.display(description=_("recent pushes"))
    def recent_pushes(self, policy: ClientPolicy) -> str:
        if policy.pk is None:
            return "—"
        rows = PushedRequest.objects.filter(application_id=policy.pk).order_by("-created_at")[:RECENT_PUSHES]
        if not rows:
            return gettext("No pushed requests are stored for this client.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("pushed"),
            _("state"),
            _("outcome"),
            _("parameter names"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (row.created_at, row.state, row.outcome or "—", ", ".join(row.parameter_names))
                    for row in rows
                ),
            ),
        )


def add_policy_inline(site: admin.AdminSite = admin.site) -> None:
    """Add the inline to whatever admin class the site registered for the Application model.

    DOT registers ``APPLICATION_ADMIN_CLASS`` for the (possibly swapped) model, so the
    inline is added by subclassing the class actually registered; nothing is replaced.
    """
    application_model = get_application_model()
    current = site._registry.get(application_model)
    if current is None or ClientPolicyInline in current.inlines:
        return
    admin_class = type(current)
    extended = type(
        admin_class.__name__,
        (admin_class,),
        {"__module__": admin_class.__module__, "inlines": [*admin_class.inlines, ClientPolicyInline]},
    )
    site.unregister(application_model)
    site.register(application_model, extended)


@admin.register(PushedRequest)
class PushedRequestAdmin(admin.ModelAdmin):
    """Read-only: the reference and the pushed values are never shown."""

    list_display = (
        "id",
        "application",
        "created_at",
        "expires_at",
        "consumed_at",
        "status",
        "outcome",
        "names",
    )
    list_filter = ("created_at", "consumed_at", "outcome")
    list_select_related = ("application",)
    ordering = ("-created_at",)
    fields = ("application", "created_at", "expires_at", "consumed_at", "status", "outcome", "names")
    readonly_fields = fields
    date_hierarchy = "created_at"

    @admin.display(description=_("state"))
    def status(self, obj: PushedRequest) -> str:
        return obj.state

    @admin.display(description=_("parameter names"))
    def names(self, obj: PushedRequest) -> str:
        return ", ".join(obj.parameter_names)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


add_policy_inline()
