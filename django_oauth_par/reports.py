"""Keep secrets and pushed values out of Django's error reports.

Django builds an error report (the technical 500 page with ``DEBUG``, the mail to
``ADMINS``, the text other handlers log) from the request: its POST and GET
parameters, ``request.META``, the URL and every frame's local variables. For the
PAR endpoint and for pushed authorization requests all of those may hold a client
secret, a ``request_uri`` or a pushed value. :func:`hide_from_error_reports` marks a
request so that none of them is shown.

Django reads both ``request.exception_reporter_filter`` and
``request.exception_reporter_class`` per request. Its ``AdminEmailHandler`` uses the
filter but builds its report with its own class (``reporter_class`` or
``settings.DEFAULT_EXCEPTION_REPORTER``), so for mails to hide GET values, the query
string in the URL and the exception message too, set
``DEFAULT_EXCEPTION_REPORTER = "django_oauth_par.reports.HidingExceptionReporter"``;
it behaves as Django's own for requests that were not marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from django.http import HttpRequest
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

#: Values shorter than this are not scrubbed from the final text: "code" or "S256" would
#: blank out half the report, and a secret or a reference is never that short.
SHORTEST_SCRUBBED = 4
#: A reference of ours (or anyone's), plain or percent-encoded, wherever it appears.
REQUEST_URI_PATTERN = re.compile(
    r"urn(?::|%3A)ietf(?::|%3A)params(?::|%3A)oauth(?::|%3A)request_uri(?::|%3A)[A-Za-z0-9._~%+\-]*",
    re.IGNORECASE,
)
#: request.META entries that carry the query string or the credentials in any server's spelling.
HIDDEN_META = frozenset({"HTTP_AUTHORIZATION", "QUERY_STRING", "RAW_URI", "REQUEST_URI", "HTTP_COOKIE"})


class HidingFilter(SafeExceptionReporterFilter):
    """Shows parameter names but no value, no frame variable, and no header that carries either."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._hidden: list[str] = []
        self._spelled: set[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        self._hidden.extend(
            value for value in values if isinstance(value, str) and len(value) >= SHORTEST_SCRUBBED
        )
        self._spelled = None

    @property
    def values(self) -> set[str]:
        """Every spelling of the hidden values. Worked out when a report is made: every push and
        every pushed authorization request is marked, and almost none of them ever fails."""
        if self._spelled is None:
            self._spelled = {form for value in self._hidden for form in spellings(value)}
        return self._spelled

    def scrub(self, text: str) -> str:
        """``text`` without any of the values (longest first, so none is left half replaced)."""
        for value in sorted(self.values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, self.cleansed_substitute)
        return REQUEST_URI_PATTERN.sub(self.cleansed_substitute, text)

    def is_active(self, request: Any) -> bool:
        # Django's filter stands down with DEBUG = True; the debug page is where these leak most.
        return True

    def _names_only(self, parameters: Any) -> dict[str, str]:
        return {self.scrub(str(name)): self.cleansed_substitute for name in parameters}

    def get_post_parameters(self, request: Any) -> Any:
        if request is None:
            return {}
        try:
            return self._names_only(request.POST)
        except Exception:  # noqa: BLE001 - a body Django cannot parse must not break the report
            return {}

    def get_cleansed_multivaluedict(self, request: Any, multivaluedict: Any) -> Any:
        return self._names_only(multivaluedict)

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        # Any local may hold a secret or a pushed value (parsed pairs, an oauthlib request,
        # the stored row): show which variables there were, never what they held.
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]

    def get_safe_request_meta(self, request: Any) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        return {
            name: self.cleansed_substitute if name in HIDDEN_META else self._scrub_any(value)
            for name, value in meta.items()
        }

    def get_safe_cookies(self, request: Any) -> dict[str, Any]:
        return {name: self._scrub_any(value) for name, value in super().get_safe_cookies(request).items()}

    def _scrub_any(self, value: Any) -> Any:
        return self.scrub(value) if isinstance(value, str) else value


class HidingExceptionReporter(ExceptionReporter):
    """Django's reporter, which for a marked request also hides GET values, the query string
    in the URL, and the values from the exception messages and the finished text."""

    @property
    def hiding(self) -> HidingFilter | None:
        return self.filter if isinstance(self.filter, HidingFilter) else None

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        hiding = self.hiding
        if hiding is None or self.request is None:
            return data
        data["request_GET_items"] = list(hiding._names_only(self.request.GET).items())
        # The URL without its query string, which holds the request_uri or the pushed values.
        request = self.request
        # The raw host, as Django's own report takes it: get_host() would raise on a bad Host header.
        host = request._get_raw_host()  # type: ignore[attr-defined]
        data["request_insecure_uri"] = f"{request.scheme}://{host}{request.path}"
        for key in ("exception_value", "exception_notes"):
            if key in data:
                data[key] = hiding.scrub(str(data[key]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = hiding.scrub(str(frame["exc_cause"]))
        return data

    def get_traceback_html(self) -> SafeString:
        return SafeString(self._scrubbed(super().get_traceback_html()))

    def get_traceback_text(self) -> SafeString:
        return SafeString(self._scrubbed(super().get_traceback_text()))

    def _scrubbed(self, text: str) -> str:
        # The last line of defence: whatever reached the page by a way not covered above.
        hiding = self.hiding
        return text if hiding is None else str(hiding.scrub(text))


def spellings(value: str) -> set[str]:
    """The ways ``value`` can appear in a report: as it is, HTML-escaped, percent-encoded."""
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    return forms | {str(escape(form)) for form in forms}


def hide_from_error_reports(request: HttpRequest, values: Iterable[str]) -> None:
    """Keep ``request``'s parameters, credentials, query string and ``values`` out of error reports.

    May be called more than once for one request: the values add up.
    """
    current = getattr(request, "exception_reporter_filter", None)
    if isinstance(current, HidingFilter):
        current.add(values)
    else:
        request.exception_reporter_filter = HidingFilter(values)
    request.exception_reporter_class = HidingExceptionReporter
