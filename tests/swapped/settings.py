"""The test settings with a swapped Application model and a custom APPLICATION_ADMIN_CLASS."""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, OAUTH2_PROVIDER

INSTALLED_APPS = ["tests.swapped", *INSTALLED_APPS]
OAUTH2_PROVIDER_APPLICATION_MODEL = "swapped.PartnerApplication"
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "APPLICATION_ADMIN_CLASS": "tests.swapped.admin_classes.PartnerApplicationAdmin",
}

# A database of its own: this suite runs while the main suite's test database is in use.
DATABASES = {"default": {**DATABASES["default"]}}  # noqa: F405
DATABASES["default"]["TEST"] = {
    **DATABASES["default"].get("TEST", {}),
    "NAME": DATABASES["default"].get("TEST", {}).get("NAME", "test_oauth_par") + "_swapped",
}
