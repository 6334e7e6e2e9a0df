"""Error reports hold no secret, no request_uri and no pushed value (issue 9, point 6).

A push is forced to fail inside the view, and Django's reporters render what they
would put on the debug page, in a mail to ADMINS, or in a log.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.core.signals import got_request_exception
from django.test import RequestFactory, override_settings
from django.utils.html import escape
from django.views.debug import ExceptionReporter, get_exception_reporter_class

from django_oauth_par import push as push_module
from django_oauth_par.models import PushedRequest
from django_oauth_par.reports import HidingExceptionReporter, hide_from_error_reports

from .helpers import SECRET, auth_params, basic, push

REFERENCE = "urn:ietf:params:oauth:request_uri:Xy7-very-secret-reference-value_0123456789abcdef"
PUSHED = {
    "state": "state-kept-from-everyone-4711",
    "nonce": "nonce-kept-from-everyone-4711",
    "login_hint": "alice.secret@example.com",
}


def spellings(value: str) -> list[str]:
    return [value, quote(value, safe=""), quote_plus(value), str(escape(value))]


def assert_hidden(report: str, values: list[str]) -> None:
    for value in values:
        for spelling in spellings(value):
            assert spelling not in report, f"{value!r} appears in the report"


class Captured:
    def __init__(self) -> None:
        self.request: Any = None
        self.exc_info: Any = None

    def __call__(self, sender: Any, request: Any = None, **kwargs: Any) -> None:
        self.request = request
        self.exc_info = sys.exc_info()


@pytest.fixture
def captured() -> Any:
    receiver = Captured()
    got_request_exception.connect(receiver)
    yield receiver
    got_request_exception.disconnect(receiver)


def fail_inside_the_push(monkeypatch: Any, message: str) -> None:
    """Make the push fail where a library would: deep inside, with locals full of values."""

    def exploding(server: Any, params: list[tuple[str, str]], client: Any) -> None:
        pairs = dict(params)  # noqa: F841 - a local holding every pushed value, as real code has
        raise RuntimeError(message)

    monkeypatch.setattr(push_module, "validate_with_server", exploding)


def reports(request: Any, exc_info: Any) -> dict[str, str]:
    """What each reporter renders: Django's own class, and the one Django uses for this request."""
    plain = ExceptionReporter(request, *exc_info)
    chosen = get_exception_reporter_class(request)(request, *exc_info)
    email = ExceptionReporter(request, *exc_info, is_email=True)
    return {
        "plain html": plain.get_traceback_html(),
        "plain text": plain.get_traceback_text(),
        "email text": email.get_traceback_text(),
        "request's html": chosen.get_traceback_html(),
        "request's text": chosen.get_traceback_text(),
    }


@pytest.mark.parametrize("method", ["basic", "body"])
def test_a_failing_push_leaves_no_secret_and_no_pushed_value_in_any_report(
    client, confidential, captured, monkeypatch, method
):
    fail_inside_the_push(monkeypatch, "the library gave up")
    client.raise_request_exception = False
    params = auth_params(**PUSHED)
    if method == "basic":
        response = push(client, params)
    else:
        response = push(client, {**params, "client_secret": SECRET}, secret=None)
    assert response.status_code == 500
    assert PushedRequest.objects.count() == 0

    secrets_ = [SECRET, basic("conf-client", SECRET).split()[1], *PUSHED.values()]
    for name, report in reports(captured.request, captured.exc_info).items():
        assert "the library gave up" in report, name  # the report still says what went wrong
        assert "validate_push" in report, name  # and where
        assert_hidden(report, secrets_)


def test_values_in_the_exception_message_are_scrubbed(client, confidential, captured, monkeypatch):
    fail_inside_the_push(monkeypatch, f"cannot parse {PUSHED['state']!r} or {SECRET}")
    client.raise_request_exception = False
    assert push(client, auth_params(**PUSHED)).status_code == 500
    request, exc_info = captured.request, captured.exc_info
    assert get_exception_reporter_class(request) is HidingExceptionReporter
    chosen = HidingExceptionReporter(request, *exc_info)
    for report in (chosen.get_traceback_html(), chosen.get_traceback_text()):
        assert "cannot parse" in report
        assert_hidden(report, [SECRET, *PUSHED.values()])


@override_settings(DEBUG=True, DEBUG_PROPAGATE_EXCEPTIONS=False)
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_debug_page_of_a_failing_push_holds_no_secret(client, confidential, monkeypatch, accept):
    fail_inside_the_push(monkeypatch, f"boom near {PUSHED['nonce']}")
    client.raise_request_exception = False
    response = push(client, auth_params(**PUSHED), HTTP_ACCEPT=accept)
    assert response.status_code == 500
    page = response.content.decode()
    assert "RuntimeError" in page
    assert_hidden(page, [SECRET, basic("conf-client", SECRET).split()[1], *PUSHED.values()])


def raise_with_values_in_locals(values: list[str]) -> Any:
    held = list(values)  # noqa: F841 - the frame variable the report must not show
    try:
        raise KeyError(f"no such thing as {values[0]}")
    except KeyError:
        return sys.exc_info()


