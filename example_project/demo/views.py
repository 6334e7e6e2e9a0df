"""A relying party living in the same site, so the demo needs one server only.

It talks to the authorization server over HTTP, exactly as a separate client would:
a server-side push, a browser redirect carrying only ``request_uri``, and a code
exchange with PKCE at the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from oauth2_provider.views.generic import ProtectedResourceView

from django_oauth_par.granted import authorization_details

from .payments import EXAMPLE

CLIENT_ID = "demo-rp"
CLIENT_SECRET = "demo-rp-secret"
SESSION_KEY = "demo_rp"


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/index.html")


def post_form(url: str, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    data = urllib.parse.urlencode(fields).encode()
    outgoing = urllib.request.Request(
        url,
        data=data,
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    nonce = secrets.token_urlsafe(16)
    redirect_uri = request.build_absolute_uri(reverse("demo:callback"))
    request.session[SESSION_KEY] = {"verifier": verifier, "state": state, "redirect_uri": redirect_uri}
    fields = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "openid profile read",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if request.POST.get("payment"):
        # A Rich Authorization Request (RFC 9396): the payment the user is asked to approve.
        fields["authorization_details"] = json.dumps([EXAMPLE])
    status, answer = post_form(request.build_absolute_uri(reverse("oauth_par:push")), fields)
    if status != 201:
        return render(
            request, "demo/result.html", {"title": "The push was refused", "result": answer}, status=502
        )
    query = urllib.parse.urlencode({"client_id": CLIENT_ID, "request_uri": answer["request_uri"]})
    return HttpResponseRedirect(f"{reverse('oauth2_provider:authorize')}?{query}")


def callback(request: HttpRequest) -> HttpResponse:
    flow = request.session.pop(SESSION_KEY, None)
    if flow is None or request.GET.get("state") != flow["state"]:
        return render(request, "demo/result.html", {"title": "Unexpected callback", "result": {}}, status=400)
    if "code" not in request.GET:
        result = {key: request.GET.get(key) for key in ("error", "error_description")}
        return render(request, "demo/result.html", {"title": "Authorization refused", "result": result})
    status, tokens = post_form(
        request.build_absolute_uri(reverse("oauth2_provider:token")),
        {
            "grant_type": "authorization_code",
            "code": request.GET["code"],
            "redirect_uri": flow["redirect_uri"],
            "code_verifier": flow["verifier"],
        },
    )
    title = "Signed in: the token response" if status == 200 else "The code exchange failed"
    return render(request, "demo/result.html", {"title": title, "result": tokens})


class PaymentView(ProtectedResourceView):
    """A resource server's view: what the presented access token may do, as approved."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return JsonResponse({"authorization_details": authorization_details(request)})
