"""One-time codes: issue (rate-limited, sent after commit) and check (5 attempts, then a lock).

Codes are 6 random digits valid 10 minutes; only an HMAC keyed with KASSA_CODE_HMAC_KEY and
salted per row is stored. Limits: 5 codes per destination per 15 minutes, 20 per client IP per
hour; 5 wrong tries on a code lock its destination for 15 minutes (new codes included), so a
guesser cannot simply ask for a fresh code.
"""

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.messaging import email_send, sms_send
from customers.models import Customer
from merchants.models import Merchant
from portal.errors import CodeIncorrect, CodeLocked, CodeSendLimited
from portal.models import OneTimeCode

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
SEND_WINDOW = timedelta(minutes=15)
SENDS_PER_DESTINATION = 5
IP_WINDOW = timedelta(hours=1)
SENDS_PER_IP = 20


def _digest(salt: str, code: str) -> str:
    key = settings.KASSA_CODE_HMAC_KEY.encode()
    return hmac.new(key, f"portal:{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _locked_until(merchant: Merchant, destination: str, now: datetime) -> datetime | None:
    row = (
        OneTimeCode.objects.filter(merchant=merchant, destination=destination, locked_until__gt=now)
        .order_by("-locked_until")
        .first()
    )
    return None if row is None else row.locked_until


def _locked_error(until: datetime, now: datetime) -> CodeLocked:
    minutes = math.ceil((until - now).total_seconds() / 60)
    return CodeLocked(meta={"retry_after_minutes": minutes})


@dataclass(frozen=True)
class Message:
    destination: str
    code: str


def _deliver(message: Message) -> None:
    body = _(
        "Your code is %(code)s. It is valid for 10 minutes. "
        "If you did not ask for it, you can ignore this message."
    ) % {"code": message.code}
    if "@" in message.destination:
        email_send(to=message.destination, subject=_("Your Kassa code"), body=body)
    else:
        sms_send(to=message.destination, body=body)


def code_issue(
    *,
    merchant: Merchant,
    purpose: str,
    destination: str,
    customer: Customer | None,
    client_ip: str | None,
    send: bool = True,
    payload: dict[str, Any] | None = None,
) -> OneTimeCode:
    """Record a code and send it once the row commits; `send=False` makes a decoy."""
    now = timezone.now()
    until = _locked_until(merchant, destination, now)
    if until is not None:
        raise _locked_error(until, now)
    recent = OneTimeCode.objects.filter(
        merchant=merchant, destination=destination, created_at__gt=now - SEND_WINDOW
    )
    if recent.count() >= SENDS_PER_DESTINATION:
        raise CodeSendLimited()
    if client_ip and (
        OneTimeCode.objects.filter(client_ip=client_ip, created_at__gt=now - IP_WINDOW).count()
        >= SENDS_PER_IP
    ):
        raise CodeSendLimited()
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(16)
    with transaction.atomic():
        row = OneTimeCode.objects.create(
            merchant=merchant,
            purpose=purpose,
            destination=destination,
            customer=customer,
            payload=payload or {},
            salt=salt,
            code_hash=_digest(salt, code),
            client_ip=client_ip,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        if send:
            message = Message(destination=destination, code=code)
            transaction.on_commit(lambda: _deliver(message))
    return row


def code_check(*, code_id: int, purpose: str, code: str) -> OneTimeCode:
    """The code's row, now used, if `code` matches; else count the try and refuse.

    The try is counted in its own committed transaction before the refusal is raised, so a
    rolled-back request never forgets a wrong guess.
    """
    now = timezone.now()
    with transaction.atomic():
        row = OneTimeCode.objects.select_for_update().filter(pk=code_id, purpose=purpose).first()
        if row is None:
            raise CodeIncorrect(field="code")
        until = _locked_until(row.merchant, row.destination, now)
        if until is not None:
            refusal: CodeIncorrect | CodeLocked = _locked_error(until, now)
        elif row.used_at is not None or row.expires_at <= now:
            refusal = CodeIncorrect(field="code")
        elif row.customer_id is not None or row.purpose == OneTimeCode.Purpose.REGISTER:
            if hmac.compare_digest(row.code_hash, _digest(row.salt, code.strip())):
                row.used_at = now
                row.save(update_fields=["used_at"])
                return row
            refusal = _count_wrong(row, now)
        else:
            refusal = _count_wrong(row, now)
    raise refusal


def _count_wrong(row: OneTimeCode, now: datetime) -> CodeIncorrect | CodeLocked:
    row.attempts += 1
    fields = ["attempts"]
    if row.attempts >= MAX_ATTEMPTS:
        row.locked_until = now + LOCKOUT
        fields.append("locked_until")
    row.save(update_fields=fields)
    if row.locked_until is not None:
        return _locked_error(row.locked_until, now)
    return CodeIncorrect(field="code", meta={"attempts_left": MAX_ATTEMPTS - row.attempts})
