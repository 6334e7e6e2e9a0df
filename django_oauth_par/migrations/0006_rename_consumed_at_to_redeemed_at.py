from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    """One word for using up a reference: ``redeemed``, as in the ``request_redeemed`` signal.

    The partial index names the column in its condition, so it is dropped before the rename
    and built again after it under its new name.
    """

    dependencies = [
        ("oauth_par", "0005_pushed_request_address_digest"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="pushedrequest", name="oauth_par_unspent_by_address"),
        migrations.RenameField(model_name="pushedrequest", old_name="consumed_at", new_name="redeemed_at"),
        migrations.AlterField(
            model_name="pushedrequest",
            name="redeemed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="redeemed"),
        ),
        migrations.AddIndex(
            model_name="pushedrequest",
            index=models.Index(
                condition=models.Q(redeemed_at__isnull=True),
                fields=["application", "address_digest", "expires_at"],
                name="oauth_par_pending_by_address",
            ),
        ),
    ]
