"""Retention: drop what is kept only for a while, past its window (settings, docs/api.md).

- till access grants, `KASSA_RETENTION_ACCESS_GRANT_DAYS` after they expired;
- one-time presentation codes, `KASSA_RETENTION_PRESENTATION_CODE_DAYS` after they expired;
- idempotency records (merchants.retention), after `KASSA_RETENTION_IDEMPOTENCY_DAYS`;
- whatever each app's privacy handler purges (payments: stored Stripe webhook payloads);
- with `KASSA_ERASE_INACTIVE_AFTER_DAYS` set (off by default), customers inactive for longer
  are erased, their stored value kept (`stored_value="keep"`).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from config.actors import system_actor
from config.errors import KassaError
from customers.models import CustomerAccessGrant, PresentationCode
from customers.privacy.contract import privacy_handlers
from customers.services.erasure import customer_erase, customers_inactive_since
from merchants.retention import idempotency_records_purge

RETENTION_ACTOR = system_actor("retention")


def customers_retention_purge(*, now: datetime | None = None) -> dict[str, int]:
    """One retention run; rows deleted (or erased) per kind. Idempotent."""
    now = now or timezone.now()
    days = timedelta(days=1)
    grants, _ = CustomerAccessGrant.objects.filter(
        expires_at__lt=now - settings.KASSA_RETENTION_ACCESS_GRANT_DAYS * days
    ).delete()
    codes, _ = PresentationCode.objects.filter(
        expires_at__lt=now - settings.KASSA_RETENTION_PRESENTATION_CODE_DAYS * days
    ).delete()
    purged = {
        "access_grants": grants,
        "presentation_codes": codes,
        "idempotency_records": idempotency_records_purge(
            before=now - settings.KASSA_RETENTION_IDEMPOTENCY_DAYS * days
        ),
    }
    for handler in privacy_handlers():
        for kind, count in handler.retention_purge(now=now).items():
            purged[f"{handler.app_label}.{kind}"] = count
    purged["inactive_customers_erased"] = customers_erase_inactive(now=now)
    return purged


def customers_erase_inactive(*, now: datetime | None = None) -> int:
    """Erase customers inactive for longer than KASSA_ERASE_INACTIVE_AFTER_DAYS (None: off)."""
    after_days = settings.KASSA_ERASE_INACTIVE_AFTER_DAYS
    if not after_days:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=after_days)
    erased = 0
    for customer in customers_inactive_since(cutoff=cutoff):
        seen = [h.last_activity(customer=customer) for h in privacy_handlers()]
        if any(moment is not None and moment >= cutoff for moment in seen):
            continue
        try:
            customer_erase(
                customer=customer,
                reason=f"inactive for more than {after_days} days",
                stored_value="keep",
                actor=RETENTION_ACTOR,
            )
        except KassaError:
            continue
        erased += 1
    return erased
