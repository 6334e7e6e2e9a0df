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
    example: Any
    security: bool
    meaning: str


#: The README's sections that the table's descriptions link to, and where the site says the same.
#: A link to an anchor not listed here stays as it is, and --strict reports it.
README_ANCHORS = {
    "#rich-authorization-requests-authorization_details": "recipes/agents-rar.md#rich-authorization-requests",
    "#the-audit-chain-stored-rows": "audit.md#the-audit-chain-stored-rows",
    "#the-verified-secret-cache-and-its-trade-off": "security.md#the-verified-secret-cache",
}
README_LINK = re.compile(r"\]\((?P<anchor>#[^)]+)\)")


def site_links(text: str) -> str:
    """A description written for the README, with its links pointed at the site's pages."""
    return README_LINK.sub(lambda match: f"]({README_ANCHORS.get(match['anchor'], match['anchor'])})", text)


def settings_rows() -> list[SettingRow]:
    """Every setting of ``OAUTH2_PAR``, from the package's one table (``conf.Settings.rows()``).

    The one place that knows where the settings come from: if the table changes shape, adapt
    this function and nothing else.
    """
    sys.path.insert(0, str(ROOT))
    from django_oauth_par import conf

    rows = []
    for row in conf.Settings.rows():
        if not row.description:
            log.warning("setting %s has no description in django_oauth_par/conf.py", row.name)
        rows.append(
            SettingRow(
                row.name, row.kind.label, row.default, row.example, row.security, site_links(row.description)
            )
        )
    return rows


def literal(value: Any) -> str:
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


def settings_reference(rows: list[SettingRow]) -> str:
    """One linkable section per setting: its type, default and example, then what it does."""
    return "\n\n".join(
        f"### `{row.name}`\n\n{row.type} · default {literal(row.default)} · example {literal(row.example)}"
        + (" · **security**: a wrong value weakens a protection" if row.security else "")
        + f"\n\n{row.meaning}"
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
