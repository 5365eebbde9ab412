"""Demo settlements: five past business days of the demo store's two tills and of the web shop,
made through the real services (till sessions, cash and external-card sales, a refund, gift-card
web sales), then moved back to their day. Till 1 was 5.00 short three days ago; the older days
are reconciled (that one with its reason), the day before yesterday is closed, yesterday open.

Card sales are left out: the demo is seeded in one transaction, where Stripe cannot be called.
"""

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from moneyed import Money

from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue
from payments.models import Payment, Refund
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from payments.services.refund import refund_create
from reconciliation.models import Settlement
from reconciliation.selectors import day_zone, local_day
from reconciliation.services import settlement_close, settlement_compute, settlement_reconcile
from tills.models import TillSession
from tills.services import till_session_close, till_session_open
from wallet.services import gift_card_issue

DEMO_ACTOR = "system:demo"
DAYS = 5
SHORT_DAY = 3  # days ago: till 1 counted 5.00 short


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def _key(merchant: Merchant, scope: str, terminal: Terminal | None = None) -> ApiKey:
    key = ApiKey.objects.filter(
        merchant=merchant, scope=scope, terminal=terminal, revoked_at__isnull=True
    ).first()
    if key is None:
        key, _ = api_key_issue(
            merchant=merchant, scope=scope, name="demo reconciliation", terminal=terminal
        )
    return key


def _sell(api_key: ApiKey, amount: str, tenders: list[TenderRequest], reference: str) -> Payment:
    return payment_create(
        api_key=api_key,
        idempotency_key=f"demo-reconciliation-{reference}",
        client_ip=None,
        request=PaymentRequest(
            amount=eur(amount),
            channel=Payment.Channel.POS if api_key.terminal_id else Payment.Channel.WEB,
            tenders=tenders,
            external_reference=reference,
            capture=True,
        ),
    )


def _move_back(payments: list[Payment], sessions: list[TillSession], to: datetime) -> None:
    """Shift what was just made (all of it within the last minutes) to its business day."""
    shift = to - timezone.now()
    for payment in Payment.objects.filter(pk__in=[p.pk for p in payments]):
        Payment.objects.filter(pk=payment.pk).update(
            created_at=payment.created_at + shift,
            authorized_at=payment.authorized_at and payment.authorized_at + shift,
            captured_at=payment.captured_at and payment.captured_at + shift,
        )
    for refund in Refund.objects.filter(payment__in=payments):
        Refund.objects.filter(pk=refund.pk).update(
            created_at=refund.created_at + shift,
            completed_at=refund.completed_at and refund.completed_at + shift,
        )
    for session in sessions:
        TillSession.objects.filter(pk=session.pk).update(
            opened_at=session.opened_at + shift,
            closed_at=session.closed_at and session.closed_at + shift,
        )


def _till_day(key: ApiKey, day: date, ago: int, till: str) -> tuple[list[Payment], TillSession]:
    session = till_session_open(api_key=key, float_amount=eur("100.00"))
    tag = f"{day.isoformat()}-{till}"
    cash = _sell(key, f"{20 + 3 * ago}.50", [TenderRequest(method="cash")], f"{tag}-1")
    card = _sell(
        key,
        f"{35 + 4 * ago}.00",
        [TenderRequest(method="external_card", reference=f"TRM-{tag}")],
        f"{tag}-2",
    )
    split = _sell(
        key,
        "42.00",
        [
            TenderRequest(method="cash", amount=eur("12.00")),
            TenderRequest(method="external_card", amount=eur("30.00"), reference=f"TRM-{tag}-3"),
        ],
        f"{tag}-3",
    )
    payments = [cash, card, split]
    if till == "T2" and ago == 2:
        refund_create(payment=cash, amount=eur("5.00"), actor=DEMO_ACTOR, reason="demo: broken")
    cash_taken = cash.captured_amount.amount + Decimal("12.00")
    if till == "T2" and ago == 2:
        cash_taken -= Decimal("5.00")
    counted = Decimal("100.00") + cash_taken
    if till == "T1" and ago == SHORT_DAY:
        counted -= Decimal("5.00")
    external = card.captured_amount.amount + Decimal("30.00")
    session = till_session_close(
        api_key=key,
        session_id=str(session.public_id),
        counted=eur(str(counted)),
        external_card_declared=eur(str(external)),
    )
    return payments, session


def seed_demo(*, merchant: Merchant, store: Store) -> list[str]:
    if Settlement.objects.filter(merchant=merchant).exists():
        return ["Reconciliation: demo settlements exist already."]
    web_key = _key(merchant, ApiKey.Scope.MERCHANT)
    tills = list(store.terminals.order_by("code")[:2])
    zone = day_zone(store)
    today = local_day(timezone.now(), zone)
    days = []
    for ago in range(DAYS, 0, -1):
        day = today - timedelta(days=ago)
        at = datetime.combine(day, time(11, 0), tzinfo=ZoneInfo(zone))
        for till in tills:
            payments, session = _till_day(
                _key(merchant, ApiKey.Scope.TERMINAL, till), day, ago, till.code
            )
            _move_back(payments, [session], at)
        card = gift_card_issue(
            merchant=merchant, initial_value=eur("60.00"), pin="2468", actor=DEMO_ACTOR
        )
        web = _sell(
            web_key,
            f"{25 + 5 * ago}.00",
            [TenderRequest(method="gift_card", code=card.code, pin="2468")],
            f"{day.isoformat()}-web-{uuid.uuid4().hex[:6]}",
        )
        web_at = datetime.combine(day, time(15, 0), tzinfo=ZoneInfo(day_zone(None)))
        _move_back([web], [], web_at)
        days.append(day)
    for ago, day in zip(range(DAYS, 0, -1), days, strict=True):
        rows = settlement_compute(
            merchant=merchant, store=store, business_day=day, match_stripe=False
        ) + settlement_compute(merchant=merchant, store=None, business_day=day, match_stripe=False)
        for row in rows:
            if ago >= 3:
                reason = "Till 1 counted 5.00 short: coin bag miscounted" if row.differences else ""
                settlement_reconcile(settlement=row, actor=DEMO_ACTOR, reason=reason)
            elif ago == 2:
                settlement_close(settlement=row, actor=DEMO_ACTOR)
    return [
        f"Reconciliation: {Settlement.objects.filter(merchant=merchant).count()} settlements over "
        f"{DAYS} days at /admin/reconciliation/settlement/ (one with a difference)."
    ]
