"""The admin reveals no pushed value, not even one character at a time through list lookups.

The lookup tests run as a staff user who may only view pushed requests and clients: the
person the lookup oracle would serve. The pages of one pushed request run as a superuser,
who still sees names, never values, and can add, change or delete nothing.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin import AllValuesFieldListFilter, ListFilter, SimpleListFilter
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_application_model

from django_oauth_par.admin import OfferedLookupsOnly
from django_oauth_par.models import ClientPolicy, PushedRequest

from .helpers import CHALLENGE, REDIRECT_URI, auth_params, push

Application = get_application_model()
CHANGELIST = "admin:oauth_par_pushedrequest_changelist"
MARKER = "hint-5e8b0c2d"


@pytest.fixture
def viewer(db: Any) -> Client:
    user = get_user_model().objects.create_user("viewer", password="viewer-password", is_staff=True)
    application_opts = Application._meta
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="oauth_par", codename="view_pushedrequest"),
        Permission.objects.get(
            content_type__app_label=application_opts.app_label,
            codename=f"view_{application_opts.model_name}",
        ),
    )
    http = Client()
    http.force_login(user)
    return http


@pytest.fixture
def rows(client: Client, confidential: Any) -> tuple[PushedRequest, PushedRequest]:
    """Two pushes: one carries the marker and was redeemed, the other is pending."""
    for params in (auth_params(login_hint=MARKER, state=f"state-{MARKER}"), auth_params()):
        assert push(client, params).status_code == 201
    marked, plain = PushedRequest.objects.order_by("id")
    PushedRequest.objects.filter(pk=marked.pk).update(redeemed_at=timezone.now(), outcome="code")
    return PushedRequest.objects.get(pk=marked.pk), plain


def listed(response: Any) -> int:
    return len(re.findall(r'<th class="field-id"', response.content.decode()))


def refused(response: Any) -> bool:
    """Django's refusal: 400 for a lookup it disallows, or its redirect to ``?e=1``."""
    if response.status_code == 400:
        return True
    return response.status_code == 302 and response["Location"].endswith("?e=1")


def changelist(http: Client, **params: str) -> Any:
    return http.get(reverse(CHANGELIST) + ("?" + urlencode(params) if params else ""))


def assert_no_stored_value(response: Any, *rows: PushedRequest) -> None:
    text = response.content.decode()
    assert MARKER not in text
    for row in rows:
        assert row.digest not in text


# --- what the list offers still works -----------------------------------------------------------


def offered_links(response: Any) -> list[str]:
    """Every filter and date-hierarchy link the changelist itself renders."""
    text = response.content.decode()
    block = text[text.index('id="changelist-filter"') :] + text[: text.index('id="changelist-filter"')]
    return sorted({html.unescape(href) for href in re.findall(r'href="(\?[^"]*)"', block)})


def test_every_offered_filter_works_for_a_viewer(viewer, rows):
    page = changelist(viewer)
    assert page.status_code == 200 and listed(page) == 2
    links = offered_links(page)
    assert any("outcome=code" in link for link in links)
    assert any("created_at__gte" in link for link in links)
    assert any("redeemed_at__isnull" in link for link in links)
    for link in links:
        response = viewer.get(reverse(CHANGELIST) + link)
        assert response.status_code == 200, link
        assert_no_stored_value(response, *rows)


def test_offered_filters_filter(viewer, rows):
    marked, _plain = rows
    today = timezone.localtime(marked.created_at)
    assert listed(changelist(viewer, outcome="code")) == 1
    assert listed(changelist(viewer, redeemed_at__isnull="True")) == 1
    assert listed(changelist(viewer, redeemed_at__isnull="False")) == 1
    assert (
        listed(changelist(viewer, created_at__year=str(today.year), created_at__month=str(today.month))) == 2
    )
    since = (today - timedelta(days=1)).isoformat()
    assert listed(changelist(viewer, created_at__gte=since)) == 2


# --- every other lookup is refused --------------------------------------------------------------


def forbidden_lookups(marked: PushedRequest) -> list[tuple[str, str]]:
    return [
        ("parameters__icontains", MARKER[:3]),
        ("parameters__contains", MARKER),
        ("parameters__regex", "hint-5"),
        ("parameters__3__1__startswith", "h"),
        ("parameters__isnull", "False"),
        ("digest__startswith", marked.digest[:1]),
        ("digest", marked.digest),
        ("digest__gt", marked.digest[:2]),
        ("digest__in", marked.digest),
        ("digest__regex", f"^{marked.digest[:2]}"),
        ("Digest__startswith", marked.digest[:1]),
        ("application__client_secret__startswith", "p"),
        ("application__client_secret__regex", "^p"),
        ("application__client_id", "conf-client"),
        ("application__name__startswith", "client"),
        ("application__user__password__startswith", "p"),
        ("application", str(marked.application_id)),
        ("application__id__exact", str(marked.application_id)),
        ("id", str(marked.pk)),
        ("id__in", f"{marked.pk},0"),
        ("pk", str(marked.pk)),
        ("expires_at__gte", "2000-01-01"),
        ("login_prompted_at__isnull", "True"),
        ("outcome__startswith", "c"),
        ("outcome__in", "code"),
        ("outcome__regex", "^c"),
        ("created_at__year__gte", "2000"),
        ("created_at__hour", "1"),
        ("redeemed_at__gt", "2000-01-01"),
    ]


