"""The bench's one HTTP client, and the OAuth requests and flows the bench scripts send.

``http.client`` with one connection per request: gunicorn's sync workers close the
connection after every answer anyway, and a thin client keeps the load generator's own
CPU use (which shares the machine with the server) small and equal for both sides.
Redirects are never followed: every script looks at the redirect itself.
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench import common
from bench.common import pkce
from bench.prepare import SECRET

SCOPE = "openid profile read"
CREDENTIALS_SCOPE = "read"
FORM = "application/x-www-form-urlencoded"
QUERIES_HEADER = "x-bench-queries"
SERVER_TIME_HEADER = "x-bench-server-us"
SERVER_CPU_HEADER = "x-bench-server-cpu-us"
CACHE_TRIPS_HEADER = "x-bench-cache-trips"
JTI_TRIPS_HEADER = "x-bench-jti-trips"
METADATA_PATH = "/.well-known/oauth-authorization-server/o"
#: Seconds a request may take before the client gives up.
TIMEOUT = 120.0


#: The hidden fields of DOT's consent form, which a browser posts back as the page rendered them.
CONSENT_HIDDEN_FIELDS = (
    "redirect_uri",
    "scope",
    "nonce",
    "client_id",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "resource",
)


class FlowError(RuntimeError):
    """A step answered something other than what the flow expects: the run is not valid."""


class TransportError(OSError):
    """The server's answer was not valid HTTP (an ``OSError``, like a refused or reset connection)."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes
    seconds: float

    @property
    def queries(self) -> int:
        return int(self.headers.get(QUERIES_HEADER, "-1"))

    @property
    def server_us(self) -> int:
        return int(self.headers.get(SERVER_TIME_HEADER, "-1"))

    @property
    def cpu_us(self) -> int:
        return int(self.headers.get(SERVER_CPU_HEADER, "-1"))

    @property
    def cache_trips(self) -> int:
        """Redis round trips of the request; -1 where they are not counted (no Redis)."""
        return int(self.headers.get(CACHE_TRIPS_HEADER, "-1"))

    @property
    def jti_trips(self) -> int:
        return int(self.headers.get(JTI_TRIPS_HEADER, "-1"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (``ValueError`` when it is not one)."""
        data = json.loads(self.body)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {self.body[:200]!r}")
        return data

    def redirect_query(self) -> dict[str, str]:
        """The query parameters of the ``Location`` header (first value of each)."""
        return {key: values[0] for key, values in parse_qs(urlsplit(self.location).query).items()}

    def step(self, name: str) -> Step:
        return Step(
            name, self.seconds, self.server_us, self.cpu_us, self.queries, self.cache_trips, self.jti_trips
        )


@dataclass
class Step:
    name: str
    seconds: float
    server_us: int
    cpu_us: int
    queries: int
    cache_trips: int = -1
    jti_trips: int = -1


@dataclass
class Sample:
    """One timed task: a single request or a whole flow of several."""

    seconds: float
    steps: list[Step] = field(default_factory=list)

    @property
    def server_us(self) -> int:
        return sum(step.server_us for step in self.steps)

    @property
    def cpu_us(self) -> int:
        return sum(step.cpu_us for step in self.steps)

    @property
    def queries(self) -> int:
        return sum(step.queries for step in self.steps)

    @property
    def cache_trips(self) -> int:
        return _sum_counted(step.cache_trips for step in self.steps)

    @property
    def jti_trips(self) -> int:
        return _sum_counted(step.jti_trips for step in self.steps)


def _sum_counted(values: Iterable[int]) -> int:
    """The sum of counts, or -1 when any of them was not counted."""
    total = 0
    for value in values:
        if value < 0:
            return -1
        total += value
    return total


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """One request to 127.0.0.1:``port`` on a connection of its own; ``OSError`` if it fails."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    start = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        names = {name.lower(): value for name, value in response.getheaders()}
        cookies = response.msg.get_all("Set-Cookie") or []
        return Reply(response.status, names, cookies, data, seconds)
    except http.client.HTTPException as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error
    finally:
        connection.close()


def post_form(
    port: int,
    path: str,
    fields: dict[str, str],
    authorization: str | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """POST ``fields`` form-encoded, with an ``Authorization`` header if one is given."""
    headers = {"Content-Type": FORM}
    if authorization:
        headers["Authorization"] = authorization
    return request(port, "POST", path, headers, urlencode(fields).encode(), timeout)


def wait_until_serving(port: int, path: str, alive: Callable[[], bool], within: float) -> str:
    """Poll ``GET path`` until it answers 200; "" then, or why it did not.

    ``alive()`` says whether the server process still runs: a server that exited is not waited for.
    """
    deadline = time.monotonic() + within
    while True:
        if not alive():
            return "the server exited"
        try:
            if request(port, "GET", path, timeout=5).status == 200:
                return ""
        except OSError:
            pass
        if time.monotonic() > deadline:
            return f"the server did not answer within {within:.0f} s"
        time.sleep(0.2)


def expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        raise FlowError(f"{what}: expected {status}, got {reply.status}: {reply.body[:400]!r}")
    return reply


def basic(client_id: str, secret: str = SECRET) -> str:
    return common.basic(client_id, secret)


@dataclass
class AuthorizationRequest:
    """A fresh authorization code request (state, nonce and PKCE are new each time)."""

    client_id: str
    redirect_uri: str
    verifier: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, client_id: str, redirect_uri: str) -> AuthorizationRequest:
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return cls(client_id, redirect_uri, verifier, params)


class Browser:
    """A user agent with its own logged-in session (one per load-generating thread)."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def copy(self) -> Browser:
        """An independent browser carrying this one's cookies (session and CSRF)."""
        twin = Browser(self.port, self.timeout)
        twin.cookies = dict(self.cookies)
        return twin

    def keep(self, reply: Reply) -> None:
        for header in reply.cookies:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    def call(self, method: str, path: str, fields: dict[str, str] | None = None) -> Reply:
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if fields is not None:
            headers["Content-Type"] = FORM
            body = urlencode(fields).encode()
        reply = request(self.port, method, path, headers, body, self.timeout)
        self.keep(reply)
        return reply

    def log_in(self, username: str, password: str) -> None:
        expect(self.call("GET", "/accounts/login/"), 200, "login page")
        fields = {
            "csrfmiddlewaretoken": self.cookies["csrftoken"],
            "username": username,
            "password": password,
            "next": "/",
        }
        expect(self.call("POST", "/accounts/login/", fields), 302, "login")
        if "sessionid" not in self.cookies:
            raise FlowError("login: no session cookie")


# The single requests -----------------------------------------------------------------------


def push(port: int, auth: AuthorizationRequest) -> tuple[str, Step]:
    """POST /o/par/ with client_secret_basic; return the request_uri."""
    reply = expect(post_form(port, "/o/par/", auth.params, basic(auth.client_id)), 201, "push")
    request_uri = str(reply.json()["request_uri"])
    return request_uri, reply.step("push")


def client_credentials(port: int, client_id: str) -> Step:
    """POST /o/token/ grant_type=client_credentials with client_secret_basic."""
    fields = {"grant_type": "client_credentials", "scope": CREDENTIALS_SCOPE}
    reply = post_form(port, "/o/token/", fields, basic(client_id))
    expect(reply, 200, "client credentials token")
    return reply.step("token")


def pushed_query(client_id: str, request_uri: str) -> str:
    return "/o/authorize/?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def classic_query(auth: AuthorizationRequest) -> str:
    return "/o/authorize/?" + urlencode(auth.params)


def consent_page(browser: Browser, path: str) -> Step:
    """GET the authorization endpoint as a logged-in user: DOT's consent page, 200."""
    reply = expect(browser.call("GET", path), 200, "consent page")
    if b'name="allow"' not in reply.body:
        raise FlowError(f"consent page: no consent form in {reply.body[:400]!r}")
    return reply.step("authorize")


def consent(browser: Browser, path: str, hidden: dict[str, str]) -> tuple[str, Step]:
    """POST the consent form back to the current URL, as the browser does; return the code."""
    fields = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    fields.update({name: hidden.get(name, "") for name in CONSENT_HIDDEN_FIELDS})
    fields["allow"] = "Authorize"
    reply = expect(browser.call("POST", path, fields), 302, "consent")
    code = reply.redirect_query().get("code", "")
    if not code:
        raise FlowError(f"consent: no code in the redirect {reply.location!r}")
    return code, reply.step("consent")


def exchange_fields(code: str, redirect_uri: str, verifier: str) -> dict[str, str]:
    """The body of a code exchange with PKCE."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }


def exchange(port: int, auth: AuthorizationRequest, code: str) -> Step:
    """POST /o/token/ grant_type=authorization_code with PKCE and client_secret_basic."""
    fields = exchange_fields(code, auth.redirect_uri, auth.verifier)
    reply = expect(post_form(port, "/o/token/", fields, basic(auth.client_id)), 200, "code exchange")
    if "id_token" not in reply.json():
        raise FlowError("code exchange: no id_token")
    return reply.step("exchange")


# The timed tasks ---------------------------------------------------------------------------


def timed(steps: list[Step]) -> Sample:
    return Sample(sum(step.seconds for step in steps), steps)


def task_push(browser: Browser, client_id: str, redirect_uri: str) -> Sample:
    _request_uri, step = push(browser.port, AuthorizationRequest.new(client_id, redirect_uri))
    return timed([step])


def task_client_credentials(browser: Browser, client_id: str) -> Sample:
    return timed([client_credentials(browser.port, client_id)])


def task_pushed_consent_page(browser: Browser, client_id: str, request_uri: str) -> Sample:
    return timed([consent_page(browser, pushed_query(client_id, request_uri))])


def task_classic_consent_page(browser: Browser, client_id: str, redirect_uri: str) -> Sample:
    return timed([consent_page(browser, classic_query(AuthorizationRequest.new(client_id, redirect_uri)))])


def task_pushed_login(browser: Browser, client_id: str, redirect_uri: str) -> Sample:
    """Push, consent page, consent POST (hidden fields empty, as the page renders them), exchange."""
    auth = AuthorizationRequest.new(client_id, redirect_uri)
    request_uri, pushed = push(browser.port, auth)
    path = pushed_query(client_id, request_uri)
    page = consent_page(browser, path)
    code, decided = consent(browser, path, {})
    return timed([pushed, page, decided, exchange(browser.port, auth, code)])


def task_classic_login(browser: Browser, client_id: str, redirect_uri: str) -> Sample:
    """Consent page, consent POST (hidden fields filled, as the page renders them), exchange."""
    auth = AuthorizationRequest.new(client_id, redirect_uri)
    path = classic_query(auth)
    page = consent_page(browser, path)
    code, decided = consent(browser, path, {**auth.params, "claims": ""})
    return timed([page, decided, exchange(browser.port, auth, code)])


@dataclass
class SignedPushes:
    """Pushes of a ``private_key_jwt`` client that must sign its requests, signed ahead of time.

    Each push carries a fresh authorization request inside a request object signed with PS256
    (RSA 2048) and a fresh client assertion signed with ES256 (P-256), each with a ``jti`` of
    its own, both for the issuer as audience. :meth:`prepare` signs them before a batch's clock
    starts, since signing is the client's work and the load generator shares the server's
    CPUs; it records how long each push took to sign.
    """

    port: int
    client_id: str
    redirect_uri: str
    assertion_key: Any
    object_key: Any
    issuer: str = ""
    signing_seconds: list[float] = field(default_factory=list)

    def prepare(self, count: int) -> list[bytes]:
        if not self.issuer:
            metadata = expect(request(self.port, "GET", METADATA_PATH), 200, "server metadata").json()
            self.issuer = str(metadata["issuer"])
        bodies = []
        for _ in range(count):
            start = time.perf_counter()
            params = AuthorizationRequest.new(self.client_id, self.redirect_uri).params
            fields = {
                "client_id": self.client_id,
                "request": common.request_object(
                    self.client_id, params, self.object_key, "PS256", self.issuer
                ),
                "client_assertion_type": common.ASSERTION_TYPE,
                "client_assertion": common.client_assertion(
                    self.client_id, self.assertion_key, "ES256", self.issuer
                ),
            }
            bodies.append(urlencode(fields).encode())
            self.signing_seconds.append(time.perf_counter() - start)
        return bodies


def task_signed_push(browser: Browser, body: bytes) -> Sample:
    """POST a pre-signed push (no Authorization header: the assertion authenticates)."""
    reply = request(browser.port, "POST", "/o/par/", {"Content-Type": FORM}, body, browser.timeout)
    expect(reply, 201, "signed push")
    if "request_uri" not in reply.json():
        raise FlowError("signed push: no request_uri")
    return timed([reply.step("push")])


def prepare_pushes(port: int, client_id: str, redirect_uri: str, count: int) -> list[str]:
    """``count`` fresh request_uris (untimed preparation for the consent-page comparison)."""
    return [push(port, AuthorizationRequest.new(client_id, redirect_uri))[0] for _ in range(count)]
