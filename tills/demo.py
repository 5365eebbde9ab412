"""Demo data for `make run` (called by config's seed_demo command): an offline float, till
T1's allowance on it, and one offline gift card sale whose card was short on replay, so the
back office's shortfall list shows something real. Created once."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config.actors import system_actor
from merchants.models import ApiKey, Merchant, Store
from payments.models import Payment, Tender
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from tills.models import OfflineFloat, OfflineShortfall
from tills.offline_value import offline_allowance_reserve, offline_float_fund
from wallet.services import gift_card_issue

DEMO_ACTOR = system_actor("demo")


@transaction.atomic
def seed_demo(*, merchant: Merchant, store: Store) -> list[str]:
    key = (
        ApiKey.objects.filter(
            merchant=merchant, terminal__store=store, terminal__code="T1", revoked_at__isnull=True
        )
        .select_related("terminal")
        .first()
    )
    if key is None or OfflineFloat.objects.filter(merchant=merchant).exists():
        return []
    offline_float_fund(merchant=merchant, amount=Money("1000.00", "EUR"), actor=DEMO_ACTOR)
    offline_allowance_reserve(api_key=key, amount=Money("150.00", "EUR"), actor=DEMO_ACTOR)
    card = gift_card_issue(
        merchant=merchant, initial_value=Money("5.00", "EUR"), pin="1234", actor=DEMO_ACTOR
    )
    assert card.code is not None
    payment_create(
        api_key=key,
        idempotency_key=f"demo:offline:{uuid.uuid4()}",
        client_ip=None,
        request=PaymentRequest(
            amount=Money(Decimal("12.00"), "EUR"),
            channel=Payment.Channel.POS,
            external_reference="DEMO-OFFLINE-1",
            capture=True,
            offline=True,
            occurred_at=timezone.now() - timedelta(hours=2),
            tenders=[
                TenderRequest(
                    method=Tender.Method.OFFLINE_GIFT_CARD,
                    amount=Money(Decimal("12.00"), "EUR"),
                    code=card.code,
                    pin="1234",
                )
            ],
        ),
    )
    shortfall = OfflineShortfall.objects.get(payment__external_reference="DEMO-OFFLINE-1")
    return [
        f"Offline float 1000.00 EUR; till T1 holds an allowance of 150.00 EUR; one offline gift "
        f"card sale was {shortfall.amount} short on replay (admin: Tills > Offline shortfalls)."
    ]
