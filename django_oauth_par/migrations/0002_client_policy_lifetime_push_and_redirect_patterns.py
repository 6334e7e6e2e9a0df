from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oauth_par", "0001_pushed_requests_and_client_policies"),
    ]

    operations = [
        migrations.AddField(
            model_name="pushedrequest",
            name="client_authenticated",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="clientpolicy",
            name="request_uri_lifetime",
            field=models.PositiveIntegerField(
                blank=True,
                help_text=(
                    "Seconds this client's request_uri values stay usable. Empty: the server's "
                    "REQUEST_URI_LIFETIME. Never more than MAX_REQUEST_URI_LIFETIME."
                ),
                null=True,
                verbose_name="request_uri lifetime",
            ),
        ),
        migrations.AddField(
            model_name="clientpolicy",
            name="require_authenticated_push",
            field=models.BooleanField(
                default=False,
                help_text="Refuse pushes from this client that carry no client authentication.",
                verbose_name="require authenticated push",
            ),
        ),
        migrations.AddField(
            model_name="clientpolicy",
            name="redirect_uri_patterns",
            field=models.TextField(
                blank=True,
                default="",
                help_text=(
                    "One per line, such as https://*.tenant.example.com/callback: redirect URIs that were "
                    "not registered but may be pushed (RFC 9126 §2.4). Honoured only for authenticated "
                    "pushes and only through PAR. The * stands for exactly one host label; https only, "
                    "or http on a loopback IP."
                ),
                verbose_name="redirect URI patterns",
            ),
        ),
    ]
