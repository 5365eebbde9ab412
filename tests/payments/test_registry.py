"""The tender-method registry: a new method is one class, registered, and the engine, the
planner and the ledger take it without another change."""

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from payments import methods
from payments.methods.base import ChargeContext, ResolveContext, ResolvedTender, TenderMethod
from payments.models import Payment, Tender
from payments.services import common, create
from tests.payments.conftest import eur
from wallet.ledger import Move, ledger_verify
from wallet.models import LedgerAccount, Transfer

pytestmark = pytest.mark.django_db


class StoreCredit(TenderMethod):
    """Credit kept on a merchant-wide ledger account (here: the test's gift card account)."""

    name = "store_credit"
    rank = 1
    stored_value = True
    earns_points = False
    account: LedgerAccount

    def resolve(self, ctx: ResolveContext, index: int, tender: Any) -> ResolvedTender:
        cap = Money(self.account.available, self.account.unit)
        return ResolvedTender(self.source(ctx, index, tender, cap=cap), tender)

    def charge(self, tender: Tender, ctx: ChargeContext) -> list[Move]:
        clearing = ctx.system(LedgerAccount.Kind.REDEMPTION_CLEARING, self.account.unit)
        return [
            Move(
                kind=Transfer.Kind.POSTED,
                debit=self.account,
                credit=clearing,
                amount=tender.amount.amount,
                code=Transfer.Code.REDEMPTION,
                reference=f"tender:{tender.public_id}",
                actor=ctx.actor,
            )
        ]


@pytest.fixture
def store_credit(shop) -> Iterator[StoreCredit]:
    methods.register(StoreCredit)
    method = methods.method_for("store_credit")
    assert isinstance(method, StoreCredit)
    method.account = shop.gift_card.account
    yield method
    methods.unregister("store_credit")


def test_a_method_registered_in_a_test_pays_a_split_sale(shop, store_credit) -> None:
    payment = create.payment_create(
        api_key=shop.till_key,
        idempotency_key=str(uuid.uuid4()),
        client_ip=None,
        request=common.PaymentRequest(
            amount=eur("12.00"),
            channel=Payment.Channel.POS,
            customer=shop.customer,
            capture=True,
            tenders=[
                common.TenderRequest(method="cash"),
                common.TenderRequest(method="store_credit", amount=eur("7.00")),
            ],
        ),
    )
    assert payment.status == Payment.Status.CAPTURED
    tenders = list(payment.tenders.order_by("sequence"))
    # Planned by the class's rank: stored value before cash.
    assert [t.method for t in tenders] == ["store_credit", "cash"]
    assert tenders[1].amount == eur("5.00")
    shop.gift_card.account.refresh_from_db()
    assert shop.gift_card.account.available == Decimal("43.00")
    assert ledger_verify() == []


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(Exception, match="registered"):
        methods.method_for("barter")
