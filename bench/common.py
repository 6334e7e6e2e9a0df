"""Helpers the bench scripts share.

Ports, PKCE, Basic credentials, CSRF tokens, scratch databases, gunicorn process groups, and the
keys and signed JWTs of a ``private_key_jwt`` client. The HTTP client itself is ``bench.client``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
#: RFC 7523 §2.2. Written out rather than imported, so that the load generator needs no Django.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


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


# Scratch PostgreSQL databases ---------------------------------------------------------------------


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


# gunicorn ------------------------------------------------------------------------------------------


def start_gunicorn(
    python: str,
    root: Path,
    env: dict[str, str],
    port: int,
    log: Path,
    *,
    workers: int,
    threads: int = 1,
    timeout: int,
    graceful_timeout: int,
    log_level: str,
    append_log: bool = False,
) -> subprocess.Popen[bytes]:
    """gunicorn serving the example project on 127.0.0.1:``port``, in a process group of its own.

    ``threads`` above 1 means gthread workers, sync workers otherwise. Its output (the error log
    included) goes to ``log``. Stop it with :func:`stop_process_group`, which reaches the workers too.
    """
    command = [
        python,
        "-m",
        "gunicorn",
        "example_project.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "sync" if threads == 1 else "gthread",
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        str(graceful_timeout),
        "--backlog",
        "512",
        "--chdir",
        str(root),
        "--log-level",
        log_level,
        "--error-logfile",
        "-",
    ]
    with log.open("ab" if append_log else "wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, by its id
        )


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """Stop a process started with ``start_new_session`` and everything in its group.

    SIGTERM (gunicorn's master then stops its workers gracefully), SIGKILL if it lingers past
    ``grace`` seconds, and SIGKILL again for any worker a killed master left behind. Safe to call
    twice, and on a process that has already exited.
    """
    if process.poll() is None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


# A private_key_jwt client's keys and tokens ---------------------------------------------------------


@functools.cache
def key_pair(kind: str) -> Any:
    """One key pair per kind for the whole process (generating RSA keys is slow).

    ``EC``: P-256, for ES256; ``RSA``: 2048 bits, for PS256. The ``kid`` is the kind in lower case.
    """
    from jwcrypto import jwk

    if kind == "EC":
        return jwk.JWK.generate(kty="EC", crv="P-256", kid="ec")
    if kind == "RSA":
        return jwk.JWK.generate(kty="RSA", size=2048, kid="rsa")
    raise ValueError(f"unknown key kind {kind!r}")


def public_jwks(*keys: Any) -> str:
    """The JWK Set a client registers: the public halves of ``keys``."""
    return json.dumps({"keys": [json.loads(key.export_public()) for key in keys]})


def sign_jwt(claims: dict[str, Any], key: Any, alg: str, typ: str | None = None) -> str:
    """A compact JWS of ``claims``, its header naming ``alg``, the key's ``kid`` and ``typ`` if any."""
    from jwcrypto import jws

    header: dict[str, Any] = {"alg": alg, "kid": key.get("kid")}
    if typ:
        header["typ"] = typ
    token = jws.JWS(json.dumps(claims).encode())
    token.add_signature(key, alg=None, protected=json.dumps(header))
    return str(token.serialize(compact=True))


def client_assertion(client_id: str, key: Any, alg: str, audience: str, lifetime: int = 60) -> str:
    """An RFC 7523 client assertion with a fresh ``jti``."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    return sign_jwt(claims, key, alg)


def request_object(
    client_id: str, params: dict[str, str], key: Any, alg: str, audience: str, lifetime: int = 60
) -> str:
    """An RFC 9101 request object carrying ``params``, with a fresh ``jti``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        **params,
    }
    return sign_jwt(claims, key, alg, typ="oauth-authz-req+jwt")


def register_client_keys(application: Any, method: str, jwks: str, **policy: Any) -> None:
    """Register ``method`` and ``jwks`` for a client where the installed DOT reads them.

    A DOT with client keys of its own keeps them on its Application model; otherwise they go
    in this app's ``ClientPolicy``, as the admin would put them. ``policy`` goes in the policy.
    Needs Django set up.
    """
    from django_oauth_par.models import ClientPolicy
    from django_oauth_par.registration import dot_has_client_keys

    if dot_has_client_keys():
        application.token_endpoint_auth_method = method
        application.client_jwks = jwks
        application.save()
        ClientPolicy.objects.update_or_create(application=application, defaults=policy)
        return
    ClientPolicy.objects.update_or_create(
        application=application, defaults={"token_endpoint_auth_method": method, "jwks": jwks, **policy}
    )
