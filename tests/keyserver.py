"""A JWK Set server on 127.0.0.1 for the jwks_uri tests: it can be slow, huge, wrong or down."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    body: bytes = b'{"keys": []}'
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0


class KeyServer:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        behaviour = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                current = behaviour.behaviour
                current.hits += 1
                if current.delay:
                    time.sleep(current.delay)
                self.send_response(current.status)
                for name, value in current.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(current.body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(current.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def serve(self, body: str | bytes, **options: object) -> Behaviour:
        data = body.encode() if isinstance(body, str) else body
        self.behaviour = Behaviour(body=data, **options)  # type: ignore[arg-type]
        return self.behaviour

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running() -> Iterator[KeyServer]:
    """For a fixture: ``yield from running()``."""
    server = KeyServer()
    yield server
    server.close()
