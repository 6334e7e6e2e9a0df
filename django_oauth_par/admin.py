"""The admin: client policies and keys on the client's page; pushed requests and audit, read-only."""

from __future__ import annotations

import json
from typing import Any, cast

import django
import oauth2_provider.admin  # noqa: F401 - DOT registers its Application admin on import
from django import forms
from django.contrib import admin
from django.contrib.admin.filters import FieldListFilter, ListFilter, SimpleListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Field
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_application_model

from .authorization_details import supported_types
from .keys import InvalidKeySetError, KeyDescription, cached_keys, describe, parse_jwk_set
from .models import AuditChain, AuditEvent, ClientPolicy, PushedRequest
from .registration import dot_has_client_keys

KEY_FIELDS = ("token_endpoint_auth_method", "jwks", "jwks_uri")

#: How many of a client's pushes its admin page lists.
RECENT_PUSHES = 10


class HttpsURLField(forms.URLField):
    """A URL typed without a scheme is taken as https, the only scheme a jwks_uri may normally have."""

    def __init__(self, **kwargs: Any) -> None:
        if django.VERSION >= (5, 0):
            kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


def key_table(rows: list[KeyDescription]) -> str:
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("key id"),
        _("type"),
        _("SHA-256 thumbprint (RFC 7638)"),
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((row.kid, row.kind, row.thumbprint) for row in rows),
        ),
    )


class ClientPolicyForm(forms.ModelForm):  # type: ignore[type-arg]  # not generic at run time
    """The client's allowed ``authorization_details`` types, chosen among those registered."""

    authorization_details_types = forms.MultipleChoiceField(
        label=_("authorization details types"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=lambda: [(name, name) for name in supported_types()],
        help_text=_("The types this client may request when restricted."),
    )

    class Meta:
        model = ClientPolicy
        fields = (
            "require_pushed_authorization_requests",
            "restrict_authorization_details_types",
            "authorization_details_types",
        )
        field_classes = {"jwks_uri": HttpsURLField}
        widgets = {"jwks": forms.Textarea(attrs={"rows": 6, "cols": 80, "spellcheck": "false"})}

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self.has_error("jwks"):
            # The page is shown again with the error: never with a private key pasted by mistake.
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict when bound by a POST
            data[self.add_prefix("jwks")] = ""
            self.data = data


class ClientPolicyInline(admin.StackedInline):  # type: ignore[type-arg]  # not generic at run time
    """The client's PAR policy and keys on its own admin page."""

    model = ClientPolicy
    form = ClientPolicyForm
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
        "restrict_authorization_details_types",
        "authorization_details_types",
        "require_signed_request_object",
        *KEY_FIELDS,
        "registered_keys",
        "recent_pushes",
    )
    readonly_fields = ("registered_keys", "recent_pushes")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))
        if dot_has_client_keys():
            # DOT's own fields on this page hold the keys; two places to edit them would disagree.
            fields = [name for name in fields if name not in KEY_FIELDS]
        return fields

    @admin.display(description=_("client keys"))
    def registered_keys(self, policy: ClientPolicy) -> str:
        if dot_has_client_keys():
            return gettext(
                "This django-oauth-toolkit keeps client keys itself: the token endpoint auth method, "
                "client JWKS and client JWKS URI fields of the client above are the ones used."
            )
        if policy.jwks_uri:
            # The admin saves inside a transaction, where keys are never fetched: show the cached set.
            fetched = cached_keys(policy.jwks_uri)
            if fetched is None:
                return gettext("Fetched from the JWK Set URL when first needed, and cached.")
            return key_table(describe(fetched))
        if policy.jwks:
            try:
                return key_table(describe(parse_jwk_set(policy.jwks)))
            except InvalidKeySetError as error:
                return str(error)
        return gettext("No keys are registered.")

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


def filter_parameters(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest | None, item: Any
) -> list[str]:
    """The query parameters that one ``list_filter`` entry reads, as Django builds that filter.

    ``request`` is None only on Django 4.2, which does not hand it to ``lookup_allowed``.
    """
    if isinstance(item, type) and issubclass(item, SimpleListFilter):
        # Not built: its lookups() may query the database.
        return [item.parameter_name] if item.parameter_name else []
    if isinstance(item, type) and issubclass(item, ListFilter):
        spec = item(cast(HttpRequest, request), {}, model_admin.model, model_admin)
        return [parameter for parameter in spec.expected_parameters() if parameter]
    field, filter_class = item if isinstance(item, (list, tuple)) else (item, FieldListFilter.create)
    field_path = None
    if not isinstance(field, Field):
        field_path = field
        field = get_fields_from_path(model_admin.model, field_path)[-1]
    spec = filter_class(field, request, {}, model_admin.model, model_admin, field_path=field_path)
    return [parameter for parameter in spec.expected_parameters() if parameter]


