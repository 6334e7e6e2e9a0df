from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import get_application_model

from django_oauth_par.models import ClientPolicy
from example_project.demo.views import (
    CLIENT_ID,
    CLIENT_SECRET,
    JAR_CLIENT_ID,
    PAR_REQUIRED_CLIENT_ID,
    PAR_REQUIRED_CLIENT_SECRET,
    client_key,
)

PUBLIC_CLIENT_ID = "demo-public"


class Command(BaseCommand):
    help = "Create (or reset) the demo user, the admin and the demo clients. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            action="append",
            default=[],
            help="Origin the demo is served from (repeatable); default http://127.0.0.1:8000 and "
            "http://localhost:8000.",
        )

    def handle(self, *args: Any, base_url: list[str], **options: Any) -> None:
        origins = [url.rstrip("/") for url in base_url] or ["http://127.0.0.1:8000", "http://localhost:8000"]
        redirect_uris = " ".join(f"{origin}/demo/callback/" for origin in origins)
        users = get_user_model()
        user, _ = users.objects.get_or_create(username="demo")
        user.set_password("demo-password")
        user.save()
        admin, _ = users.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        admin.is_staff = admin.is_superuser = True
        admin.set_password("admin-password")
        admin.save()

        applications = get_application_model()
        for client_id, client_type, secret in (
            (CLIENT_ID, applications.CLIENT_CONFIDENTIAL, CLIENT_SECRET),
            (PUBLIC_CLIENT_ID, applications.CLIENT_PUBLIC, ""),
            (PAR_REQUIRED_CLIENT_ID, applications.CLIENT_CONFIDENTIAL, PAR_REQUIRED_CLIENT_SECRET),
            # Authenticates with its key only; the secret is one nobody knows.
            (JAR_CLIENT_ID, applications.CLIENT_CONFIDENTIAL, secrets.token_urlsafe(32)),
        ):
            app = applications.objects.filter(client_id=client_id).first() or applications(
                client_id=client_id
            )
            app.name = f"Demo client {client_id}"
            app.client_type = client_type
            app.authorization_grant_type = applications.GRANT_AUTHORIZATION_CODE
            app.redirect_uris = redirect_uris
            app.algorithm = applications.RS256_ALGORITHM
            app.client_secret = secret
            app.skip_authorization = False
            app.save()
            # The demo's "classic request, refused" scenario: this client must use PAR; the
            # others are reset to the server-wide default (someone may have ticked it in the admin).
            if client_id == PAR_REQUIRED_CLIENT_ID:
                ClientPolicy.objects.update_or_create(
                    application=app, defaults={"require_pushed_authorization_requests": True}
                )
            elif client_id == JAR_CLIENT_ID:
                # The JAR scenario's client: its public key registered, signed requests required.
                public = json.loads(client_key().export_public())
                ClientPolicy.objects.update_or_create(
                    application=app,
                    defaults={
                        "token_endpoint_auth_method": "private_key_jwt",
                        "jwks": json.dumps({"keys": [public]}),
                        "require_signed_request_object": True,
                    },
                )
            else:
                ClientPolicy.objects.filter(application=app).update(
                    require_pushed_authorization_requests=False
                )
        self.stdout.write(
            f"Demo ready: clients {CLIENT_ID}, {PUBLIC_CLIENT_ID}, {PAR_REQUIRED_CLIENT_ID} (PAR required) "
            f"and {JAR_CLIENT_ID} (private_key_jwt, signed requests), redirect URIs {redirect_uris}"
        )
