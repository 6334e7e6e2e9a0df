"""What the app stores: pushed requests, client policies, audit chains and events."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

PRIVATE_KEY_JWT = "private_key_jwt"
#: RFC 7591 §2 ``token_endpoint_auth_method`` values this app implements.
AUTH_METHOD_CHOICES = [
    ("client_secret_basic", "client_secret_basic"),
    ("client_secret_post", "client_secret_post"),
    (PRIVATE_KEY_JWT, PRIVATE_KEY_JWT),
    ("none", _("none (public client)")),
]

#: Every ``request_uri`` we issue starts with this (RFC 9126 §2.2).
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: Longest outcome stored: ``code`` or an OAuth error code; a site's own longer code is cut.
OUTCOME_LENGTH = 64
#: Longest client_id an audit event keeps (DOT's own column is as long).
CLIENT_ID_LENGTH = 255


def reference_digest(request_uri: str) -> str:
    """The SHA-256 hex digest under which a ``request_uri`` is stored.

    The reference carries 256 random bits, so a plain digest is enough: a database
    dump yields nothing that can be presented at the authorization endpoint.
    """
    return hashlib.sha256(request_uri.encode("utf-8", "surrogatepass")).hexdigest()


class PushedRequest(models.Model):
    """An authorization request pushed by a client, waiting to be redeemed once."""

    id = models.BigAutoField(primary_key=True)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("client"),
    )
    digest = models.CharField(_("reference digest"), max_length=64, editable=False)
    #: The pushed parameters as ``[[name, value], ...]`` in the order they came,
    #: repeats kept. Client credentials are never among them.
    parameters = models.JSONField(_("parameters"), default=list, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), db_index=True, editable=False)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True, editable=False)
    #: What the authorization response was: ``"code"`` or the error sent to the client.
    outcome = models.CharField(
        _("outcome"), max_length=OUTCOME_LENGTH, blank=True, default="", editable=False
    )
    #: When the user was sent to log in for a pushed ``prompt=login``. A login recorded in
    #: the session after this moment satisfies the prompt, so the user is asked only once.
    login_prompted_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: Whether the client authenticated when it pushed (a secret or a key, not a bare client_id).
    #: Unregistered redirect URIs (RFC 9126 §2.4) are honoured only for such pushes.
    client_authenticated = models.BooleanField(default=False, editable=False)
    #: The stable id of this request's audit chain (:class:`AuditChain`). Never the reference:
    #: it is safe to log, export and show, and outlives the row.
    audit_id = models.UUIDField(_("audit id"), null=True, default=uuid.uuid4, editable=False)
    #: For a push that did not authenticate its client only: a keyed hash of the address it
    #: came from (never the address), so that one address cannot hold all of a public
    #: client's pending requests. Empty for authenticated pushes.
    address_digest = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("pushed authorization request")
        verbose_name_plural = _("pushed authorization requests")
        indexes = [
            # Counting a client's unredeemed unauthenticated pushes, per address, at every such push.
            models.Index(
                fields=["application", "address_digest", "expires_at"],
                condition=models.Q(redeemed_at__isnull=True),
                name="oauth_par_pending_by_address",
            ),
        ]
        constraints = [
            # A constraint rather than unique=True: on PostgreSQL that would add a second,
            # pattern-matching index that exact lookups never use and every write pays for.
            models.UniqueConstraint(fields=["digest"], name="oauth_par_pushed_request_digest"),
        ]

    def __str__(self) -> str:
        return f"pushed request {self.pk}"

    def __repr__(self) -> str:
        # Never the digest or the parameters: reprs end up in logs and tracebacks.
        return f"<PushedRequest {self.pk} client={self.application_id}>"

    @property
    def parameter_pairs(self) -> list[tuple[str, str]]:
        return [(str(key), str(value)) for key, value in self.parameters]

    @property
    def parameter_names(self) -> list[str]:
        return list(dict.fromkeys(key for key, _value in self.parameter_pairs))

    def is_expired(self, now: Any = None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    @property
    def state(self) -> str:
        if self.redeemed_at is not None:
            return "redeemed"
        if self.is_expired():
            return "expired"
        return "pending"


#: The Application's accessor of its ClientPolicy: what ``select_related`` loads it by.
POLICY = "pushed_authorization_policy"


class ClientPolicy(models.Model):
    """Per-client PAR policy, kept beside DOT's (possibly swapped) Application model."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name=POLICY,
        verbose_name=_("client"),
    )
    require_pushed_authorization_requests = models.BooleanField(
        _("require pushed authorization requests"),
        default=False,
        help_text=_(
            "Refuse every authorization request from this client that does not carry a "
            "request_uri obtained from the pushed authorization request endpoint."
        ),
    )
    # Client keys, with their RFC 7591 names. Ignored where the installed DOT has its own
    # (see registration.dot_has_client_keys): there DOT's fields are the one source of truth.
    token_endpoint_auth_method = models.CharField(
        _("token endpoint auth method"),
        max_length=32,
        blank=True,
        default="",
        choices=AUTH_METHOD_CHOICES,
        help_text=_(
            "How the client authenticates, here and at the token endpoint. Unset: by client type "
            "(a secret for confidential clients, nothing for public ones)."
        ),
    )
    jwks = models.TextField(
        _("JWK Set"),
        blank=True,
        default="",
        help_text=_(
            'The client\'s public keys as a JWK Set ({"keys": [...]}): RSA of 2048 bits or more, '
            "EC P-256 or P-384, or Ed25519. Public keys only. Leave empty when jwks_uri is set."
        ),
    )
    jwks_uri = models.URLField(
        _("JWK Set URL"),
        max_length=500,
        blank=True,
        default="",
        help_text=_(
            "HTTPS URL where the client publishes its public keys; fetched when a key is needed, "
            "never when this page is saved. Leave empty when a JWK Set is pasted."
        ),
    )
    require_signed_request_object = models.BooleanField(
        _("require signed request object"),
        default=False,
        help_text=_(
            "Refuse pushes from this client that do not carry a signed request object "
            "(the request parameter, RFC 9101)."
        ),
    )

    request_uri_lifetime = models.PositiveIntegerField(
        _("request_uri lifetime"),
        null=True,
        blank=True,
        help_text=_(
            "Seconds this client's request_uri values stay usable. Empty: the server's "
            "REQUEST_URI_LIFETIME. Never more than MAX_REQUEST_URI_LIFETIME."
        ),
    )
    require_authenticated_push = models.BooleanField(
        _("require authenticated push"),
        default=False,
        help_text=_("Refuse pushes from this client that carry no client authentication."),
    )
    redirect_uri_patterns = models.TextField(
        _("redirect URI patterns"),
        blank=True,
        default="",
        help_text=_(
            "One per line, such as https://*.tenant.example.com/callback: redirect URIs that were not "
            "registered but may be pushed (RFC 9126 §2.4). Honoured only for authenticated pushes and only "
            "through PAR. The * stands for exactly one host label; https only, or http on a loopback IP."
        ),
    )
    #: RFC 9396: off, the client may request every registered type of authorization_details.
    restrict_authorization_details_types = models.BooleanField(
        _("restrict authorization details types"),
        default=False,
        help_text=_(
            "Accept from this client only the authorization_details types listed below, instead of "
            "every type the server registers."
        ),
    )
    authorization_details_types = models.JSONField(
        _("authorization details types"),
        default=list,
        blank=True,
        help_text=_("The types this client may request when restricted."),
    )

    class Meta:
        verbose_name = _("pushed authorization policy")
        verbose_name_plural = _("pushed authorization policies")

    def __str__(self) -> str:
        return f"PAR policy of client {self.application_id}"

    @classmethod
    def of(cls, application: Any) -> ClientPolicy | None:
        """The policy row of ``application`` or None: at most one query per application instance.

        None when the client was loaded with its policy (``select_related(POLICY)``, as this
        app loads it wherever it can); an instance lives for one request, so the row read
        once is the row of that request.
        """
        try:
            policy: ClientPolicy = getattr(application, POLICY)
        except cls.DoesNotExist:
            return None
        return policy

    def clean(self) -> None:
        from .keys import InvalidKeySetError, check_jwks_uri, parse_jwk_set, public_json
        from .policy import max_request_uri_lifetime
        from .redirect_patterns import PatternError, parse_patterns

        errors: dict[str, str] = {}
        maximum = max_request_uri_lifetime()
        if self.request_uri_lifetime is not None and not 1 <= self.request_uri_lifetime <= maximum:
            errors["request_uri_lifetime"] = f"Between 1 and {maximum} seconds."
        try:
            parse_patterns(self.redirect_uri_patterns)
        except PatternError as error:
            errors["redirect_uri_patterns"] = str(error)
        if self.jwks and self.jwks_uri:
            errors["jwks_uri"] = gettext("Give either a JWK Set or a JWK Set URL, not both.")
        if self.jwks:
            try:
                self.jwks = public_json(parse_jwk_set(self.jwks))
            except InvalidKeySetError as error:
                # Never keep what was pasted: it may be a private key.
                self.jwks = ""
                errors["jwks"] = str(error)
        if self.jwks_uri:
            try:
                check_jwks_uri(self.jwks_uri)
            except InvalidKeySetError as error:
                errors["jwks_uri"] = str(error)
        if self.token_endpoint_auth_method == PRIVATE_KEY_JWT and not (self.jwks or self.jwks_uri):
            errors.setdefault(
                "jwks", gettext("private_key_jwt needs the client's public keys: a JWK Set or its URL.")
            )
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The last guard on every path that writes (admin, shell, fixtures): a set holding
        # a private key is never written, whatever skipped clean().
        if self.jwks:
            from .keys import InvalidKeySetError, parse_jwk_set, public_json

            try:
                self.jwks = public_json(parse_jwk_set(self.jwks))
            except InvalidKeySetError as error:
                raise ValidationError({"jwks": str(error)}) from None
        super().save(*args, **kwargs)


