"""MkDocs hook: the parts of the documentation that are read from the code at build time.

- ``<!-- settings-reference -->`` becomes the settings reference, from :func:`settings_rows`.
- ``{test: test_name}`` becomes the test's current place, ``tests/<file>.py::test_name``, so the
  security model keeps pointing at its tests when they move between files. A test that no
  longer exists is a warning, which fails ``mkdocs build --strict``.
- Every check id in ``django_oauth_par/checks.py`` and every signal in
  ``django_oauth_par/signals.py`` must be documented on the API page; a missing one is a warning.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "django_oauth_par"
TESTS = ROOT / "tests"
log = logging.getLogger("mkdocs.plugins.reference")

SETTINGS_MARKER = "<!-- settings-reference -->"
TEST_REFERENCE = re.compile(r"\{test:\s*(?P<name>test_\w+)\s*\}")


@dataclass(frozen=True)
class SettingRow:
    name: str
    type: str
    default: Any
    example: str
    meaning: str


#: Type, example and meaning of today's settings, until the package's settings table carries them.
#: Keyed by name; the names and defaults themselves come from the package.
DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "REQUEST_URI_LIFETIME": (
        "int, seconds",
        "90",
        "How long a `request_uri` stays usable; returned as `expires_in`. It has to cover the user's "
        "login and consent.",
    ),
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": (
        "bool",
        "True",
        "Refuse every authorization request that does not use PAR. A floor: a client's own switch can "
        "only add to it.",
    ),
    "MAX_BODY_BYTES": (
        "int, bytes",
        "16384",
        "Larger push bodies get `413` before anything is parsed or hashed.",
    ),
    "MAX_PARAMETERS": ("int", "50", "Pushes with more parameters get `400`."),
    "MAX_VALUE_LENGTH": ("int, characters", "4096", "Longer parameter names or values get `400`."),
    "PUSH_RATE": (
        "str or None",
        '"60/minute"',
        "Pushes allowed per client; past it `429` with `Retry-After`. `None` turns it off.",
    ),
    "FAILED_AUTHENTICATION_RATE": (
        "str or None",
        '"30/minute"',
        "Failed client authentications allowed per address; past it every push from that address gets "
        "`429` before any secret is hashed.",
    ),
    "VERIFIED_SECRET_CACHE_SECONDS": (
        "int, seconds",
        "300",
        "Remember a successfully verified client secret this long; `0` is off. "
        "[The trade-off](security.md#the-verified-secret-cache).",
    ),
    "CACHE_ALIAS": ("str", '"par"', "The entry of `CACHES` that holds rate counters and verified secrets."),
    "MAX_REQUEST_URI_LIFETIME": (
        "int, seconds",
        "300",
        "The longest `request_uri` lifetime any client may have: a client's own lifetime, or the "
        "server's, is cut to it (the FAPI 2.0 profile lowers it to 599).",
    ),
    "REQUIRE_AUTHENTICATED_PUSH": (
        "bool",
        "True",
        "Pushes that carry no client authentication (a public client's bare `client_id`) get "
        "`401 invalid_client`. A floor under each client's own switch.",
    ),
    "AUTHORIZATION_RESPONSE_ISS": (
        "bool",
        "False",
        "Put `iss` (RFC 9207) in every authorization response, success and error, and announce "
        "`authorization_response_iss_parameter_supported` in the metadata. On by default.",
    ),
    "PROFILE": (
        'None or "fapi2"',
        '"fapi2"',
        "Apply the FAPI 2.0 Security Profile's rules for PAR in one switch; see the "
        "[FAPI 2.0 recipe](recipes/fapi2.md).",
    ),
}


def settings_rows() -> list[SettingRow]:
    """Every setting of ``OAUTH2_PAR``: the one function to re-point when the package's table lands.

    Today the names and defaults come from ``django_oauth_par.conf.DEFAULTS`` and the rest from
    :data:`DESCRIPTIONS`. When ``conf`` holds one table of rows with descriptions, build the rows
    from it here and delete :data:`DESCRIPTIONS`.
    """
    sys.path.insert(0, str(ROOT))
    from django_oauth_par import conf

    rows = []
    for name, default in conf.DEFAULTS.items():
        if name not in DESCRIPTIONS:
            log.warning("setting %s has no description in docs/_hooks/reference.py", name)
            rows.append(SettingRow(name, "", default, "", ""))
            continue
        kind, example, meaning = DESCRIPTIONS[name]
        rows.append(SettingRow(name, kind, default, example, meaning))
    return rows


def settings_reference(rows: list[SettingRow]) -> str:
    """One linkable section per setting: its type, default and example, then what it does."""
    return "\n\n".join(
        f"### `{row.name}`\n\n{row.type} · default `{row.default!r}` · example `{row.example}`"
        f"\n\n{row.meaning}"
        for row in rows
    )


def places_of_tests() -> dict[str, str]:
    """Every test function's name and the file that holds it, found by reading the files."""
    places: dict[str, str] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                places.setdefault(node.name, path.relative_to(ROOT).as_posix())
    return places


def documented_names() -> list[tuple[str, str]]:
    """What the API page must mention: check ids and signal names, read from the package."""
    checks = re.findall(r'id="(oauth_par\.[A-Z]\d{3})"', (PACKAGE / "checks.py").read_text(encoding="utf-8"))
    signals = re.findall(r"^(\w+) = Signal\(", (PACKAGE / "signals.py").read_text(encoding="utf-8"), re.M)
    return [("check", name) for name in checks] + [("signal", name) for name in signals]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_reference(settings_rows()))
    if TEST_REFERENCE.search(markdown):
        places = places_of_tests()

        def place(match: re.Match[str]) -> str:
            name = match.group("name")
            if name not in places:
                log.warning("%s names %s, which no file under tests/ defines", page.file.src_uri, name)
                return f"`{name}` (missing)"
            return f"`{places[name]}::{name}`"

        markdown = TEST_REFERENCE.sub(place, markdown)
    if page.file.src_uri == "api.md":
        for kind, name in documented_names():
            if f"`{name}`" not in markdown:
                log.warning("api.md does not document the %s %s", kind, name)
    return markdown
