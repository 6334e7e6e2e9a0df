"""Rich Authorization Requests (RFC 9396): ``authorization_details`` in a pushed request.

:func:`validate` is the one place that decides whether pushed details are accepted; the push
calls it before anything is stored. Afterwards the details are only ever read back from the
stored request (:func:`of_pushed_request`), so what the user is shown and what the token
carries are the pushed details, never anything the browser sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string, select_template
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from .conf import par_settings
from .exceptions import ParError

PARAMETER = "authorization_details"
ERROR = "invalid_authorization_details"
#: More entries than this in one request is refused: no real grant needs them, and each is
#: validated, shown and stored.
MAX_DETAILS = 32
#: Nesting limit for arrays and objects, the outer array counting as one: RFC 9396's examples
#: need three.
MAX_DEPTH = 8
#: RFC 9396 §2.2: fields every type may use, with the JSON shape each must have.
COMMON_STRING_ARRAYS = ("locations", "actions", "datatypes", "privileges")
COMMON_STRINGS = ("identifier",)
TEMPLATE_DIRECTORY = "django_oauth_par/authorization_details"
GENERIC_TEMPLATE = f"{TEMPLATE_DIRECTORY}/generic.html"

Validator = Callable[[dict[str, Any], Any], None]


def refused(description: str) -> ParError:
    return ParError(ERROR, description, 400)


# Settings -----------------------------------------------------------------------------


def types_setting_error(value: Any) -> str | None:
    """Why ``AUTHORIZATION_DETAILS_TYPES`` is unusable, or None.

    A dict from type name to None or the dotted path of a validator. The path is imported
    here, so a validator that cannot be found stops the site at start-up instead of letting
    its type through unchecked.
    """
    name = "AUTHORIZATION_DETAILS_TYPES"
    if not isinstance(value, dict):
        return f"{name} must be a dict from type name to validator path (or None), not {value!r}."
    for type_name, path in value.items():
        if not isinstance(type_name, str) or not type_name:
            return f"{name} has a key that is not a non-empty string: {type_name!r}."
        if path is None:
            continue
        if not isinstance(path, str):
            return f"{name}[{type_name!r}] must be None or a dotted path, not {path!r}."
        try:
            validator = import_string(path)
        except ImportError:
            return f"{name}[{type_name!r}] names {path!r}, which cannot be imported."
        if not callable(validator):
            return f"{name}[{type_name!r}] names {path!r}, which is not callable."
    return None


def supported_types() -> list[str]:
    """The types this server accepts, for ``authorization_details_types_supported``."""
    return sorted(par_settings.AUTHORIZATION_DETAILS_TYPES)


def validator_for(type_name: str) -> Validator | None:
    path = par_settings.AUTHORIZATION_DETAILS_TYPES.get(type_name)
    return import_string(path) if path else None


def allowed_types(client: Any) -> set[str]:
    """The registered types ``client`` may request: all of them unless staff restricted it."""
    from .models import ClientPolicy

    registered = set(par_settings.AUTHORIZATION_DETAILS_TYPES)
    policy = ClientPolicy.objects.filter(application=client).first()
    if policy is None or not policy.restrict_authorization_details_types:
        return registered
    return registered & set(policy.authorization_details_types or [])


# Parsing and validation ---------------------------------------------------------------


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key is read differently by different parsers (first or last wins): the user
    # could be shown one amount while a resource server acts on the other.
    keys = [key for key, _value in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("repeated key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable(text: str) -> bool:
    # PostgreSQL's jsonb refuses NUL and a lone surrogate cannot be encoded at all: both
    # would fail at the database instead of here.
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def _check_value(value: Any, depth: int) -> None:
    if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
        raise refused(f"The authorization_details are nested more than {MAX_DEPTH} levels deep.")
    if isinstance(value, str):
        if not _storable(value):
            raise refused("The authorization_details contain a character that is not allowed.")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _storable(key):
                raise refused("The authorization_details contain a character that is not allowed.")
            _check_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)


def parse(text: str) -> list[dict[str, Any]]:
    """The details in ``text`` if they are well formed (RFC 9396 §2); raise :class:`ParError` if not.

    Well formed: a non-empty JSON array of at most :data:`MAX_DETAILS` objects, each with a
    non-empty string ``type``, the common fields of §2.2 in their shapes, no key repeated
    anywhere, nothing nested deeper than :data:`MAX_DEPTH`.
    """
    try:
        details = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise refused("The authorization_details parameter is not a valid JSON document.") from None
    if not isinstance(details, list) or not details:
        raise refused("The authorization_details parameter must be a non-empty JSON array.")
    if len(details) > MAX_DETAILS:
        raise refused(f"The authorization_details parameter has more than {MAX_DETAILS} entries.")
    _check_value(details, 1)
    for number, detail in enumerate(details, 1):
        if not isinstance(detail, dict):
            raise refused(f"Entry {number} of authorization_details is not a JSON object.")
        if not isinstance(detail.get("type"), str) or not detail["type"]:
            raise refused(f"Entry {number} of authorization_details has no type string.")
        for field in COMMON_STRING_ARRAYS:
            if field in detail and not (
                isinstance(detail[field], list) and all(isinstance(item, str) for item in detail[field])
            ):
                raise refused(
                    f"Entry {number} of authorization_details: {field} must be an array of strings."
                )
        for field in COMMON_STRINGS:
            if field in detail and not isinstance(detail[field], str):
                raise refused(f"Entry {number} of authorization_details: {field} must be a string.")
    return details


def validate(text: str, client: Any) -> list[dict[str, Any]]:
    """Parse ``text`` and check each entry against the registered types, the client's allowed
    types and each type's validator; return the details or raise :class:`ParError`."""
    details = parse(text)
    allowed = allowed_types(client)
    for number, detail in enumerate(details, 1):
        if detail["type"] not in allowed:
            # The type is not echoed: error descriptions never carry pushed values.
            raise refused(f"Entry {number} of authorization_details has a type this client may not request.")
        validator = validator_for(detail["type"])
        if validator is None:
            continue
        try:
            validator(detail, client)
        except ValidationError as error:
            raise refused(f"Entry {number} of authorization_details: {' '.join(error.messages)}") from None
    return details


