"""Helpers every bench script shares: ports, PKCE, Basic credentials, CSRF tokens, scratch databases."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
from urllib.parse import urlsplit, urlunsplit

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pkce() -> tuple[str, str]:
    """A fresh PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic(client_id: str, secret: str) -> str:
    """An ``Authorization`` header value for client_secret_basic."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise ValueError("no CSRF token in the page")
    return match.group(1)


def recreate_postgres_database(url: str) -> None:
    """Drop (closing its connections) and create the database named in ``url``, on loopback only."""
    import psycopg  # imported here so every script's --help works without it
    from psycopg import sql

    parsed = urlsplit(url)
    name = parsed.path.lstrip("/")
    if not name or parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"refusing to use {url!r}: a named database on loopback only")
    maintenance = urlunsplit(parsed._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise ValueError(f"cannot create the database {name!r}: {error}") from None


def drop_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlsplit(url)
    maintenance = urlunsplit(parsed._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parsed.path.lstrip("/")))
        )
