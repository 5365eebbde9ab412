"""Demo wallet data for `make run` (called by config's seed_demo command).

The base set is created once: a points programme, a customer with points and a gift card in
their wallet. Codes exist only at issue, so, like the demo API keys, the bearer instruments a
developer types in at a till are rotated on every start: the previous walk-in card is expired
(its value goes to breakage, as any expiry) and a new card and voucher are printed. The
liability snapshots of the last days are (re)written from the ledger.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config.actors import system_actor
from customers.models import Channel
from customers.policy import PresentedIdentifier
from customers.services import customer_identify
from merchants.models import Merchant, Store
from wallet.liability import liability_snapshot_write, merchant_zone
from wallet.models import GiftCard, LoyaltyAccount, LoyaltyProgramme, Transfer
from wallet.services import (
    gift_card_claim,
    gift_card_expire,
    gift_card_issue,
    loyalty_account_open,
    loyalty_earn,
    loyalty_programme_create,
    voucher_issue,
)

WALK_IN = "demo:walk-in:"
DEMO_PIN = "1234"
DEMO_ACTOR = system_actor("demo")
DEMO_LIABILITY_DAYS = 4


@transaction.atomic
def seed_demo(*, merchant: Merchant, store: Store) -> list[str]:
    programme = LoyaltyProgramme.objects.filter(merchant=merchant, currency="EUR").first()
    if programme is None:
        programme = loyalty_programme_create(
            merchant=merchant,
            name="Demo Points",
            currency="EUR",
            earn_rate=Decimal("1"),
            point_value=Decimal("0.01"),
            points_validity_days=365,
        )
    # The identity demo's Ada: her wallet is what a till sees after scanning her loyalty card.
    customer = customer_identify(
        merchant=merchant,
        identifiers=[PresentedIdentifier("email", "ada@example.com", verified=True)],
        channel=Channel.WEB,
        first_name="Ada",
        last_name="Lovelace",
    ).customer
    assert customer is not None
    account = LoyaltyAccount.objects.filter(customer=customer, programme=programme).first()
    if account is None:
        account = loyalty_account_open(programme=programme, customer=customer)
        loyalty_earn(
            account=account,
            spend=Money(Decimal("1250"), "EUR"),
            reference="demo:earn",
            actor=DEMO_ACTOR,
        )
    owned = gift_card_issue(
        merchant=merchant,
        initial_value=Money(Decimal("40.00"), "EUR"),
        reference="demo:ada-card",
        actor=DEMO_ACTOR,
    )
    gift_card_claim(gift_card=owned.gift_card, customer=customer)

    for issue in Transfer.objects.filter(
        merchant=merchant, code=Transfer.Code.ISSUE, reference__startswith=WALK_IN
    ).select_related("credit_account__gift_card"):
        card: GiftCard = issue.credit_account.gift_card
        if card.status != GiftCard.Status.EXPIRED:
            gift_card_expire(gift_card=card, actor=DEMO_ACTOR, reason="demo rotation")
    walk_in = gift_card_issue(
        merchant=merchant,
        initial_value=Money(Decimal("25.00"), "EUR"),
        pin=DEMO_PIN,
        reference=f"{WALK_IN}{uuid.uuid4()}",
        actor=DEMO_ACTOR,
    )
    voucher = voucher_issue(
        merchant=merchant,
        currency="EUR",
        percent=Decimal("10"),
        valid_until=timezone.now() + timedelta(days=7),
        max_uses_total=None,
        max_uses_per_customer=1,
    )
    account.account.refresh_from_db()
    owned.gift_card.account.refresh_from_db()
    # The liability report: the last days as the nightly task writes them, and today so far.
    today = timezone.now().astimezone(merchant_zone(merchant)).date()
    for back in range(DEMO_LIABILITY_DAYS):
        liability_snapshot_write(merchant=merchant, day=today - timedelta(days=back))
    return [
        f"Wallet of {customer} ({customer.public_id}): {int(account.account.available)} "
        f"points, gift card …{owned.gift_card.code_last4} "
        f"({owned.gift_card.currency} {owned.gift_card.account.available} available)",
        f"  walk-in gift card EUR 25.00 at {store.code}: {walk_in.code}  PIN {DEMO_PIN}",
        f"  voucher 10% off, once per customer, 7 days: {voucher.code}",
    ]