class AuditChain(models.Model):
    """Everything that came of one pushed request, from the push to its last token.

    Its id is the pushed request's ``audit_id``. It outlives the pushed request (which the
    cleanup deletes) and holds no secret: no reference, client secret, code or token value.
    """

    id = models.UUIDField(_("audit id"), primary_key=True, editable=False)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("client"),
    )
    #: Kept as text too, so the chain still names its client once the client is deleted.
    client_id = models.CharField(_("client id"), max_length=255, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    #: ``""`` while undecided, then ``"allowed"``, ``"denied"`` or the error sent to the client.
    outcome = models.CharField(_("outcome"), max_length=OUTCOME_LENGTH, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(_("pushed"), default=timezone.now, db_index=True, editable=False)

    class Meta:
        verbose_name = _("audit chain")
        verbose_name_plural = _("audit chains")

    def __str__(self) -> str:
        return f"audit chain {self.pk}"


class AuditEvent(models.Model):
    """One event of an audit chain: who, when, and what (identifiers and approved values only).

    Linked to its chain by ``audit_id`` rather than a foreign key: an event may arrive for a
    chain whose summary the retention already removed (a refresh a year later), and must
    never fail the request that caused it.
    """

    id = models.BigAutoField(primary_key=True)
    audit_id = models.UUIDField(_("audit id"), db_index=True)
    event = models.CharField(_("event"), max_length=32)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    client_id = models.CharField(
        _("client id"), max_length=CLIENT_ID_LENGTH, blank=True, default="", db_index=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    #: The event's facts (scopes, resources, details as approved, token ids, expiry, ...), with
    #: the values of ``AUDIT_SENSITIVE_KEYS`` replaced by digests.
    facts = models.JSONField(_("facts"), default=dict)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.event} at {self.at:%Y-%m-%d %H:%M:%S}"


class GrantedAuthorization(models.Model):
    """What DOT issued from a pushed request: its code, or an access token with its refresh token.

    DOT's models are not ours to change, so this row points at them. It carries the approved
    ``authorization_details`` (RFC 9396, None when none were pushed) from the code to the
    tokens and across refreshes, and the audit id that token events belong to.
    """

    id = models.BigAutoField(primary_key=True)
    audit_id = models.UUIDField(_("audit id"), null=True, blank=True)
    authorization_details = models.JSONField(_("authorization details"), null=True, blank=True)
    grant = models.OneToOneField(
        oauth2_settings.GRANT_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    refresh_token = models.OneToOneField(
        oauth2_settings.REFRESH_TOKEN_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("granted authorization")
        verbose_name_plural = _("granted authorizations")

    def __repr__(self) -> str:
        return f"<GrantedAuthorization {self.pk} audit_id={self.audit_id}>"
