"""OAuth 2.0 Pushed Authorization Requests (RFC 9126) for django-oauth-toolkit."""

from __future__ import annotations

__version__ = "0.1.0"  # the only place the version is written (pyproject.toml reads it)