def test_every_other_lookup_is_refused(viewer, rows):
    marked, _plain = rows
    for lookup, value in forbidden_lookups(marked):
        response = changelist(viewer, **{lookup: value})
        assert refused(response), (lookup, response.status_code)
        assert_no_stored_value(response, *rows)
        # Hidden behind an offered filter, too.
        response = changelist(viewer, outcome="code", **{lookup: value})
        assert refused(response), (lookup, "with an offered filter")


def test_the_refusal_is_the_same_whether_or_not_the_value_matches(viewer, rows):
    marked, _plain = rows
    hit = changelist(viewer, digest__startswith=marked.digest[:4])
    miss = changelist(viewer, digest__startswith="zzzz")
    assert (hit.status_code, hit.content) == (miss.status_code, miss.content)


def test_a_superuser_gets_the_same_refusal(admin_client, rows):
    marked, _plain = rows
    assert refused(changelist(admin_client, parameters__icontains=MARKER))
    assert refused(changelist(admin_client, digest__startswith=marked.digest[:1]))


# --- ordering, search, _to_field -----------------------------------------------------------------


@pytest.mark.parametrize(
    "order", ["1", "-1", "2.-3", "-6.7", "99", "-99", "digest", "parameters", "0.x", "1.1.1"]
)
def test_ordering_reaches_only_the_listed_columns(viewer, rows, order):
    response = changelist(viewer, o=order)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert listed(response) == 2
    else:
        assert refused(response)
    assert_no_stored_value(response, *rows)


def test_search_is_no_oracle(viewer, rows):
    hit, miss = changelist(viewer, q=MARKER), changelist(viewer, q="nothing-like-it")
    assert hit.status_code == miss.status_code
    if hit.status_code == 200:
        assert listed(hit) == listed(miss)
    assert rows[0].digest not in hit.content.decode()  # the marker is echoed: it is the viewer's own


@pytest.mark.parametrize("field", ["digest", "parameters", "outcome", "application", "login_prompted_at"])
def test_to_field_cannot_name_a_stored_value(viewer, rows, field):
    response = changelist(viewer, _to_field=field)
    assert response.status_code == 400
    assert_no_stored_value(response, *rows)


# --- the client's admin page and its list --------------------------------------------------------


def application_changelist(http: Client, **params: str) -> Any:
    opts = Application._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return http.get(url + "?" + urlencode(params))


@pytest.mark.parametrize(
    "lookup",
    [
        "pushed_authorization_policy__require_pushed_authorization_requests",
        "pushedrequest__parameters__icontains",
        "pushed_requests__parameters__icontains",
        "oauth_par_pushedrequest__digest__startswith",
    ],
)
def test_the_client_list_reaches_no_pushed_request_through_a_relation(viewer, rows, lookup):
    ClientPolicy.objects.create(application=rows[0].application, require_pushed_authorization_requests=True)
    response = application_changelist(viewer, **{lookup: "1" if "require" in lookup else MARKER[:4]})
    assert refused(response), (lookup, response.status_code)


def test_the_client_page_lists_pushes_without_values(viewer, rows):
    marked, _plain = rows
    viewer_user = get_user_model().objects.get(username="viewer")
    viewer_user.user_permissions.add(
        Permission.objects.get(content_type__app_label="oauth_par", codename="view_clientpolicy")
    )
    ClientPolicy.objects.create(application=marked.application)
    opts = Application._meta
    response = viewer.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[marked.application_id])
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "login_hint" in text  # the names of what was pushed, as designed
    assert_no_stored_value(response, *rows)


# --- the allowed lookups follow whatever filters a list declares ---------------------------------


