"""A relying party living in the same site, so the demo needs one server only.

It talks to the authorization server over HTTP, exactly as a separate client would:
a server-side push, a browser redirect carrying only ``request_uri``, and a code
exchange with PKCE at the token endpoint. Along the way it writes down what it sent
and received (secrets masked) so that the callback page can tell the story of the login.

The relying party never logs a ``request_uri``, a secret or a token: the story lives in
the visitor's session, and the reference is kept there only in masked form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from django_oauth_par.compat import ProtectedResourceView
from django_oauth_par.granted import authorization_details

from .payments import EXAMPLE

CLIENT_ID = "demo-rp"
CLIENT_SECRET = "demo-rp-secret"
#: A client the demo registers with "Require pushed authorization requests" ticked.
PAR_REQUIRED_CLIENT_ID = "demo-par-required"
PAR_REQUIRED_CLIENT_SECRET = "demo-par-required-secret"
#: The key-based client of the JAR scenario: private_key_jwt, signed request objects only.
JAR_CLIENT_ID = "demo-jar"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SESSION_KEY = "demo_rp"
METADATA_URL_NAME = "oauth-server-metadata"
SCOPE = "openid profile read"
HTTP_TIMEOUT = 30
#: Parameters that authenticate a client: shown masked, whatever the method.
SECRET_FIELDS = ("client_secret", "client_assertion", "code_verifier", "code", "request")
MASK = "••••••••"

#: RFC 9396 §2's payment example (the demo's registered type): what the RAR scenario pushes.
PAYMENT_DETAILS = [EXAMPLE]


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    summary: str
    #: Extra parameters pushed beside the demo's usual request.
    extra: tuple[tuple[str, str], ...] = ()


SCENARIOS = {
    scenario.key: scenario
    for scenario in (
        Scenario(
            "par",
            "Sign in with PAR",
            "The whole request is pushed over the back channel; the browser carries only a reference.",
        ),
        Scenario(
            "prompt-login",
            "PAR with prompt=login",
            "The push asks for a fresh login: the server makes you log in again, even when you already "
            "are, and the login page's next= still carries only the reference.",
            (("prompt", "login"),),
        ),
        # RAR (RFC 9396): shown only when the server advertises authorization_details types.
        Scenario(
            "rar",
            "PAR with RAR details",
            "A payment of 123.50 EUR to Merchant A is pushed as authorization_details (RFC 9396), shown "
            "on the consent page and returned with the tokens.",
            (("authorization_details", json.dumps(PAYMENT_DETAILS)),),
        ),
        # JAR (RFC 9101) with private_key_jwt (RFC 7523): shown when the server advertises both.
        Scenario(
            "jar",
            "JAR with private_key_jwt",
            "The client signs its request as a JWT (a request object) and authenticates with a signed "
            "assertion instead of a secret: a key-based client, as FAPI 2.0 asks.",
        ),
    )
}


# Talking to the authorization server ----------------------------------------------------


def basic_authorization(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def http(
    url: str, fields: dict[str, str] | None = None, authorization: str = ""
) -> tuple[int, dict[str, Any]]:
    """GET (no fields) or form POST; returns the status and the answer's JSON object."""
    headers = {"Accept": "application/json"}
    data = None
    if fields is not None:
        data = urllib.parse.urlencode(fields).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if authorization:
        headers["Authorization"] = authorization
    outgoing = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(outgoing, timeout=HTTP_TIMEOUT) as answer:
            body = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = None
    if not isinstance(document, dict):
        excerpt = body[:200].decode("utf-8", "replace")
        return status, {"error": "not a JSON object", "error_description": excerpt}
    return status, document


def post_form(url: str, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
    return http(url, fields, basic_authorization(CLIENT_ID, CLIENT_SECRET))


def server_metadata(request: HttpRequest) -> dict[str, Any]:
    """The authorization server's RFC 8414 document, read as any client would, or {} when down.

    Its address is the one RFC 8414 §3 derives from the issuer (the origin's well-known path with
    the issuer's path ``/o`` appended), routed by the example project as ``oauth-server-metadata``.
    """
    try:
        status, document = http(request.build_absolute_uri(reverse(METADATA_URL_NAME)))
    except OSError:
        return {}
    return document if status == 200 else {}


def available_features(metadata: dict[str, Any]) -> dict[str, bool]:
    """What the server can do, read from its metadata, so new scenarios appear as features land.

    RAR: ``authorization_details_types_supported`` (RFC 9396 §10). JAR with private_key_jwt:
    ``request_parameter_supported`` and ``private_key_jwt`` among the token endpoint's methods
    (RFC 9101 §10.5, RFC 8414).
    """
    return {
        "rar": "payment_initiation" in (metadata.get("authorization_details_types_supported") or []),
        "jar": bool(metadata.get("request_parameter_supported"))
        and "private_key_jwt" in (metadata.get("token_endpoint_auth_methods_supported") or []),
    }


# Showing what was sent ------------------------------------------------------------------


def masked(value: str, keep: int = 6) -> str:
    """The first characters of a value and how long it was: enough to recognise it, not to use it."""
    if len(value) <= keep:
        return MASK
    return f"{value[:keep]}… ({len(value)} characters)"


def masked_reference(request_uri: str) -> str:
    """The reference's fixed prefix and a few of its random characters."""
    prefix = "urn:ietf:params:oauth:request_uri:"
    if request_uri.startswith(prefix):
        return f"{prefix}{request_uri[len(prefix) : len(prefix) + 6]}…"
    return MASK


def shown_fields(fields: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, masked(value) if name in SECRET_FIELDS else value) for name, value in fields.items()]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# Signing, for the key-based client -------------------------------------------------------