class OfferedLookupsOnly(admin.ModelAdmin):  # type: ignore[type-arg]  # not generic at run time
    """Filter the list only by what its own filters and date hierarchy send.

    Django's admin otherwise accepts any lookup on the model's own fields from the query
    string (``?parameters__icontains=…``, ``?digest__startswith=…``): each answer tells a
    viewer whether a stored value matches, so a value can be read a character at a time
    by anyone allowed to see the list. Anything else gets Django's own refusal (400).
    """

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in self.offered_lookups(request)

    def offered_lookups(self, request: HttpRequest | None) -> set[str]:
        offered: set[str] = set()
        if self.date_hierarchy:
            offered.update(f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day"))
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        for item in list_filter:
            offered.update(filter_parameters(self, request, item))
        return offered


class ReadOnlyAdmin(OfferedLookupsOnly):
    """Nothing is added, changed or deleted here: these rows are records."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PushedRequest)
class PushedRequestAdmin(ReadOnlyAdmin):
    """Read-only: the reference and the pushed values are never shown, nor searchable."""

    list_display = (
        "id",
        "application",
        "created_at",
        "expires_at",
        "redeemed_at",
        "status",
        "outcome",
        "names",
    )
    list_filter = ("created_at", "redeemed_at", "outcome")
    list_select_related = ("application",)
    ordering = ("-created_at",)
    fields = ("application", "created_at", "expires_at", "redeemed_at", "status", "outcome", "names")
    readonly_fields = fields
    date_hierarchy = "created_at"

    @admin.display(description=_("state"))
    def status(self, obj: PushedRequest) -> str:
        return obj.state

    @admin.display(description=_("parameter names"))
    def names(self, obj: PushedRequest) -> str:
        return ", ".join(obj.parameter_names)


@admin.register(AuditChain)
class AuditChainAdmin(ReadOnlyAdmin):
    """Each pushed request's chain of events, read-only, one timeline per page.

    The filters list only the clients and users that appear in some chain; there is no free
    search, and (through :class:`OfferedLookupsOnly`) no lookup but the ones the filters send.
    """

    list_display = ("id", "client_id", "user", "outcome", "created_at")
    list_filter = (
        ("application", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        "outcome",
        "created_at",
    )
    list_select_related = ("user",)
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": ("id", "client_id", "user", "outcome", "created_at")}),
        (_("timeline"), {"fields": ("timeline",), "classes": ("wide",)}),
    )
    readonly_fields = ("id", "client_id", "user", "outcome", "created_at", "timeline")
    date_hierarchy = "created_at"

    @admin.display(description=_("timeline"))
    def timeline(self, chain: AuditChain) -> str:
        events = AuditEvent.objects.filter(audit_id=chain.pk).select_related("user").order_by("at", "id")
        if not events:
            return gettext("No events are stored for this chain.")
        return format_html(
            '<table class="audit-timeline" style="width: 100%; table-layout: auto">'
            '<thead><tr><th>{}</th><th>{}</th><th>{}</th><th style="min-width: 24em">{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            _("at"),
            _("event"),
            _("user"),
            _("facts"),
            format_html_join(
                "",
                '<tr><td style="white-space: nowrap">{}</td><td>{}</td><td>{}</td>'
                '<td style="word-break: break-word">{}</td></tr>',
                (
                    (
                        event.at.strftime("%Y-%m-%d %H:%M:%S"),
                        event.event,
                        event.user if event.user is not None else "—",
                        facts_html(event.facts),
                    )
                    for event in events
                ),
            ),
        )


def facts_html(facts: dict[str, Any]) -> str:
    """One line per fact; lists of words joined, anything nested as compact, escaped JSON."""
    if not facts:
        return "—"

    def shown(value: Any) -> str:
        if isinstance(value, list) and all(isinstance(item, (str, int)) for item in value):
            return ", ".join(str(item) for item in value) or "—"
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return "—" if value is None else str(value)

    return format_html_join(
        "", "<div><strong>{}</strong>: {}</div>", ((name, shown(value)) for name, value in facts.items())
    )


add_policy_inline()