def test_a_request_carrying_a_request_uri_reports_none_of_it():
    query = {"client_id": "conf-client", "request_uri": REFERENCE, "state": PUSHED["state"]}
    request = RequestFactory().get(
        "/o/authorize/",
        query,
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
        HTTP_REFERER=f"https://rp.example/start?request_uri={quote_plus(REFERENCE)}",
        RAW_URI="/o/authorize/?" + quote_plus(REFERENCE),
        REQUEST_URI="/o/authorize/?" + quote_plus(REFERENCE),
    )
    hide_from_error_reports(request, PUSHED.values())
    exc_info = raise_with_values_in_locals([PUSHED["login_hint"], REFERENCE])
    chosen = get_exception_reporter_class(request)(request, *exc_info)
    hidden = [REFERENCE, SECRET, basic("conf-client", SECRET).split()[1], *PUSHED.values()]
    for report in (chosen.get_traceback_html(), chosen.get_traceback_text()):
        assert "/o/authorize/" in report
        assert "KeyError" in report
        assert_hidden(report, hidden)
        assert "request_uri" in report  # names may show; their values never


def test_the_filter_alone_hides_post_values_frames_and_headers():
    """What a reporter of the site's own (AdminEmailHandler's, by default) gets from the filter:
    everything but GET values, the query string in the URL and the exception message, which
    that reporter reads from the request and the exception itself (see reports.py)."""
    request = RequestFactory().post(
        "/o/par/",
        {"client_id": "conf-client", "client_secret": SECRET, **PUSHED},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
        HTTP_REFERER=f"https://rp.example/?request_uri={quote_plus(REFERENCE)}",
    )
    hide_from_error_reports(request, PUSHED.values())
    exc_info = raise_with_values_in_locals(["nothing secret", SECRET, *PUSHED.values()])
    for report in (
        ExceptionReporter(request, *exc_info).get_traceback_text(),
        ExceptionReporter(request, *exc_info, is_email=True).get_traceback_html(),
    ):
        assert "client_secret" in report
        assert_hidden(report, [REFERENCE, SECRET, basic("conf-client", SECRET).split()[1], *PUSHED.values()])


def test_short_values_are_not_scrubbed_and_calls_add_up():
    request = RequestFactory().get("/o/authorize/")
    hide_from_error_reports(request, ["abc"])
    hide_from_error_reports(request, ["a-longer-value"])
    exc_info = raise_with_values_in_locals(["abc a-longer-value"])
    report = get_exception_reporter_class(request)(request, *exc_info).get_traceback_text()
    assert "no such thing as abc" in report
    assert "a-longer-value" not in report


def test_an_unmarked_request_is_reported_as_django_would():
    request = RequestFactory().get("/elsewhere/", {"q": "visible-value"})
    exc_info = raise_with_values_in_locals(["visible-value"])
    report = HidingExceptionReporter(request, *exc_info).get_traceback_text()
    assert "visible-value" in report


def test_a_value_in_the_cause_of_the_exception_is_scrubbed():
    request = RequestFactory().get("/o/authorize/", {"request_uri": REFERENCE})
    hide_from_error_reports(request, [PUSHED["login_hint"]])
    try:
        try:
            raise ValueError(f"bad hint {PUSHED['login_hint']} for {REFERENCE}")
        except ValueError as cause:
            raise RuntimeError("while serving the request") from cause
    except RuntimeError:
        exc_info = sys.exc_info()
    chosen = get_exception_reporter_class(request)(request, *exc_info)
    for report in (chosen.get_traceback_html(), chosen.get_traceback_text()):
        assert "while serving the request" in report
        assert_hidden(report, [PUSHED["login_hint"], REFERENCE])


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_failure_inside_the_authorization_view_reports_no_reference_and_no_pushed_value(
    client, signed_in, confidential, captured, monkeypatch, method
):
    """A pushed request failing deep inside DOT's view, on the consent page and the consent POST."""
    from oauth2_provider.oauth2_validators import OAuth2Validator

    from .helpers import authorize_url, csrf_for, pushed_uri

    uri = pushed_uri(client, **PUSHED)

    def exploding(self: Any, *args: Any, **kwargs: Any) -> None:
        request = args[-1] if args else None  # noqa: F841 - an oauthlib request full of pushed values
        raise RuntimeError(f"validation blew up for {PUSHED['state']} and {uri}")

    monkeypatch.setattr(OAuth2Validator, "validate_response_type", exploding)
    signed_in.raise_request_exception = False
    if method == "post":
        data = {"csrfmiddlewaretoken": csrf_for(signed_in), "allow": "Authorize"}
        response = signed_in.post(authorize_url(uri), data)
    else:
        response = signed_in.get(authorize_url(uri))
    assert response.status_code == 500
    assert captured.request is not None
    for name, report in reports(captured.request, captured.exc_info).items():
        if name.startswith("plain") or name.startswith("email"):
            continue  # Django's own class, unaware of the request: see the README's advice
        assert_hidden(report, [uri, *PUSHED.values()])
    assert PushedRequest.objects.get().redeemed_at is None