def client_key() -> jwk.JWK:
    from example_project.keys import demo_client_key

    return jwk.JWK.from_json(demo_client_key())


def signed(claims: dict[str, Any], typ: str = "JWT") -> str:
    key = client_key()
    token = jwt.JWT(header={"alg": "ES256", "kid": key["kid"], "typ": typ}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def client_assertion(audience: str) -> str:
    """RFC 7523 §3: the client's signed statement that it is itself, good for one minute, once."""
    now = int(time.time())
    return signed(
        {
            "iss": JAR_CLIENT_ID,
            "sub": JAR_CLIENT_ID,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
    )


def key_authentication(audience: str) -> dict[str, str]:
    return {
        "client_id": JAR_CLIENT_ID,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(audience),
    }


# The pages ------------------------------------------------------------------------------


def index(request: HttpRequest) -> HttpResponse:
    metadata = server_metadata(request)
    features = available_features(metadata)
    scenarios = [s for s in SCENARIOS.values() if features.get(s.key, True)]
    return render(
        request,
        "demo/index.html",
        {
            "scenarios": scenarios,
            "features": features,
            "metadata": metadata,
            "par_required_client_id": PAR_REQUIRED_CLIENT_ID,
        },
    )


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    scenario_key = request.POST.get("scenario", "par")
    if scenario_key == "classic-refused":
        return classic_request_of_par_required_client(request)
    scenario = SCENARIOS.get(scenario_key)
    if scenario is None:
        return render(request, "demo/story.html", {"title": "Unknown scenario"}, status=400)

    verifier, challenge = pkce_pair()
    redirect_uri = request.build_absolute_uri(reverse("demo:callback"))
    client_id = JAR_CLIENT_ID if scenario.key == "jar" else CLIENT_ID
    fields = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **dict(scenario.extra),
    }
    push_url = request.build_absolute_uri(reverse("oauth_par:push"))
    request_object = ""
    if scenario.key == "jar":
        # RFC 9101: the whole request inside a JWT signed by the client, for the server as audience;
        # the client authenticates with an assertion (RFC 7523) instead of a secret.
        issuer = str(server_metadata(request).get("issuer", ""))
        now = int(time.time())
        claims = {**fields, "iss": client_id, "aud": issuer, "iat": now, "nbf": now, "exp": now + 60}
        claims["jti"] = secrets.token_urlsafe(16)
        request_object = json.dumps(claims, indent=2)
        body = {"request": signed(claims, "oauth-authz-req+jwt"), **key_authentication(issuer)}
        status, answer = http(push_url, body)
        authentication = "private_key_jwt: client_assertion signed with the client's ES256 key"
    else:
        body = fields
        status, answer = post_form(push_url, fields)
        authentication = f"Basic {MASK} ({CLIENT_ID}:{MASK})"
    authorize_path = reverse("oauth2_provider:authorize")
    classic_url = request.build_absolute_uri(f"{authorize_path}?{urllib.parse.urlencode(fields)}")
    story: dict[str, Any] = {
        "client_id": client_id,
        "request_object": request_object,
        "scenario": scenario.key,
        "scenario_label": scenario.label,
        "extra": [name for name, _value in scenario.extra],
        "verifier": verifier,
        "state": fields["state"],
        "nonce": fields["nonce"],
        "redirect_uri": redirect_uri,
        "authorization_details": json.dumps(PAYMENT_DETAILS, indent=2) if scenario.key == "rar" else "",
        "push": {"url": push_url, "authorization": authentication, "fields": shown_fields(body)},
        "push_status": status,
        "classic_url": classic_url,
    }
    if status != 201 or not isinstance(answer.get("request_uri"), str):
        story["push_answer"] = json.dumps(answer, indent=2, ensure_ascii=False)
        return render(
            request,
            "demo/story.html",
            {"title": "The push was refused", "story": story},
            status=502,
        )
    request_uri = answer["request_uri"]
    story["push_answer"] = json.dumps(
        {**answer, "request_uri": masked_reference(request_uri)}, indent=2, ensure_ascii=False
    )
    story["expires_in"] = answer.get("expires_in")
    query = urllib.parse.urlencode({"client_id": client_id, "request_uri": request_uri})
    authorize_url = request.build_absolute_uri(f"{authorize_path}?{query}")
    # Shown decoded, so the reader sees the parameter names at a glance.
    story["authorize_url"] = (
        f"{request.build_absolute_uri(authorize_path)}"
        f"?client_id={client_id}&request_uri={masked_reference(request_uri)}"
    )
    story["authorize_length"] = len(authorize_url)
    story["classic_length"] = len(classic_url)
    request.session[SESSION_KEY] = story
    return HttpResponseRedirect(authorize_url)


def classic_request_of_par_required_client(request: HttpRequest) -> HttpResponse:
    """Send the browser to a classic authorization request of a client that must use PAR.

    The authorization server refuses it with an error page (and no redirect), before login
    and after: nothing else can be shown here, which is the point.
    """
    _verifier, challenge = pkce_pair()
    query = urllib.parse.urlencode(
        {
            "client_id": PAR_REQUIRED_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": request.build_absolute_uri(reverse("demo:callback")),
            "scope": SCOPE,
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return HttpResponseRedirect(f"{reverse('oauth2_provider:authorize')}?{query}")


def callback(request: HttpRequest) -> HttpResponse:
    story = request.session.pop(SESSION_KEY, None)
    if story is None or request.GET.get("state") != story.get("state"):
        # Not a login this browser started here: leave the code alone.
        return render(
            request,
            "demo/story.html",
            {
                "title": "Unexpected callback",
                "problem": "This browser started no sign-in here, or the state does not match it. "
                "The code, if any, was not used.",
            },
            status=400,
        )
    returned = [(name, masked(value, 4) if name == "code" else value) for name, value in request.GET.items()]
    story["callback"] = returned
    # RFC 9207: the response names its issuer, so a client talking to several servers can tell
    # which one answered (a mix-up attack sends it another server's response). None: not sent.
    story["iss_matches"] = (
        request.GET["iss"] == server_metadata(request).get("issuer") if "iss" in request.GET else None
    )
    if "code" not in request.GET:
        story["error"] = {key: request.GET.get(key) for key in ("error", "error_description")}
        return render(request, "demo/story.html", {"title": "Authorization refused", "story": story})

    token_url = request.build_absolute_uri(reverse("oauth2_provider:token"))
    fields = {
        "grant_type": "authorization_code",
        "code": request.GET["code"],
        "redirect_uri": story["redirect_uri"],
        "code_verifier": story["verifier"],
    }
    if story.get("client_id") == JAR_CLIENT_ID:
        fields.update(key_authentication(token_url))
        status, tokens = http(token_url, fields)
        authentication = "private_key_jwt: a new client_assertion, for the token endpoint"
    else:
        status, tokens = post_form(token_url, fields)
        authentication = f"Basic {MASK} ({CLIENT_ID}:{MASK})"
    story["token_request"] = {
        "url": token_url,
        "authorization": authentication,
        "fields": shown_fields(fields),
    }
    story["token_status"] = status
    story["token_response"] = json.dumps(tokens, indent=2, ensure_ascii=False)
    if status == 200 and isinstance(tokens.get("id_token"), str):
        story["id_token"] = id_token_story(request, tokens["id_token"], story["nonce"], story["client_id"])
    if "authorization_details" in tokens:
        story["granted_details"] = json.dumps(tokens["authorization_details"], indent=2)
    title = "Signed in with PAR: the story of this login" if status == 200 else "The code exchange failed"
    return render(request, "demo/story.html", {"title": title, "story": story})


def id_token_story(request: HttpRequest, id_token: str, nonce: str, client_id: str) -> dict[str, Any]:
    """The ID token's header and claims, with the signature checked against the server's keys."""
    verified = ""
    problem = ""
    try:
        _status, keys = http(request.build_absolute_uri(reverse("oauth2_provider:jwks-info")))
        keyset = jwk.JWKSet.from_json(json.dumps(keys))
        token = jwt.JWT(jwt=id_token, key=keyset, algs=["RS256"], expected_type="JWS")
        claims = json.loads(token.claims)
        kid = token.token.jose_header.get("kid")
        verified = f"RS256 signature verified with the server's published key (kid {kid})."
    except (OSError, ValueError, KeyError, JWException) as error:
        problem = f"The signature could not be verified: {type(error).__name__}."
        claims = decoded(id_token, 1)
    header = decoded(id_token, 0)
    checks = [
        ("aud is this client", claims.get("aud") in (client_id, [client_id])),
        ("nonce is the one pushed", claims.get("nonce") == nonce),
    ]
    return {
        "header": json.dumps(header, indent=2),
        "claims": json.dumps(claims, indent=2),
        "verified": verified,
        "problem": problem,
        "checks": checks,
    }


def decoded(token: str, index: int) -> dict[str, Any]:
    """One JSON part of a compact JWT, unverified; {} when it is not one."""
    try:
        part = token.split(".")[index]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class PaymentView(ProtectedResourceView):
    """A resource server's view: what the presented access token may do, as approved."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return JsonResponse({"authorization_details": authorization_details(request)})
