"""Demo data for the portal (called by seed_demo): Ada's purchases in a store and online, with
basket lines, split tenders and a refund; a reload and an adjustment on her gift card; a voucher
of her own; and a loyalty card given at a till under another email of hers, to link.

Created once. The payments go through the payments engine with keys issued for the purpose and
revoked right after, like any till or web shop would make them (no card tender: no network call
inside seed_demo's transaction).
"""

from decimal import Decimal

from moneyed import Money

from config.actors import system_actor
from customers.models import Channel, Customer
from customers.normalisation import loyalty_card_number
from customers.policy import PresentedIdentifier
from customers.services import customer_identify
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue, api_key_revoke
from payments.models import Payment
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from payments.services.refund import refund_create
from wallet.models import GiftCard, LoyaltyAccount
from wallet.services import (
    gift_card_claim,
    gift_card_issue,
    gift_card_reload,
    instrument_adjust,
    voucher_issue,
)

DEMO_ACTOR = system_actor("demo")
DONE_REFERENCE = "demo:portal:store-sale"
LINK_CARD = loyalty_card_number("601000000003")
LINK_EMAIL = "ada.l@example.org"


def _line(sku: str, name: str, quantity: int, price: str) -> dict[str, object]:
    return {
        "sku": sku,
        "name": name,
        "quantity": quantity,
        "unit_price": {"amount": price, "currency": "EUR"},
    }


def seed_demo(*, merchant: Merchant, store: Store) -> list[str]:
    ada = customer_identify(
        merchant=merchant,
        identifiers=[PresentedIdentifier("email", "ada@example.com", verified=True)],
        channel=Channel.WEB,
    ).customer
    assert ada is not None
    customer_identify(
        merchant=merchant,
        identifiers=[
            PresentedIdentifier("loyalty_card", LINK_CARD, verified=True),
            PresentedIdentifier("email", LINK_EMAIL, verified=True),
        ],
        channel=Channel.POS,
        first_name="Ada",
    )
    lines = [
        "Customer portal: http://127.0.0.1:8000/portal/  sign in as ada@example.com "
        "(the code arrives in the mail folder printed above)",
        f"  loyalty card to link in the portal: {LINK_CARD} (code goes to {LINK_EMAIL})",
    ]
    if Payment.objects.filter(customer=ada, external_reference=DONE_REFERENCE).exists():
        return lines
    _purchases(merchant=merchant, store=store, ada=ada)
    return lines


def _purchases(*, merchant: Merchant, store: Store, ada: Customer) -> None:
    till = Terminal.objects.filter(store=store).order_by("pk").first()
    till_key, _ = api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, terminal=till, name="demo portal seed"
    )
    shop_key, _ = api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="demo portal seed"
    )
    store_card = gift_card_issue(
        merchant=merchant,
        initial_value=Money(Decimal("30.00"), "EUR"),
        pin="2468",
        reference="demo:portal:store-card",
        actor=DEMO_ACTOR,
    )
    assert store_card.code is not None
    gift_card_claim(gift_card=store_card.gift_card, customer=ada)
    sale = payment_create(
        api_key=till_key,
        idempotency_key="demo-portal-store-sale",
        client_ip=None,
        request=PaymentRequest(
            amount=Money(Decimal("42.50"), "EUR"),
            channel="pos",
            customer=ada,
            external_reference=DONE_REFERENCE,
            capture=True,
            basket=[
                _line("TEA-01", "Earl Grey tea, 250 g", 2, "8.75"),
                _line("MUG-07", "Stoneware mug", 1, "25.00"),
            ],
            tenders=[
                TenderRequest(method="gift_card", code=store_card.code, pin="2468"),
                TenderRequest(method="cash"),
            ],
        ),
    )
    refund_create(
        payment=sale,
        amount=Money(Decimal("25.00"), "EUR"),
        actor=DEMO_ACTOR,
        reason="mug returned",
    )
    account = LoyaltyAccount.objects.filter(customer=ada).first()
    own_card = GiftCard.objects.filter(customer=ada).exclude(pk=store_card.gift_card.pk).first()
    tenders = []
    if account is not None:
        tenders.append(TenderRequest(method="loyalty_points", points=300))
    if own_card is not None:
        tenders.append(TenderRequest(method="gift_card", gift_card=str(own_card.public_id)))
    payment_create(
        api_key=shop_key,
        idempotency_key="demo-portal-web-sale",
        client_ip=None,
        request=PaymentRequest(
            amount=Money(Decimal("19.90"), "EUR"),
            channel="web",
            customer=ada,
            external_reference="demo:portal:web-order-1042",
            capture=True,
            basket=[_line("BOOK-12", "Notes on the Analytical Engine", 1, "19.90")],
            tenders=tenders,
        ),
    )
    if own_card is not None:
        gift_card_reload(
            gift_card=own_card,
            amount=Money(Decimal("15.00"), "EUR"),
            reference="demo:portal:reload",
            actor=DEMO_ACTOR,
        )
        instrument_adjust(
            account=own_card.account,
            amount=Decimal("5.00"),
            reason="goodwill for a late delivery",
            actor=DEMO_ACTOR,
        )
    voucher_issue(
        merchant=merchant,
        currency="EUR",
        amount=Money(Decimal("5.00"), "EUR"),
        minimum_basket=Money(Decimal("25.00"), "EUR"),
        customer=ada,
    )
    for key in (till_key, shop_key):
        api_key_revoke(api_key=key)
