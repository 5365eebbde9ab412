"""Demo customers for `make run`: people a till or the web shop can identify right away."""

from customers.models import Channel
from customers.normalisation import loyalty_card_number
from customers.policy import PresentedIdentifier
from customers.services import Outcome, consent_record, customer_identify
from merchants.models import Merchant, Store

ADA_CARD = loyalty_card_number("601000000001")
BOB_CARD = loyalty_card_number("601000000002")


def seed_demo(*, merchant: Merchant, store: Store) -> list[str]:
    """Create (once) two customers with identifiers and consent; identification is idempotent.

    Bob's card and Ada's phone are verified, so presenting both together (verified) shows an
    automatic merge; presenting them unverified shows a conflict for the back office.
    """
    ada = customer_identify(
        merchant=merchant,
        identifiers=[
            PresentedIdentifier("email", "ada@example.com", verified=True),
            PresentedIdentifier("phone", "+31 6 12345678", verified=True),
            PresentedIdentifier("loyalty_card", ADA_CARD, verified=True),
        ],
        channel=Channel.WEB,
        first_name="Ada",
        last_name="Lovelace",
    )
    bob = customer_identify(
        merchant=merchant,
        identifiers=[
            PresentedIdentifier("loyalty_card", BOB_CARD, verified=True),
            PresentedIdentifier("pos_customer", f"{store.code}-1002"),
        ],
        channel=Channel.POS,
        first_name="Bob",
        last_name="Baker",
    )
    if ada.outcome == Outcome.CREATED and ada.customer is not None:
        consent_record(
            customer=ada.customer,
            purpose="marketing_email",
            granted=True,
            channel=Channel.WEB,
            evidence="demo data: newsletter box ticked at sign-up",
        )
    lines = ["Demo customers (POST /api/v1/customers/identify):"]
    for identification, card in ((ada, ADA_CARD), (bob, BOB_CARD)):
        customer = identification.customer
        assert customer is not None
        lines.append(f"  {customer}: {customer.public_id}  loyalty card {card}")
    lines.append("  Ada also answers to ada@example.com and 06 12345678.")
    return lines
