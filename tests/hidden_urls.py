"""A URLconf whose authorization views cannot serve pushed requests (system check oauth_par.E006)."""

from .protected_urls import hidden_urlpatterns as urlpatterns

__all__ = ["urlpatterns"]
