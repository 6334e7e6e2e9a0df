"""The audit trail: signals and log lines for every event, and nothing secret in any of them."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.test import Client

from django_oauth_par.audit import printable
from django_oauth_par.models import ClientPolicy
from django_oauth_par.signals import request_expired, request_pushed, request_redeemed, request_rejected

from .helpers import (
    SECRET,
    auth_params,
    authorize_url,
    classic_url,
    code_from,
    consent,
    expire,
    push,
    pushed_uri,
)


@pytest.fixture
def events() -> Any:
    """Every audit signal sent during the test, as (name, kwargs) in order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    receivers = {}
    for name, signal in {
        "pushed": request_pushed,
        "redeemed": request_redeemed,
        "rejected": request_rejected,
        "expired": request_expired,
    }.items():

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            seen.append((_name, kwargs))

        receivers[signal] = receiver
        signal.connect(receiver)
    yield seen
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events]


def test_a_full_flow_is_pushed_then_redeemed(client, browser, confidential, events):
    request_uri = pushed_uri(client)
    code_from(consent(browser, authorize_url(request_uri)))
    assert names(events) == ["pushed", "redeemed"]
    pushed, redeemed = events[0][1], events[1][1]
    assert pushed["pushed_request"].application == confidential
    assert redeemed["pushed_request"].pk == pushed["pushed_request"].pk
    assert redeemed["outcome"] == "code"
    assert redeemed["pushed_request"].outcome == "code"


def test_a_denial_is_redeemed_with_its_error(client, browser, confidential, events):
    consent(browser, authorize_url(pushed_uri(client)), allow=False)
    assert events[-1][0] == "redeemed"
    assert events[-1][1]["outcome"] == "access_denied"


def test_rejections_carry_their_reason(client, browser, confidential, other_client, events):
    request_uri = pushed_uri(client)
    code_from(consent(browser, authorize_url(request_uri)))
    browser.get(authorize_url(request_uri))
    browser.get(authorize_url(request_uri, client_id="other-client"))
    browser.get(authorize_url("urn:ietf:params:oauth:request_uri:nothing-like-it"))
    browser.get(authorize_url("https://attacker.example/request.jwt"))
    rejected = [kwargs for name, kwargs in events if name == "rejected"]
    assert [event["reason"] for event in rejected] == ["redeemed", "foreign_client", "unknown", "not_ours"]
    assert {event["stage"] for event in rejected} == {"authorization"}
    assert rejected[0]["pushed_request"] is not None
    assert rejected[1]["pushed_request"] is None  # the owner's row is not handed to a foreign presenter


def test_expiry_is_signalled(client, browser, confidential, events):
    request_uri = pushed_uri(client)
    expire()
    browser.get(authorize_url(request_uri))
    assert names(events)[-2:] == ["rejected", "expired"]
    assert events[-2][1]["reason"] == "expired"


def test_refused_pushes_are_signalled_with_the_client(client, confidential, events):
    push(client, auth_params(scope="nonsense"))
    push(client, auth_params(), secret="wrong")
    rejected = [kwargs for name, kwargs in events if name == "rejected"]
    assert [(event["stage"], event["error"], event["client_id"]) for event in rejected] == [
        ("push", "invalid_scope", "conf-client"),
        ("push", "invalid_client", "conf-client"),
    ]


def test_par_required_refusals_are_signalled(browser, confidential, events):
    ClientPolicy.objects.create(application=confidential, require_pushed_authorization_requests=True)
    browser.get(classic_url())
    assert events[-1][0] == "rejected"
    assert events[-1][1]["reason"] == "par_required"
    assert events[-1][1]["client_id"] == "conf-client"