def of_pushed_request(pushed_request: Any) -> list[dict[str, Any]] | None:
    """The details a stored request carries (validated when it was pushed), or None."""
    for name, value in pushed_request.parameter_pairs:
        if name == PARAMETER:
            return parse(value)
    return None


# Showing them at consent ---------------------------------------------------------------


def template_name(type_name: str) -> str:
    """``django_oauth_par/authorization_details/<type>.html``, with the type made a safe file name.

    Types may be URIs (RFC 9396 §2): anything but letters, digits, ``_`` and ``-`` becomes ``_``,
    so no type can climb out of the directory.
    """
    return f"{TEMPLATE_DIRECTORY}/{re.sub(r'[^A-Za-z0-9_-]', '_', type_name)}.html"


def label(key: str) -> str:
    """``instructedAmount`` -> ``instructed amount``: keys read as words."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
    return spaced[:1].upper() + spaced[1:].lower() if spaced else key


def as_html(value: Any) -> SafeString:
    """A readable, escaped rendering of any JSON value: nested objects and arrays as indented lists."""
    if isinstance(value, dict):
        return format_html(
            '<ul class="authorization-detail-fields">{}</ul>',
            format_html_join(
                "",
                "<li><strong>{}</strong>: {}</li>",
                ((label(str(key)), as_html(item)) for key, item in value.items()),
            ),
        )
    if isinstance(value, list):
        return format_html(
            '<ul class="authorization-detail-items">{}</ul>',
            format_html_join("", "<li>{}</li>", ((as_html(item),) for item in value)),
        )
    if value is None:
        return format_html("{}", "—")
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    return format_html("{}", value)


def render(detail: dict[str, Any], request: Any = None) -> SafeString:
    """One entry as the user reads it: its type's template, else the generic one."""
    fields = {key: value for key, value in detail.items() if key != "type"}
    template = select_template([template_name(detail["type"]), GENERIC_TEMPLATE])
    return SafeString(
        template.render(
            {"detail": detail, "type": detail["type"], "fields": fields, "fields_html": as_html(fields)},
            request,
        )
    )


def consent_context(pushed_request: Any, request: Any = None) -> dict[str, Any]:
    """What a consent template needs to show the pushed details.

    ``authorization_details``: the entries as parsed objects (empty when none were pushed);
    ``authorization_details_rendered``: each entry rendered by its template;
    ``authorization_details_html``: the whole list, as ``django_oauth_par/authorization_details.html``
    renders it, for templates that just want to include it.
    """
    details = of_pushed_request(pushed_request) or []
    rendered = [render(detail, request) for detail in details]
    html = (
        SafeString(
            render_to_string(
                "django_oauth_par/authorization_details.html", {"authorization_details_rendered": rendered}
            )
        )
        if rendered
        else SafeString("")
    )
    return {
        "authorization_details": details,
        "authorization_details_rendered": rendered,
        "authorization_details_html": html,
    }
