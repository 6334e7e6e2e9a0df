"""The example project's settings, made quick for tests.

The database comes from DATABASE_URL as in the example project: SQLite when it is
unset, PostgreSQL in the second run of tests/run.sh.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from example_project.settings import *  # noqa: F403

# DOT hashes client secrets with the first hasher; PBKDF2 would cost half a second per push.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django_oauth_par": {"handlers": ["null"], "propagate": True, "level": "DEBUG"}},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, as every deployed SQLite is: in-memory test databases make concurrent
    # writers fail at once ("table is locked") instead of waiting their turn.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"django_oauth_par_tests_{os.getpid()}.sqlite3")
    }
