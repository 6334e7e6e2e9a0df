"""The start-up check that needs the database: are this app's tables migrated?

Without it a site that installed the app but never ran ``migrate`` answers every
classic authorization request with a 503 (the PAR-required lookup finds no table).
The check runs when the middleware is built, which WSGI and ASGI servers do once per
process at start-up, and remembers each database alias it has verified, so requests
never pay for it. It is not a system check: ``migrate`` runs the database checks
itself, and would then refuse to create the very tables it reports missing.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router

from .models import ClientPolicy, PushedRequest

log = logging.getLogger("django_oauth_par")

MODELS: tuple[type[models.Model], ...] = (PushedRequest, ClientPolicy)

#: Database aliases whose tables were found complete in this process.
verified_aliases: set[str] = set()


def database_aliases() -> list[str]:
    """Every database the router reads this app's models from or writes them to."""
    aliases: list[str] = []
    for model in MODELS:
        for alias in (router.db_for_read(model), router.db_for_write(model)):
            if alias is not None and alias not in aliases:
                aliases.append(alias)
    return aliases


def missing_from(alias: str) -> list[str]:
    """The tables and ``table.column`` names of this app that the database lacks."""
    connection = connections[alias]
    convert = connection.introspection.identifier_converter
    missing: list[str] = []
    with connection.cursor() as cursor:
        tables = {convert(name) for name in connection.introspection.table_names(cursor)}
        for model in MODELS:
            table = model._meta.db_table
            if convert(table) not in tables:
                missing.append(table)
                continue
            description = connection.introspection.get_table_description(cursor, table)
            columns = {convert(column.name) for column in description}
            missing += [
                f"{table}.{field.column}"
                for field in model._meta.concrete_fields
                if field.column and convert(field.column) not in columns
            ]
    return missing


def require_migrated_tables() -> None:
    """Raise ImproperlyConfigured when a database lacks this app's tables or columns.

    A database that cannot be reached is left for the next start: an outage must not
    keep the server down once the database is back.
    """
    for alias in database_aliases():
        if alias in verified_aliases:
            continue
        connection = connections[alias]
        # Close what this check opened: a server that forks workers after loading the
        # application (gunicorn --preload) must not hand one socket to every worker.
        opened_here = connection.connection is None
        try:
            # Whatever keeps the database out of reach (an outage, an event loop, a test
            # runner's block), the server starts; the next process asks again.
            connection.ensure_connection()
            missing = missing_from(alias)
        except Exception as error:  # noqa: BLE001
            log.warning(
                "django_oauth_par could not check its tables in the database %r at start-up (%s).",
                alias,
                type(error).__name__,
            )
            continue
        finally:
            if opened_here and connection.connection is not None:
                connection.close()
        if missing:
            raise ImproperlyConfigured(
                f"django_oauth_par: the database {alias!r} lacks {', '.join(missing)}. "
                f"Run `python manage.py migrate` (for this database: `--database {alias}`)."
            )
        verified_aliases.add(alias)
