"""The test settings without this app: django-oauth-toolkit's own PAR answers (DOT >= 3.5 only).

Used by ``nox -s compare`` to run tests/test_dot_native_par.py against DOT's PAR; the same
attacks run against this app with tests/settings.py.
"""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE, OAUTH2_PROVIDER, TEMPLATES

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "django_oauth_par"]
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("django_oauth_par.")]
ROOT_URLCONF = "tests.dot_only_urls"
# DOT's own validator and templates: the demo's carry this app's authorization details.
OAUTH2_PROVIDER = {
    **{key: value for key, value in OAUTH2_PROVIDER.items() if key != "OAUTH2_VALIDATOR_CLASS"},
    "PAR_ENABLED": True,
}
TEMPLATES = [{**TEMPLATES[0], "DIRS": []}]
