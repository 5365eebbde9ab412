"""Erasing a customer who had everything: nothing personal is left anywhere in the database,
the ledger still verifies with value only moved to breakage, the payment still reads and
refunds to its original tenders, and Stripe no longer has the saved card or the customer."""

import pytest
import stripe as stripe_sdk

from customers.models import ConsentEvent, Customer, CustomerErasure, Identifier
from customers.normalisation import loyalty_card_number
from customers.services import consent_record
from payments.models import Payment
from tests.payments.conftest import available, money
from tests.privacy.conftest import post, scan_database, trial_balance, value_per_unit
from wallet.ledger import ledger_verify
from wallet.models import BankCard, StripeCustomer

pytestmark = pytest.mark.django_db

FIRST, LAST = "Adelheid", "Lovelace-Byron"
EMAIL, PHONE = "adelheid.lovelace@example.com", "+31612345678"
CARD = loyalty_card_number("6012345678901")


def _customer_with_everything(shop) -> Payment:
    customer = shop.customer
    Customer.objects.filter(pk=customer.pk).update(first_name=FIRST, last_name=LAST)
    for kind, value in (("email", EMAIL), ("phone", PHONE), ("loyalty_card", CARD)):
        Identifier.objects.create(
            merchant=shop.merchant, customer=customer, kind=kind, value=value, source_channel="web"
        )
    consent_record(
        customer=customer,
        purpose="marketing_email",
        granted=True,
        channel="web",
        evidence=f"{FIRST} {LAST} ticked the newsletter box with {EMAIL}",
    )
    created = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("30.00"),
            "customer": str(customer.public_id),
            "external_reference": f"order 42 for {FIRST} {LAST}",
            "tenders": [
                {
                    "method": "gift_card",
                    "gift_card": str(shop.gift_card.public_id),
                    "amount": money("10.00"),
                },
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
            ],
            "capture": True,
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "captured"
    payment_id = created.json()["id"]
    refund = post(shop.web, f"/api/v1/payments/{payment_id}/refunds", {"amount": money("5.00")})
    assert refund.status_code in (200, 201), refund.json()
    return Payment.objects.get(public_id=payment_id)


def test_erasure_leaves_nothing_personal_and_keeps_the_money_straight(
    shop, staff, stripe, invariants
) -> None:
    payment = _customer_with_everything(shop)
    needles = [FIRST, LAST, EMAIL, PHONE, PHONE.lstrip("+"), CARD]
    before_hits, _, _ = scan_database(needles)
    assert before_hits  # the scan does find them while they are there
    balance_before = trial_balance()
    customer = shop.customer
    url = f"/api/v1/customers/{customer.public_id}/erasure"

    refused = post(staff, url, {"reason": "ticket 1234"})
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "wallet_has_value"
    held = refused.json()["meta"]["stored_value"]
    assert {(item["instrument"], item.get("amount") or item["points"]) for item in held} == {
        ("gift_card", "40.00"),
        ("loyalty_points", str(int(available(shop.loyalty)))),
    }

    erased = post(staff, url, {"reason": "ticket 1234", "stored_value": "forfeit"})
    assert erased.status_code == 200, erased.json()
    assert erased.json()["status"] == "completed"

    hits, tables, columns = scan_database(needles)
    assert hits == {}, hits
    print(f"DB scan: 0 occurrences of {len(needles)} values in {tables} tables / {columns} columns")

    # The ledger: every check passes; value only moved from the instruments to breakage.
    assert ledger_verify() == []
    balance_after = trial_balance()
    assert value_per_unit(balance_after) == value_per_unit(balance_before)
    assert sum(balance_after.values()) == sum(balance_before.values()) == 0
    shop.gift_card.account.refresh_from_db()
    shop.loyalty.account.refresh_from_db()
    assert shop.gift_card.account.available == 0
    assert shop.loyalty.account.available == 0

    # Proof of consent stays, without the identifying evidence.
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.purpose, event.granted, event.channel) == ("marketing_email", True, "web")
    assert event.evidence == "[erased]"

    # The payment still reads, under the pseudonymous customer, and refunds further.
    detail = shop.web.get(f"/api/v1/payments/{payment.public_id}")
    assert detail.status_code == 200, detail.json()
    more = post(
        shop.web, f"/api/v1/payments/{payment.public_id}/refunds", {"amount": money("5.00")}
    )
    assert more.status_code in (200, 201), more.json()
    payment.refresh_from_db()
    assert payment.refunded_amount.amount == 10
    assert payment.customer_id == customer.pk
    invariants()

    # Stripe: the saved card is detached and the Stripe Customer deleted.
    card = BankCard.objects.get(pk=shop.bank_card.pk)
    assert card.removed_at is not None
    assert stripe.v1.payment_methods.retrieve(card.payment_method_id).customer is None
    assert not StripeCustomer.objects.filter(customer=customer).exists()
    try:
        gone = stripe.v1.customers.retrieve(card.stripe_customer_id)
        assert getattr(gone, "deleted", False)
    except stripe_sdk.InvalidRequestError:
        pass

    # Afterwards: 410, and the old identifiers find nobody.
    assert shop.web.get(f"/api/v1/customers/{customer.public_id}").status_code == 410
    assert shop.web.get(f"/api/v1/customers/{customer.public_id}/export").json()["code"] == (
        "customer_erased"
    )
    lookup = shop.web.post(
        "/api/v1/customers/identify",
        {"identifiers": [{"kind": "email", "value": EMAIL}], "create": False},
        format="json",
    )
    assert lookup.json()["outcome"] == "unknown"
    erasure = CustomerErasure.objects.get(customer=customer)
    assert erasure.actor.startswith("api_key:")
    assert erasure.summary["database"]["wallet"]["forfeited"]