def test_no_secret_reference_or_pushed_value_reaches_any_log(client, browser, confidential, caplog, events):
    caplog.set_level(logging.DEBUG)
    marker = "mark-7f3a9c1e5b"
    params = auth_params(state=f"state-{marker}", nonce=f"nonce-{marker}", scope="openid read")
    response = push(client, params)
    request_uri = response.json()["request_uri"]
    code = code_from(consent(browser, authorize_url(request_uri)))["code"]
    browser.get(authorize_url(request_uri))  # replay
    push(client, auth_params(state=f"state-{marker}"), secret="wrong-" + marker)
    # Ours at every level; everyone's at INFO and above (oauthlib's and DOT's DEBUG lines
    # print codes and state themselves, which is theirs to fix and off in production).
    records = [
        r for r in caplog.records if r.name.startswith("django_oauth_par") or r.levelno >= logging.INFO
    ]
    assert any(getattr(record, "par_event", None) == "redeemed" for record in records)
    reference_part = request_uri.rsplit(":", 1)[1]
    for record in records:
        # Django attaches the request object itself to django.request records; its URL is
        # the browser's (the reference is in every access log by RFC 9126's design), and no
        # default formatter prints it. Everything else a record carries is checked.
        fields = {key: value for key, value in vars(record).items() if key != "request"}
        text = record.getMessage() + " " + " ".join(str(value) for value in fields.values())
        for forbidden in (reference_part, marker, SECRET, code):
            assert forbidden not in text, (record.name, record.getMessage())


# --- log lines: a client-supplied value cannot forge another field --------------------------------

VALUE = r'"(?:[^"\\]|\\.)*"|-?[0-9]+'
LINE = re.compile(rf"(?P<message>[^=\"]*?)(?P<fields>(?: [a-z_]+=(?:{VALUE}))*)")
FIELD = re.compile(rf" ([a-z_]+)=({VALUE})")

HOSTILE_CLIENT_IDS = [
    "x outcome=code",
    'x" outcome="code',
    "x\noutcome=code",
    'x\r\npushed authorization request redeemed client_id="victim" outcome="code"',
    "\x1b[2J\x1b[31mred\x1b[0m",
    "a=b=c d=e",
    'back\\slash\\" reason="forged',
    "x" * 5000,
    "ü€😀\u2028\u2029\u0085",
    "\t\x0b\x0c tabs",
    '}{"client_id": "victim"',
]


def parse_line(line: str) -> tuple[str, dict[str, Any]]:
    """What a log shipper's ``key=value`` parser makes of one of our lines."""
    match = LINE.fullmatch(line)
    assert match, line
    return match["message"], {name: json.loads(value) for name, value in FIELD.findall(match["fields"])}


def recorded_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields the record carries, as the line should spell them."""
    return {
        name.removeprefix("par_"): value
        for name, value in vars(record).items()
        if name.startswith("par_") and name not in ("par_event", "par_remote_addr") and value is not None
    }


@pytest.mark.parametrize("hostile", HOSTILE_CLIENT_IDS, ids=range(len(HOSTILE_CLIENT_IDS)))
def test_hostile_client_ids_cannot_forge_log_fields(client, confidential, caplog, hostile):
    caplog.set_level(logging.INFO, logger="django_oauth_par.audit")
    push(client, {"client_id": hostile, "response_type": "code"}, secret=None)
    client.get(authorize_url("urn:ietf:params:oauth:request_uri:nothing-like-it", client_id=hostile))
    records = [record for record in caplog.records if record.name == "django_oauth_par.audit"]
    assert [(record.par_stage, record.par_client_id) for record in records] == [
        ("push", printable(hostile)),
        ("authorization", printable(hostile)),
    ]
    for record in records:
        line = record.getMessage()
        assert all(32 <= ord(char) < 127 for char in line), repr(line)  # one line, no escapes
        message, fields = parse_line(line)
        assert message == f"{record.par_stage} refused"
        assert fields == recorded_fields(record)
        assert "outcome" not in fields
        assert len(line) < 400


def test_log_lines_of_a_full_flow_parse_back_to_their_fields(client, browser, confidential, caplog):
    caplog.set_level(logging.INFO, logger="django_oauth_par.audit")
    code_from(consent(browser, authorize_url(pushed_uri(client))))
    records = [record for record in caplog.records if record.name == "django_oauth_par.audit"]
    parsed = [parse_line(record.getMessage()) for record in records]
    assert [fields for _message, fields in parsed] == [recorded_fields(record) for record in records]
    assert parsed[-1][1]["outcome"] == "code"
    assert parsed[-1][1]["client_id"] == "conf-client"
    assert isinstance(parsed[-1][1]["pushed_request_id"], int)
