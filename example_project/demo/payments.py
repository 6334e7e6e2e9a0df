"""The demo's one type of ``authorization_details``: a payment, as in RFC 9396 §2.

Registered in ``OAUTH2_PAR["AUTHORIZATION_DETAILS_TYPES"]``; its consent text is the template
``django_oauth_par/authorization_details/payment_initiation.html`` in the demo's templates.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

#: RFC 9396 §2's example, as the demo relying party pushes it.
EXAMPLE: dict[str, Any] = {
    "type": "payment_initiation",
    "actions": ["initiate", "status", "cancel"],
    "locations": ["https://example.com/payments"],
    "instructedAmount": {"currency": "EUR", "amount": "123.50"},
    "creditorName": "Merchant A",
    "creditorAccount": {"iban": "DE02100100109307118603"},
    "remittanceInformationUnstructured": "Ref Number Merchant",
}

CURRENCY = re.compile(r"[A-Z]{3}")
IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def validate_payment(detail: dict[str, Any], client: Any) -> None:
    """A payment names a positive amount in a currency, a creditor and the creditor's IBAN."""
    amount = detail.get("instructedAmount")
    if not isinstance(amount, dict) or "amount" not in amount:
        raise ValidationError("A payment needs an instructedAmount with an amount.")
    if not isinstance(amount.get("currency"), str) or not CURRENCY.fullmatch(amount["currency"]):
        raise ValidationError("The instructedAmount needs a three-letter currency code.")
    try:
        value = Decimal(str(amount["amount"]))
    except InvalidOperation:
        raise ValidationError("The instructedAmount's amount is not a number.") from None
    if not value.is_finite() or value <= 0:
        raise ValidationError("The instructedAmount's amount must be above zero.")
    if not isinstance(detail.get("creditorName"), str) or not detail["creditorName"].strip():
        raise ValidationError("A payment needs a creditorName.")
    account = detail.get("creditorAccount")
    if not isinstance(account, dict) or not isinstance(account.get("iban"), str):
        raise ValidationError("A payment needs a creditorAccount with an iban.")
    if not IBAN.fullmatch(account["iban"]):
        raise ValidationError("The creditorAccount's iban is malformed.")
