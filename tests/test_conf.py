"""The settings table: the reader, start-up validation, the checks and the README all follow it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_oauth_par import checks, conf
from django_oauth_par.conf import SETTINGS, Settings, par_settings, parse_rate
from django_oauth_par.models import PushedRequest

from .helpers import AUTHORIZE_URL, auth_params, push, start_wsgi_application

ROOT = Path(__file__).resolve().parent.parent
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}

#: For each kind of setting, values a careless configuration could hold.
BAD_VALUES: dict[str, list[Any]] = {
    "int": ["60", 60.0, 1.5, True, False, None, [60], -1],
    "bool": ["true", "True", "false", "1", "0", 1, 0, None, "yes", [], ""],
    "rate": [
        "60",
        "60/",
        "/minute",
        "sixty/minute",
        "0/minute",
        "-1/minute",
        " 60/minute",
        "60/minute ",
        "6_0/minute",
        "٦٠/minute",
        "60/month",
        "60/fortnight",
        "60/MINUTE",
        60,
        b"60/minute",
        ("60/m",),
    ],
    "cache": ["missing", None, 0, ["default"], b"default"],
}


def kind_of(row: conf.Setting[Any]) -> str:
    if row.kind is conf.BOOLEAN:
        return "bool"
    if row.kind is conf.OPTIONAL_RATE:
        return "rate"
    if row.kind is conf.CACHE_NAME:
        return "cache"
    return "int"


CASES = [
    (name, value)
    for name, row in SETTINGS.items()
    for value in BAD_VALUES[kind_of(row)]
    if not row.kind.accepts(value)
]


# --- the table itself ----------------------------------------------------------------------------


def test_the_readme_settings_table_is_generated_from_the_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert conf.readme_with_table(readme) == readme, (
        "README.md's settings table is out of date: run python -m django_oauth_par.conf README.md"
    )


def test_the_generator_rewrites_an_outdated_table_and_check_mode_reports_it(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# x\n\n{conf.README_START}\n| stale |\n{conf.README_END}\n\nafter\n", encoding="utf-8"
    )
    assert conf.main([str(readme), "--check"]) == 1
    assert conf.main([str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "| stale |" not in text and text.endswith("\n\nafter\n")
    assert all(f"`{name}`" in text for name in SETTINGS)
    assert conf.main([str(readme), "--check"]) == 0


def test_a_readme_without_markers_is_refused():
    with pytest.raises(ValueError, match="markers"):
        conf.readme_with_table("# no table here\n")


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_row_is_complete_and_its_default_and_example_are_valid(name):
    row = SETTINGS[name]
    assert row.name == name and name.isupper()
    assert row.kind.accepts(row.default), "the default must pass the setting's own test"
    with override_settings(CACHES={"default": LOCMEM, "par": LOCMEM}):  # CACHE_ALIAS's example
        assert row.kind.accepts(row.example)
    assert row.example != row.default, "an example shows a change"
    assert row.description and "\n" not in row.description and "|" not in row.description
    assert isinstance(row.security, bool)
    with override_settings(OAUTH2_PAR={}):
        assert getattr(par_settings, name) == row.default


def test_the_table_is_the_class_and_its_order():
    assert [row.name for row in Settings.rows()] == list(SETTINGS)
    assert Settings.REQUEST_URI_LIFETIME is SETTINGS["REQUEST_URI_LIFETIME"]


# --- the reader ----------------------------------------------------------------------------------


def test_values_are_read_at_access_time():
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": 5, "PUSH_RATE": "3/hour"}):
        assert par_settings.REQUEST_URI_LIFETIME == 5
        assert par_settings.PUSH_RATE == "3/hour"
        with override_settings(OAUTH2_PAR={}):
            assert par_settings.REQUEST_URI_LIFETIME == 60
            assert par_settings.PUSH_RATE is None


def test_a_missing_oauth2_par_means_every_default():
    with override_settings():
        from django.conf import settings

        del settings.OAUTH2_PAR
        assert {name: getattr(par_settings, name) for name in SETTINGS} == {
            name: row.default for name, row in SETTINGS.items()
        }
        conf.validate()


@pytest.mark.parametrize(("name", "value"), CASES)
def test_an_invalid_value_raises_where_it_is_read_and_names_the_fix(name, value):
    with override_settings(OAUTH2_PAR={name: value}), pytest.raises(ImproperlyConfigured) as raised:
        getattr(par_settings, name)
    message = str(raised.value)
    assert f"'{name}'" in message
    assert f"(a {type(value).__name__})" in message
    assert "Fix:" in message and repr(SETTINGS[name].example) in message


@pytest.mark.parametrize("value", ["REQUEST_URI_LIFETIME=60", [], None, 60, ("REQUEST_URI_LIFETIME", 60)])
def test_an_oauth2_par_that_is_not_a_dict_raises_on_every_read(value):
    with override_settings(OAUTH2_PAR=value):
        for name in SETTINGS:
            with pytest.raises(ImproperlyConfigured, match="must be a dict"):
                getattr(par_settings, name)


def test_a_long_invalid_value_is_shortened_in_the_message():
    with (
        override_settings(OAUTH2_PAR={"PUSH_RATE": "x" * 5000}),
        pytest.raises(ImproperlyConfigured) as raised,
    ):
        par_settings.PUSH_RATE  # noqa: B018 - the read is the test
    assert len(str(raised.value)) < 400


@override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": "true"})
def test_a_string_par_switch_refuses_classic_requests_rather_than_allowing_them(client, confidential, user):
    client.force_login(user)
    with pytest.raises(ImproperlyConfigured, match="REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"):
        client.get(AUTHORIZE_URL, auth_params())


# --- invalid settings never become the defaults -------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "not a dict",
        [],
        {"REQUEST_URI_LIFETIME": 0},
        {"REQUEST_URI_LIFETIME": "60"},
        {"REQUEST_URI_LIFETIME": True},
        {"MAX_BODY_BYTES": 0},
        {"MAX_BODY_BYTES": "big"},
        {"MAX_PARAMETERS": 0},
        {"MAX_PARAMETERS": None},
        {"MAX_VALUE_LENGTH": -1},
    ],
)
def test_invalid_settings_stop_the_push_and_store_nothing(client, confidential, value):
    with override_settings(OAUTH2_PAR=value), pytest.raises(ImproperlyConfigured, match="OAUTH2_PAR"):
        push(client, auth_params())
    assert not PushedRequest.objects.exists()


def test_unknown_keys_are_ignored_at_run_time(client, confidential):
    with override_settings(OAUTH2_PAR={"UNKNOWN": object()}):
        assert push(client, auth_params()).status_code == 201


def test_an_invalid_limit_is_never_replaced_by_the_default(client, confidential):
    with override_settings(OAUTH2_PAR={"MAX_BODY_BYTES": "1"}), pytest.raises(ImproperlyConfigured):
        push(client, auth_params())


# --- rates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("60/minute", (60, 60)),
        ("60/minutes", (60, 60)),
        ("60/min", (60, 60)),
        ("60/m", (60, 60)),
        ("5/s", (5, 1)),
        ("5/sec", (5, 1)),
        ("5/second", (5, 1)),
        ("1000/hour", (1000, 3600)),
        ("1000/h", (1000, 3600)),
        ("10000/day", (10000, 86400)),
        ("2/days", (2, 86400)),
    ],
)
def test_rates_parse(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", BAD_VALUES["rate"])
def test_malformed_rates_are_refused_not_guessed(rate):
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(rate)


# --- start-up ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": "true"},
        {"REQUEST_URI_LIFETIME": 0},
        {"PUSH_RATE": "60/month"},
        "not a dict",
    ],
)
def test_ready_refuses_invalid_settings(value):
    with override_settings(OAUTH2_PAR=value), pytest.raises(ImproperlyConfigured, match="OAUTH2_PAR"):
        apps.get_app_config("oauth_par").ready()


def test_ready_names_every_invalid_value_at_once():
    bad = {"REQUEST_URI_LIFETIME": -1, "MAX_PARAMETERS": "10", "FAILED_AUTHENTICATION_RATE": "30/month"}
    with override_settings(OAUTH2_PAR=bad), pytest.raises(ImproperlyConfigured) as raised:
        apps.get_app_config("oauth_par").ready()
    assert all(name in str(raised.value) for name in bad)


def test_ready_accepts_valid_settings_and_unknown_keys():
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": 30, "NOT_OURS": "x"}):
        apps.get_app_config("oauth_par").ready()


def test_a_wsgi_server_refuses_to_start_with_a_string_switch(tmp_path):
    result = start_wsgi_application(
        tmp_path, 'OAUTH2_PAR = {"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": "true"}'
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:")
    assert "'REQUIRE_PUSHED_AUTHORIZATION_REQUESTS'" in last_line and "(a str)" in last_line
    assert "Fix:" in last_line


# --- checks, from the same table -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), CASES)
def test_e004_reports_what_the_reader_refuses(name, value):
    with override_settings(OAUTH2_PAR={name: value}):
        messages = checks.check_settings()
    assert [message.id for message in messages] == ["oauth_par.E004"]
    assert f"'{name}'" in messages[0].msg


def test_deploy_checks_leave_invalid_values_to_e004():
    with override_settings(OAUTH2_PAR={"PUSH_RATE": "60/month"}):
        assert checks.check_deployment() == []


# --- a misspelt key is refused like an invalid value ----------------------------------------------


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("REQUIRE_PUSHED_AUTHORIZATION_REQUEST", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"),
        ("require_pushed_authorization_requests", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"),
        ("REQUIRE_PUSHED_AUTHORISATION_REQUESTS", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"),
        ("FAILED_AUTHENTICATIONS_RATE", "FAILED_AUTHENTICATION_RATE"),
        ("PUSH_RATES", "PUSH_RATE"),
        ("REQUEST_URI_LIFETIME ", "REQUEST_URI_LIFETIME"),
    ],
)
def test_a_misspelt_key_never_leaves_its_setting_silently_at_the_default(key, meant):
    with override_settings(OAUTH2_PAR={key: True}):
        with pytest.raises(ImproperlyConfigured, match="Fix: rename the key") as raised:
            getattr(par_settings, meant)
        assert repr(key) in str(raised.value) and repr(meant) in str(raised.value)
        with pytest.raises(ImproperlyConfigured, match=re.escape(repr(key))):
            apps.get_app_config("oauth_par").ready()
        assert [message.id for message in checks.check_settings()] == ["oauth_par.E004"]
        # The other settings still read: only the one the key was meant for is in doubt.
        other = next(name for name in SETTINGS if name != meant)
        assert getattr(par_settings, other) == SETTINGS[other].default


@pytest.mark.parametrize("key", ["LIFETIME", "NOT_OURS", "DEBUG", "RATE"])
def test_a_key_that_resembles_no_setting_is_only_a_warning(key):
    with override_settings(OAUTH2_PAR={key: "x"}):
        assert [message.id for message in checks.check_settings()] == ["oauth_par.W001"]
        conf.validate()
        assert {name: getattr(par_settings, name) for name in SETTINGS} == {
            name: row.default for name, row in SETTINGS.items()
        }
