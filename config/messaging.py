"""Short messages to customers: email through Django's email backend, SMS through a sender.

The SMS sender is pluggable (`KASSA_SMS_SENDER`, a dotted path to a class with
`send(*, to, body)`): `FileSmsSender`, the default, writes one file per message under
`KASSA_SMS_FILE_PATH` (default `$KASSA_STATE_DIR/mail/sms`), as Django's file email backend does for
mail; `LocmemSmsSender` keeps them in `sms_outbox` for tests. A production deployment points it
at its SMS provider's adapter. Message bodies may hold one-time codes: nothing here logs them.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsSender(Protocol):
    def send(self, *, to: str, body: str) -> None: ...


@dataclass(frozen=True)
class Sms:
    to: str
    body: str


sms_outbox: list[Sms] = []


class LocmemSmsSender:
    """Keeps messages in `sms_outbox`, like Django's locmem email backend."""

    def send(self, *, to: str, body: str) -> None:
        sms_outbox.append(Sms(to=to, body=body))


class FileSmsSender:
    """Writes each message to its own file, for local development."""

    def send(self, *, to: str, body: str) -> None:
        directory = Path(settings.KASSA_SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.txt"
        (directory / name).write_text(f"To: {to}\n\n{body}\n", encoding="utf-8")


def sms_send(*, to: str, body: str) -> None:
    sender: SmsSender = import_string(settings.KASSA_SMS_SENDER)()
    sender.send(to=to, body=body)


def email_send(*, to: str, subject: str, body: str) -> None:
    send_mail(subject, body, None, [to], fail_silently=False)
