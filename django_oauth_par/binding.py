"""The site's own authorization view function serves pushed requests.

Sites route DOT's ``AuthorizationView`` (or a subclass) through ``as_view()``, often
inside decorators of their own: ``user_passes_test``, ``permission_required``, a
second-factor check, ``never_cache``, a rate limiter. A pushed request must pass
every one of them, exactly as a classic request does, so the middleware lets Django
call the site's view function as routed and never answers in its place.

What changes is the class that function instantiates. ``View.as_view()`` returns a
function that builds its instance from the class it captured; :func:`serve_pushed_requests`
points that capture at the same class with :class:`PushedAuthorizationMixin` in front.
The mixin defers to the class it extends whenever the request carries no pushed
request, so classic requests behave exactly as before.

A view function whose ``as_view()`` core cannot be reached (a wrapper that does not
set ``__wrapped__``, as ``functools.wraps`` does) cannot serve pushed requests: the
system check ``oauth_par.E006`` names it at start-up, and the request is refused
rather than served without the site's protections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import CellType
from typing import Any

from .authorization import PushedAuthorizationMixin
from .compat import AuthorizationView
from .mixins import with_mixin

#: The name ``View.as_view()`` gives the class in the closure of the function it returns.
CLASS_VARIABLE = "cls"


def _wrapped_chain(view_func: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """``view_func`` and every function it wraps, outermost first."""
    seen: set[int] = set()
    current: Any = view_func
    while callable(current) and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "__wrapped__", None)


def _class_cell(func: Callable[..., Any]) -> CellType | None:
    """The closure cell holding the view class, when ``func`` was made by ``View.as_view()``."""
    code = getattr(func, "__code__", None)
    closure = getattr(func, "__closure__", None)
    view_class = getattr(func, "view_class", None)
    if code is None or not closure or not isinstance(view_class, type):
        return None
    if CLASS_VARIABLE not in code.co_freevars:
        return None
    cell: CellType = closure[code.co_freevars.index(CLASS_VARIABLE)]
    try:
        captured = cell.cell_contents
    except ValueError:  # an empty cell
        return None
    if not isinstance(captured, type) or not issubclass(captured, view_class):
        return None
    return cell


def authorization_view_class(view_func: Callable[..., Any]) -> type[AuthorizationView] | None:
    """The authorization view class behind ``view_func``, through any ``functools.wraps`` layers."""
    for func in _wrapped_chain(view_func):
        view_class = getattr(func, "view_class", None)
        if isinstance(view_class, type):
            return view_class if issubclass(view_class, AuthorizationView) else None
    return None


def can_serve_pushed_requests(view_func: Callable[..., Any]) -> bool:
    """Whether :func:`serve_pushed_requests` can make ``view_func`` serve pushed requests."""
    view_class = authorization_view_class(view_func)
    if view_class is not None and issubclass(view_class, PushedAuthorizationMixin):
        return True
    return any(_class_cell(func) is not None for func in _wrapped_chain(view_func))


def serve_pushed_requests(view_func: Callable[..., Any]) -> bool:
    """Make the site's ``view_func`` build pushed-aware views; False where it cannot be done.

    Idempotent and safe under concurrency: every caller stores the same class.
    """
    view_class = authorization_view_class(view_func)
    if view_class is None:
        return False
    if issubclass(view_class, PushedAuthorizationMixin):
        return True  # the site composed the mixin itself
    for func in _wrapped_chain(view_func):
        cell = _class_cell(func)
        if cell is not None:
            captured = cell.cell_contents
            if not issubclass(captured, PushedAuthorizationMixin):
                cell.cell_contents = with_mixin(captured, PushedAuthorizationMixin)
            return True
    return False