class StateFilter(SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        raise AssertionError("never built to learn its parameter")

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset


class SpentFilter(ListFilter):
    title = "spent"

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return ["spent", "spent_before"]


def test_offered_lookups_are_derived_from_every_kind_of_filter(rf):
    class Declared(OfferedLookupsOnly):
        list_filter = (StateFilter, SpentFilter, ("outcome", AllValuesFieldListFilter), "application__name")
        date_hierarchy = "expires_at"

    model_admin = Declared(PushedRequest, admin.site)
    request = rf.get("/")
    assert model_admin.offered_lookups(request) == {
        "state",
        "spent",
        "spent_before",
        "outcome",
        "outcome__isnull",
        "application__name",
        "application__name__isnull",
        "expires_at__year",
        "expires_at__month",
        "expires_at__day",
    }
    assert model_admin.lookup_allowed("spent_before", "1", request)
    assert not model_admin.lookup_allowed("parameters__icontains", "x", request)
    assert model_admin.offered_lookups(None) == model_admin.offered_lookups(request)  # Django 4.2 passes none


# --- the pushed-request pages, as a superuser ---------------------------------------------------


STATE_SENTINEL = "state-sentinel-7d1f"
NONCE_SENTINEL = "nonce-sentinel-93ab"
RESOURCE_SENTINEL = "https://resource-sentinel.example/api"


@pytest.fixture
def admin_http(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", "root-password")
    assert client.login(username="root", password="root-password")
    return client


@pytest.fixture
def pushed(client, confidential):
    response = push(
        client,
        auth_params(
            state=STATE_SENTINEL, nonce=NONCE_SENTINEL, scope="openid read", resource=RESOURCE_SENTINEL
        ),
    )
    assert response.status_code == 201
    request_uri = response.json()["request_uri"]
    return request_uri, PushedRequest.objects.get()


def cell(html, pattern):
    match = re.search(pattern, html, re.S)
    assert match, pattern
    return match.group(1)


def assert_nothing_pushed_shown(html, request_uri, row):
    for value in (
        STATE_SENTINEL,
        NONCE_SENTINEL,
        RESOURCE_SENTINEL,
        CHALLENGE,
        REDIRECT_URI,
        request_uri,
        request_uri.rsplit(":", 1)[1],
        row.digest,
    ):
        assert value not in html, value


def test_admin_changelist_shows_names_not_values(admin_http, pushed):
    request_uri, row = pushed
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<td class="field-application[^"]*">client conf-client</td>', html)
    names = cell(html, r'<td class="field-names">(.*?)</td>')
    assert names.split(", ") == list(dict.fromkeys(name for name, _value in row.parameters))
    assert cell(html, r'<td class="field-status">(.*?)</td>') == "pending"
    assert_nothing_pushed_shown(html, request_uri, row)


def test_admin_change_page_shows_names_not_values(admin_http, pushed):
    request_uri, row = pushed
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_change", args=[row.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    readonly = re.findall(r'<div class="readonly">(.*?)</div>', html, re.S)
    assert any(re.fullmatch(r"(<a [^>]*>)?client conf-client(</a>)?", value) for value in readonly)
    expected_names = ", ".join(name for name, _value in row.parameters)
    assert expected_names in readonly
    for name in ("response_type", "redirect_uri", "state", "nonce", "code_challenge", "resource"):
        assert name in expected_names
    assert "pending" in readonly
    assert_nothing_pushed_shown(html, request_uri, row)


def test_admin_changelist_shows_redeemed_state(admin_http, pushed):
    _request_uri, row = pushed
    PushedRequest.objects.filter(pk=row.pk).update(redeemed_at=timezone.now())
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_changelist"))
    assert response.status_code == 200
    assert cell(response.content.decode(), r'<td class="field-status">(.*?)</td>') == "redeemed"


def test_admin_cannot_add(admin_http, db):
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_add"))
    assert response.status_code == 403
    changelist = admin_http.get(reverse("admin:oauth_par_pushedrequest_changelist"))
    assert reverse("admin:oauth_par_pushedrequest_add") not in changelist.content.decode()


def test_admin_cannot_delete(admin_http, pushed):
    _request_uri, row = pushed
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_delete", args=[row.pk]))
    assert response.status_code == 403
    response = admin_http.post(
        reverse("admin:oauth_par_pushedrequest_delete", args=[row.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    admin_http.post(
        reverse("admin:oauth_par_pushedrequest_changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert PushedRequest.objects.filter(pk=row.pk).exists()


def test_admin_cannot_change(admin_http, pushed):
    _request_uri, row = pushed
    response = admin_http.post(
        reverse("admin:oauth_par_pushedrequest_change", args=[row.pk]),
        {"redeemed_at_0": "2000-01-01", "redeemed_at_1": "00:00:00"},
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.redeemed_at is None


def test_admin_requires_staff(client, pushed):
    _request_uri, row = pushed
    response = client.get(reverse("admin:oauth_par_pushedrequest_change", args=[row.pk]))
    assert response.status_code == 302
    assert STATE_SENTINEL not in response.content.decode()


def test_admin_application_page_has_policy_switch(admin_http, confidential):
    response = admin_http.get(reverse("admin:oauth2_provider_application_change", args=[confidential.pk]))
    assert response.status_code == 200
    assert "require_pushed_authorization_requests" in response.content.decode()
