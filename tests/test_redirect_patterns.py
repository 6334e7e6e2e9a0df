"""Redirect URI patterns (RFC 9126 §2.4): a wildcard is one host label and nothing else."""

from __future__ import annotations

import pytest

from django_oauth_par.redirect_patterns import PatternError, allowed_by, parse_pattern

PATTERN = "https://*.tenant.example.com/callback"


@pytest.mark.parametrize(
    "uri",
    [
        "https://acme.tenant.example.com/callback",
        "https://a.tenant.example.com/callback",
        "https://a-1.tenant.example.com/callback",
        "https://ACME.tenant.example.com/callback",  # host names are case-insensitive
        "https://xn--bcher-kva.tenant.example.com/callback",
    ],
)
def test_one_label_matches(uri):
    assert parse_pattern(PATTERN).matches(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://tenant.example.com/callback",  # no label
        "https://a.b.tenant.example.com/callback",  # two labels
        "https://.tenant.example.com/callback",  # empty label
        "https://-a.tenant.example.com/callback",
        "https://a-.tenant.example.com/callback",
        "https://a_b.tenant.example.com/callback",
        "https://a%2eb.tenant.example.com/callback",
        "https://ä.tenant.example.com/callback",
        "https://acme.tenant.example.com.evil.example/callback",
        "https://acme.tenant.example.com./callback",
        "https://evil.example/callback?x=.tenant.example.com",
        "https://evil.example#.tenant.example.com/callback",
        "https://acme.tenant.example.com@evil.example/callback",
        "https://user@acme.tenant.example.com/callback",
        "https://acme.tenant.example.com:8443/callback",
        "https://acme.tenant.example.com:443/callback",
        "https://acme.tenant.example.com/callback/",
        "https://acme.tenant.example.com/callback/../evil",
        "https://acme.tenant.example.com/Callback",
        "https://acme.tenant.example.com/callback?next=https://evil.example",
        "https://acme.tenant.example.com/callback#frag",
        "http://acme.tenant.example.com/callback",
        "https://acme.tenant.example.com\\@evil.example/callback",
        "https://acme.tenant.example.com:99999/callback",
        "https://[::1/callback",
        "//acme.tenant.example.com/callback",
        "acme.tenant.example.com/callback",
        "",
    ],
)
def test_everything_else_does_not(uri):
    assert not parse_pattern(PATTERN).matches(uri)


def test_query_and_port_must_match_exactly():
    pattern = parse_pattern("https://*.tenant.example.com:8443/cb?tenant=1")
    assert pattern.matches("https://a.tenant.example.com:8443/cb?tenant=1")
    assert not pattern.matches("https://a.tenant.example.com:8443/cb?tenant=2")
    assert not pattern.matches("https://a.tenant.example.com/cb?tenant=1")


def test_loopback_http_for_native_apps_on_any_port():
    pattern = parse_pattern("http://127.0.0.1/callback")
    assert pattern.matches("http://127.0.0.1:49152/callback")
    assert pattern.matches("http://127.0.0.1/callback")
    assert not pattern.matches("http://127.0.0.2.evil.example/callback")
    assert not pattern.matches("https://127.0.0.1/callback")
    assert parse_pattern("http://[::1]/cb").matches("http://[::1]:5000/cb")


@pytest.mark.parametrize(
    "text",
    [
        "http://*.tenant.example.com/callback",  # plain http off loopback
        "http://localhost/callback",  # RFC 8252 §8.3: an IP literal, not a name
        "http://*.127.0.0.1/callback",
        "https://*.com/callback",  # a wildcard over a whole top-level domain
        "https://*/callback",
        "https://a.*.example.com/callback",
        "https://a*.tenant.example.com/callback",
        "https://*.tenant.example.com/*",
        "https://*.tenant.example.com/cb?x=*",
        "https://*.tenant.example.com/cb#f",
        "https://u@*.tenant.example.com/cb",
        "https://*.tenant.example.com:*/cb",
        "ftp://a.tenant.example.com/cb",
        "javascript://a.tenant.example.com/%0aalert(1)",
        "/callback",
        "https://[::1/callback",
    ],
)
def test_unsafe_patterns_are_refused_with_a_reason(text):
    with pytest.raises(PatternError) as raised:
        parse_pattern(text)
    assert str(raised.value)


def test_several_patterns_and_a_broken_one_allows_nothing():
    assert allowed_by(
        "https://a.example.org/cb\n\nhttps://*.tenant.example.com/callback", PATTERN.replace("*", "x")
    )
    assert not allowed_by("https://*.tenant.example.com/callback\nftp://x", PATTERN.replace("*", "x"))
    assert not allowed_by("", "https://a.tenant.example.com/callback")
