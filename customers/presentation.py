"""Strong presentation at a till: one-time codes read back from a verified phone or email.

A typed identifier only finds a customer (`Strength.WEAK`). To spend their wallet the till asks
for a code: `presentation_code_send` sends six digits to one of the customer's verified phones or
emails, the customer reads it out, and `presentation_code_verify` makes the till's grant
`Strength.WALLET` for `STRONG_PRESENTATION_TTL`. Each code lives `CODE_TTL`, allows
`MAX_ATTEMPTS` tries and is then locked until it would have expired; sends are limited per
customer and per till key. Only an HMAC of the code is stored; the plain code exists in memory
until it is sent, after the commit, and is never logged or returned.
"""

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import KassaError
from config.messaging import email_send, sms_send
from customers.errors import (
    IdentifierNotVerified,
    PresentationCodeExpired,
    PresentationCodeInvalid,
    PresentationCodeLocked,
    PresentationCodesExhausted,
)
from customers.lock_objects import customers_lock_survivors
from customers.models import Customer, CustomerAccessGrant, Identifier, PresentationCode, Strength
from customers.services import customer_access_grant
from merchants.models import ApiKey

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SEND_WINDOW = timedelta(hours=1)
SENDS_PER_CUSTOMER = 5
SENDS_PER_API_KEY = 30
CODE_KINDS = (Identifier.Kind.EMAIL, Identifier.Kind.PHONE)


@dataclass(frozen=True)
class CodeSent:
    """Where the code went (masked) and until when it can be read back."""

    via: str
    sent_to: str
    expires_at: datetime


def identifier_mask(*, kind: str, value: str) -> str:
    """Enough of an identifier for the customer to recognise it, too little to learn it.

    `a***@example.com`, `+31 6** *** *12`, `*********0011`.
    """
    if kind == Identifier.Kind.EMAIL:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if kind == Identifier.Kind.PHONE:
        number = phonenumbers.parse(value)
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        keep_head = len(str(number.country_code)) + 1
        total = sum(char.isdigit() for char in shown)
        masked, seen = [], 0
        for char in shown:
            if char.isdigit():
                seen += 1
                char = char if seen <= keep_head or seen > total - 2 else "*"
            masked.append(char)
        return "".join(masked)
    return "*" * max(len(value) - 4, 4) + value[-4:]


def _code_hash(*, salt: str, code: str) -> str:
    key = settings.KASSA_CODE_HMAC_KEY.encode()
    return hmac.new(key, f"presentation:{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _retry_after(until: datetime, now: datetime) -> dict[str, int]:
    return {"retry_after_seconds": max(1, math.ceil((until - now).total_seconds()))}


def _deliver(*, identifier: Identifier, code: str) -> None:
    minutes = int(CODE_TTL.total_seconds() // 60)
    body = f"Your code for the till: {code}. Valid for {minutes} minutes; tell it only to the till."
    if identifier.kind == Identifier.Kind.EMAIL:
        email_send(to=identifier.value, subject="Your Kassa code", body=body)
    else:
        sms_send(to=identifier.value, body=body)


@transaction.atomic
def presentation_code_send(*, api_key: ApiKey, customer: Customer, via: str) -> CodeSent:
    """Send a fresh code to the customer's verified `via` (email or phone), after the commit.

    A new code replaces the till's earlier pending one, but not a locked one: a locked code
    holds the till off until it would have expired, so new codes cannot reset the attempts.
    """
    customer = customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]
    identifier = (
        customer.identifiers.filter(kind=via, verified=True, removed_at__isnull=True)
        .order_by("-last_seen_at", "-pk")
        .first()
    )
    if identifier is None:
        raise IdentifierNotVerified(field="via")
    now = timezone.now()
    own = PresentationCode.objects.filter(api_key=api_key, customer=customer)
    locked = own.filter(attempts__gte=MAX_ATTEMPTS, expires_at__gt=now).order_by("-expires_at")
    if (code_row := locked.first()) is not None:
        raise PresentationCodeLocked(meta=_retry_after(code_row.expires_at, now))
    for recent, limit in (
        (PresentationCode.objects.filter(customer=customer), SENDS_PER_CUSTOMER),
        (PresentationCode.objects.filter(api_key=api_key), SENDS_PER_API_KEY),
    ):
        window = list(
            recent.filter(created_at__gt=now - SEND_WINDOW)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:limit]
        )
        if len(window) >= limit:
            raise PresentationCodesExhausted(meta=_retry_after(window[-1] + SEND_WINDOW, now))
    own.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(16)
    code_row = PresentationCode.objects.create(
        customer=customer,
        api_key=api_key,
        identifier=identifier,
        salt=salt,
        code_hash=_code_hash(salt=salt, code=code),
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    transaction.on_commit(lambda: _deliver(identifier=identifier, code=code))
    return CodeSent(
        via=identifier.kind,
        sent_to=identifier_mask(kind=identifier.kind, value=identifier.value),
        expires_at=code_row.expires_at,
    )


def presentation_code_verify(
    *, api_key: ApiKey, customer: Customer, code: str
) -> CustomerAccessGrant:
    """Check the code the customer read out; right: the till's grant becomes `WALLET`.

    A wrong code is counted in a transaction that commits before the refusal is raised.
    """
    outcome = _verify(api_key=api_key, customer=customer, code=code)
    if isinstance(outcome, KassaError):
        raise outcome
    return outcome


@transaction.atomic
def _verify(*, api_key: ApiKey, customer: Customer, code: str) -> CustomerAccessGrant | KassaError:
    customer = customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]
    now = timezone.now()
    code_row = (
        PresentationCode.objects.select_for_update()
        .filter(api_key=api_key, customer=customer, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if code_row is None:
        return PresentationCodeExpired(field="code")
    if code_row.attempts >= MAX_ATTEMPTS:
        return PresentationCodeLocked(field="code", meta=_retry_after(code_row.expires_at, now))
    if not hmac.compare_digest(code_row.code_hash, _code_hash(salt=code_row.salt, code=code)):
        code_row.attempts += 1
        code_row.save(update_fields=["attempts"])
        left = MAX_ATTEMPTS - code_row.attempts
        if left == 0:
            return PresentationCodeLocked(field="code", meta=_retry_after(code_row.expires_at, now))
        return PresentationCodeInvalid(field="code", meta={"attempts_left": left})
    code_row.used_at = now
    code_row.save(update_fields=["used_at"])
    grant = customer_access_grant(api_key=api_key, customer=customer, strength=Strength.WALLET)
    assert grant is not None, "codes are sent for terminal keys only"
    return grant
