from __future__ import annotations

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):
    dependencies = [
        ("oauth_par", "0002_client_policy_lifetime_push_and_redirect_patterns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(oauth2_settings.ACCESS_TOKEN_MODEL),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
        migrations.swappable_dependency(oauth2_settings.GRANT_MODEL),
        migrations.swappable_dependency(oauth2_settings.REFRESH_TOKEN_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="clientpolicy",
            name="authorization_details_types",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The types this client may request when restricted.",
                verbose_name="authorization details types",
            ),
        ),
        migrations.AddField(
            model_name="clientpolicy",
            name="restrict_authorization_details_types",
            field=models.BooleanField(
                default=False,
                help_text="Accept from this client only the authorization_details types listed below, "
                "instead of every type the server registers.",
                verbose_name="restrict authorization details types",
            ),
        ),
        # Rows pushed before this migration keep no audit id (they have no chain); only the
        # default makes new ones, so AddField must not fill the old rows with one shared value.
        migrations.AddField(
            model_name="pushedrequest",
            name="audit_id",
            field=models.UUIDField(editable=False, null=True, verbose_name="audit id"),
        ),
        migrations.AlterField(
            model_name="pushedrequest",
            name="audit_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, null=True, verbose_name="audit id"),
        ),
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        editable=False, primary_key=True, serialize=False, verbose_name="audit id"
                    ),
                ),
                ("client_id", models.CharField(editable=False, max_length=255, verbose_name="client id")),
                (
                    "outcome",
                    models.CharField(
                        blank=True, db_index=True, default="", max_length=64, verbose_name="outcome"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        editable=False,
                        verbose_name="pushed",
                    ),
                ),
                (
                    "application",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=oauth2_settings.APPLICATION_MODEL,
                        verbose_name="client",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "audit chain",
                "verbose_name_plural": "audit chains",
            },
        ),
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("audit_id", models.UUIDField(db_index=True, verbose_name="audit id")),
                ("event", models.CharField(max_length=32, verbose_name="event")),
                (
                    "at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="at"),
                ),
                (
                    "client_id",
                    models.CharField(
                        blank=True, db_index=True, default="", max_length=255, verbose_name="client id"
                    ),
                ),
                ("facts", models.JSONField(default=dict, verbose_name="facts")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "audit event",
                "verbose_name_plural": "audit events",
                "ordering": ["at", "id"],
            },
        ),
        migrations.CreateModel(
            name="GrantedAuthorization",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("audit_id", models.UUIDField(blank=True, null=True, verbose_name="audit id")),
                (
                    "authorization_details",
                    models.JSONField(blank=True, null=True, verbose_name="authorization details"),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "access_token",
                    models.OneToOneField(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=oauth2_settings.ACCESS_TOKEN_MODEL,
                    ),
                ),
                (
                    "grant",
                    models.OneToOneField(
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=oauth2_settings.GRANT_MODEL,
                    ),
                ),
                (
                    "refresh_token",
                    models.OneToOneField(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=oauth2_settings.REFRESH_TOKEN_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "granted authorization",
                "verbose_name_plural": "granted authorizations",
            },
        ),
    ]
