"""What may change between resolving a tender and the sale's lock is checked again under it:
a gift card blocked meanwhile, a loyalty account closed meanwhile, a voucher's last use taken
meanwhile (its limits are counted only under the voucher's lock). The change is made right
after `resolve_tenders` read the instruments, which is where a concurrent block or sale can
land."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from payments import methods
from payments.models import Payment
from tests.payments.conftest import available, eur, money, till_sale
from tests.payments.test_flows import post
from tests.wallet.factories import issue_voucher
from wallet.models import Transfer, VoucherRedemption
from wallet.services import gift_card_block, loyalty_account_close, voucher_reserve

pytestmark = pytest.mark.django_db

ACTOR = "user:ops"


@pytest.fixture(autouse=True)
def _engine_only(settings) -> None:
    """These hook the general engine; the till's one-call sale re-checks in its database
    function (tests/payments/test_sale_fast.py)."""
    settings.KASSA_POS_SALE_FAST = False


@pytest.fixture
def after_resolve(monkeypatch) -> Callable[[Callable[[], object]], None]:
    """Run `change` once the instruments were resolved (read, checked usable), before the lock."""

    def install(change: Callable[[], object]) -> None:
        resolve = methods.resolve_tenders

        def resolve_then_change(**kwargs: Any) -> list[methods.ResolvedTender]:
            resolved = resolve(**kwargs)
            change()
            return resolved

        monkeypatch.setattr(methods, "resolve_tenders", resolve_then_change)

    return install


def _error(response: Any) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["code"], body["field"]


def test_a_till_sale_on_a_card_blocked_after_it_was_read_is_refused(
    shop, after_resolve, invariants
) -> None:
    after_resolve(lambda: gift_card_block(gift_card=shop.gift_card, reason="stolen", actor=ACTOR))
    response = post(shop.till_api, "/api/v1/payments", till_sale(shop))
    assert _error(response) == (422, "instrument_blocked", "tenders[0].gift_card")
    assert not Payment.objects.exists()
    assert available(shop.gift_card) == Decimal("50.00")
    assert available(shop.loyalty) == Decimal("2000")
    assert not Transfer.objects.filter(reference__startswith="tender:").exists()
    invariants()


def test_a_sale_burning_points_of_an_account_closed_after_it_was_read_is_refused(
    shop, after_resolve, invariants
) -> None:
    after_resolve(lambda: loyalty_account_close(account=shop.loyalty))
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("12.50"),
            "customer": str(shop.customer.public_id),
            "tenders": [{"method": "loyalty_points", "points": 200}, {"method": "cash"}],
            "capture": True,
        },
    )
    assert _error(response) == (422, "loyalty_account_closed", "tenders[0]")
    assert not Payment.objects.exists()
    assert available(shop.loyalty) == Decimal("2000")
    invariants()


def test_an_authorisation_on_a_card_blocked_after_it_was_read_is_refused_before_stripe(
    shop, after_resolve, invariants, stripe
) -> None:
    after_resolve(lambda: gift_card_block(gift_card=shop.gift_card, reason="stolen", actor=ACTOR))
    intents_before = len(stripe.v1.payment_intents.list().data)
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("80.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            ],
        },
    )
    assert _error(response) == (422, "instrument_blocked", "tenders[1].gift_card")
    assert not Payment.objects.exists()
    assert available(shop.gift_card) == Decimal("50.00")
    assert len(stripe.v1.payment_intents.list().data) == intents_before
    invariants()


def test_a_voucher_whose_last_use_went_after_it_was_read_is_refused(
    shop, after_resolve, invariants
) -> None:
    issued = issue_voucher(shop.merchant, max_uses_total=1)
    voucher = issued.voucher
    after_resolve(
        lambda: voucher_reserve(
            voucher=voucher, customer=None, amount=eur("5.00"), reference="elsewhere", actor=ACTOR
        )
    )
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("20.00"),
            "tenders": [{"method": "voucher", "code": issued.code}, {"method": "cash"}],
            "capture": True,
        },
    )
    assert _error(response) == (422, "usage_limit_reached", "tenders[0].voucher")
    assert not Payment.objects.exists()
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 1  # the other use
    invariants()
