from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oauth_par", "0004_client_keys_and_signed_request_objects"),
    ]

    operations = [
        migrations.AddField(
            model_name="pushedrequest",
            name="address_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddIndex(
            model_name="pushedrequest",
            index=models.Index(
                condition=models.Q(consumed_at__isnull=True),
                fields=["application", "address_digest", "expires_at"],
                name="oauth_par_unspent_by_address",
            ),
        ),
    ]
