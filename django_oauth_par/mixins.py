"""A mixin put in front of a site's own class: its validator class, its authorization view class."""

from __future__ import annotations

import functools
from typing import TypeVar

T = TypeVar("T", bound=type)


@functools.cache
def with_mixin(site_class: T, mixin: type) -> T:
    """``site_class`` with ``mixin`` in front, made once per pair.

    The new class keeps the site's class's name, module and qualified name, so error pages,
    logs and checks keep naming the class the site wrote.
    """
    if issubclass(site_class, mixin):
        return site_class
    namespace = {"__module__": site_class.__module__, "__qualname__": site_class.__qualname__}
    made: T = type(site_class.__name__, (mixin, site_class), namespace)  # type: ignore[assignment]
    return made
