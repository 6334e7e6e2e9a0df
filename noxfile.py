"""The version matrix and the checks beyond the main test run.

    nox -l                      # every session
    nox -s tests                # Python x Django x DOT 3.4.0 / newest 3.4, SQLite
    nox -s tests_postgres       # the main row on PostgreSQL
    nox -s dotnext compare      # DOT's development wheel: whole suite, and the comparison with DOT's PAR
    nox -s mypy package migrations

Interpreters: each ``python3.X`` on PATH, else one under pyenv's ``versions/``. A Python that is not
installed is reported as skipped by nox; the README's table lists only what ran.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "tests_postgres", "dotnext", "compare", "mypy", "package", "migrations"]

MAIN_PYTHON = "3.11"
MAIN_DJANGO = "5.2"
#: Django releases and the Pythons each supports.
DJANGO_PYTHONS = {
    "4.2": ["3.10", "3.11", "3.12"],
    "5.2": ["3.10", "3.11", "3.12", "3.13"],
    "6.0": ["3.12", "3.13"],
}
#: The oldest DOT supported and the newest 3.4 (DOT 3.0 - 3.3 lack RFC 8414 metadata and RFC 8707).
DOTS = {"3.4.0": "django-oauth-toolkit==3.4.0", "3.4": "django-oauth-toolkit>=3.4,<3.5"}
PYTHONS = sorted({python for pythons in DJANGO_PYTHONS.values() for python in pythons})
#: The fast suite (no browser, no live server, no DOT-development comparison).
FAST = ["-m", "not e2e and not live and not dotnext"]
COMPARISON = "tests/test_dot_native_par.py"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/oauth_par")


def _expose_pyenv_pythons() -> None:
    """Put pyenv's interpreters on PATH as python3.X (its shims answer only for the selected one)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    links = Path(tempfile.gettempdir()) / f"django-oauth-par-pythons-{os.getuid()}"
    links.mkdir(exist_ok=True)
    for version in PYTHONS:
        found = shutil.which(f"python{version}")
        if found and "shims" not in found:
            continue
        candidates = sorted(glob.glob(str(root / "versions" / f"{version}.*" / "bin" / f"python{version}")))
        if candidates:
            # CI loads this file in two nox processes at once: build the link aside, then rename it
            # over the old one, so neither process ever sees the name missing or taken.
            spare = links / f".python{version}.{os.getpid()}"
            spare.unlink(missing_ok=True)
            spare.symlink_to(candidates[-1])
            os.replace(spare, links / f"python{version}")
    os.environ["PATH"] = f"{links}{os.pathsep}{os.environ['PATH']}"


_expose_pyenv_pythons()


def dot_dev_wheel() -> str:
    """DOT's development wheel: $DOT_DEV_WHEEL, else ../shared/wheels/ beside the checkout."""
    named = os.environ.get("DOT_DEV_WHEEL")
    if named:
        return named
    for folder in (ROOT.parent / "shared" / "wheels", Path("/work/shared/wheels")):
        wheels = sorted(folder.glob("django_oauth_toolkit-*.dev*-py3-none-any.whl"))
        if wheels:
            return str(wheels[-1])
    raise FileNotFoundError("DOT's development wheel: set DOT_DEV_WHEEL or put it in ../shared/wheels/")


def install(session: nox.Session, django: str, dot: str | None) -> None:
    """The project with its test tools, then the Django and DOT of this row."""
    session.install("-e", ".[test]", f"django>={django},<{django}.999")
    if dot is None:
        session.install("--no-deps", "--reinstall", dot_dev_wheel())
    else:
        session.install(DOTS[dot])
    session.run(
        "python",
        "-c",
        "import django, oauth2_provider; print('Django', django.get_version(), "
        "'DOT', oauth2_provider.__version__)",
    )


def pytest(
    session: nox.Session, *args: str, database_url: str = "", settings: str = "tests.settings"
) -> None:
    env = {"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": settings}
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *args, *session.posargs, env=env)


MATRIX = [
    (python, django, dot) for django, pythons in DJANGO_PYTHONS.items() for python in pythons for dot in DOTS
]


@nox.session
@nox.parametrize(
    ("python", "django", "dot"),
    [nox.param(*row, id=f"py{row[0]}-django{row[1]}-dot{row[2]}") for row in MATRIX],
)
def tests(session: nox.Session, django: str, dot: str) -> None:
    """The fast suite on SQLite, on one row of the matrix."""
    install(session, django, dot)
    pytest(session, *FAST)


@nox.session(python=MAIN_PYTHON)
def tests_postgres(session: nox.Session) -> None:
    """The main row (Django 5.2, DOT 3.4) on PostgreSQL, live-server tests included."""
    install(session, MAIN_DJANGO, "3.4")
    pytest(session, "-m", "not e2e and not dotnext", database_url=POSTGRES_URL + "_nox")


DOTNEXT_ROWS = [(MAIN_PYTHON, MAIN_DJANGO), ("3.10", "4.2"), ("3.13", "6.0")]


@nox.session
@nox.parametrize(
    ("python", "django"),
    [nox.param(*row, id=f"py{row[0]}-django{row[1]}") for row in DOTNEXT_ROWS],
)
def dotnext(session: nox.Session, django: str) -> None:
    """DOT's development wheel: the suite on SQLite, and on PostgreSQL on the main row."""
    install(session, django, None)
    if session.python == MAIN_PYTHON and django == MAIN_DJANGO:
        pytest(session, "-m", "not e2e and not dotnext")
        pytest(session, "-m", "not e2e and not dotnext", database_url=POSTGRES_URL + "_nox_dotnext")
    else:
        # The quick suite: the gunicorn soak on SQLite needs Django >= 5.1 (see the README).
        pytest(session, *FAST)


@nox.session(python=MAIN_PYTHON)
def compare(session: nox.Session) -> None:
    """The same attacks against DOT's own PAR (this app absent) and this app, on both databases."""
    install(session, MAIN_DJANGO, None)
    for database_url in ("", POSTGRES_URL + "_nox_compare"):
        for settings in ("tests.dot_only_settings", "tests.settings"):
            # The file alone: the rest of the suite imports this app, absent from the native settings.
            pytest(session, "-m", "dotnext", COMPARISON, database_url=database_url, settings=settings)


@nox.session(python=MAIN_PYTHON)
def mypy(session: nox.Session) -> None:
    install(session, MAIN_DJANGO, "3.4")
    session.install("mypy>=1.13", "django-stubs>=5.1")
    session.run("mypy")


@nox.session(python=MAIN_PYTHON)
def package(session: nox.Session) -> None:
    """Build sdist and wheel, check their metadata, and install the wheel into a new project."""
    session.install("build>=1.2", "twine>=6.1")
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    session.run("twine", "check", "--strict", *map(str, dist.iterdir()))
    session.run("python", str(ROOT / ".ci" / "check_dist.py"), str(dist))


@nox.session(python=MAIN_PYTHON)
@nox.parametrize("dot", ["3.4.0", "3.4", "dev"])
def migrations(session: nox.Session, dot: str) -> None:
    """No model change without its migration, on the oldest, newest and next DOT."""
    install(session, MAIN_DJANGO, None if dot == "dev" else dot)
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": ""}
    session.run("python", "-m", "django", "makemigrations", "--check", "--dry-run", "oauth_par", env=env)
