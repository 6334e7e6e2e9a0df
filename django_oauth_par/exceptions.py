from __future__ import annotations

from collections.abc import Mapping


class ParError(Exception):
    """An OAuth error answer: the ``error`` code, a description safe to show, and the status.

    The description is shown to clients and browsers as it is, so it must never
    carry a secret, a ``request_uri`` or a pushed value.
    """

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


#: The answer when the database cannot serve a request (503).
UNAVAILABLE = ParError(
    "temporarily_unavailable", "The server cannot complete this request now. Try again.", 503
)
