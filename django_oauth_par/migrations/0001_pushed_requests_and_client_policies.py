from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PushedRequest",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "digest",
                    models.CharField(editable=False, max_length=64, verbose_name="reference digest"),
                ),
                ("parameters", models.JSONField(default=list, editable=False, verbose_name="parameters")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created"
                    ),
                ),
                ("expires_at", models.DateTimeField(db_index=True, editable=False, verbose_name="expires")),
                (
                    "consumed_at",
                    models.DateTimeField(blank=True, editable=False, null=True, verbose_name="consumed"),
                ),
                (
                    "outcome",
                    models.CharField(
                        blank=True, default="", editable=False, max_length=64, verbose_name="outcome"
                    ),
                ),
                ("login_prompted_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=oauth2_settings.APPLICATION_MODEL,
                        verbose_name="client",
                    ),
                ),
            ],
            options={
                "verbose_name": "pushed authorization request",
                "verbose_name_plural": "pushed authorization requests",
                "constraints": [
                    models.UniqueConstraint(fields=("digest",), name="oauth_par_pushed_request_digest"),
                ],
            },
        ),
        migrations.CreateModel(
            name="ClientPolicy",
            fields=[
                (
                    "application",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="pushed_authorization_policy",
                        serialize=False,
                        to=oauth2_settings.APPLICATION_MODEL,
                        verbose_name="client",
                    ),
                ),
                (
                    "require_pushed_authorization_requests",
                    models.BooleanField(
                        default=False,
                        help_text="Refuse every authorization request from this client that does not "
                        "carry a request_uri obtained from the pushed authorization request endpoint.",
                        verbose_name="require pushed authorization requests",
                    ),
                ),
            ],
            options={
                "verbose_name": "pushed authorization policy",
                "verbose_name_plural": "pushed authorization policies",
            },
        ),
    ]
