"""Vouchers: the rules of a use, explicit rounding, and reserve/consume/release/reinstate."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError
from customers.models import Customer
from tests.factories import CustomerFactory
from tests.wallet.factories import ACTOR, issue_voucher
from wallet.ledger import ledger_verify
from wallet.models import LedgerAccount, Voucher, VoucherRedemption
from wallet.selectors import account_balance, voucher_evaluate, voucher_uses
from wallet.services import (
    voucher_disable,
    voucher_redemption_consume,
    voucher_redemption_reinstate,
    voucher_redemption_release,
    voucher_reserve,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _eur(amount: str) -> Money:
    return Money(D(amount), "EUR")


def _code(callable_) -> str:
    with pytest.raises(KassaError) as refused:
        callable_()
    return refused.value.code


def test_percentage_rounds_down_to_the_cent(merchant) -> None:
    voucher = issue_voucher(merchant, amount=None, percent=D("15")).voucher
    off = voucher_evaluate(
        voucher=voucher, basket_total=_eur("33.33"), channel="web", customer=None
    )
    assert off == _eur("4.99")  # 4.9995 -> 4.99, never more than 15 %


def test_fixed_amount_is_capped_by_the_basket(merchant) -> None:
    voucher = issue_voucher(merchant, amount=_eur("10.00")).voucher
    assert voucher_evaluate(
        voucher=voucher, basket_total=_eur("7.50"), channel="pos", customer=None
    ) == _eur("7.50")


def test_each_rule_has_its_code(merchant, customer) -> None:
    now = timezone.now()
    other = CustomerFactory.create(merchant=merchant)
    cases = {
        "expired": issue_voucher(
            merchant, valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1)
        ),
        "not_yet_valid": issue_voucher(merchant, valid_from=now + timedelta(days=1)),
        "minimum_basket_not_met": issue_voucher(merchant, minimum_basket=_eur("50.00")),
        "channel_not_allowed": issue_voucher(merchant, channels=["pos"]),
        "voucher_not_for_customer": issue_voucher(merchant, customer=other),
        "currency_mismatch": issue_voucher(merchant, currency="USD", amount=Money(D("5"), "USD")),
    }
    for expected, issued in cases.items():
        code = _code(
            lambda v=issued.voucher: voucher_evaluate(
                voucher=v, basket_total=_eur("20.00"), channel="web", customer=customer
            )
        )
        assert code == expected
    used_up = issue_voucher(merchant, max_uses_total=1).voucher
    voucher_reserve(
        voucher=used_up, customer=None, amount=_eur("5.00"), reference="p1", actor=ACTOR
    )
    assert (
        _code(
            lambda: voucher_evaluate(
                voucher=used_up, basket_total=_eur("20"), channel="web", customer=None
            )
        )
        == "usage_limit_reached"
    )
    disabled = voucher_disable(voucher=issue_voucher(merchant).voucher)
    assert (
        _code(
            lambda: voucher_evaluate(
                voucher=disabled, basket_total=_eur("20"), channel="web", customer=None
            )
        )
        == "voucher_disabled"
    )


def test_per_customer_limit(merchant, customer) -> None:
    voucher = issue_voucher(merchant, max_uses_total=None, max_uses_per_customer=2).voucher
    for n in range(2):
        voucher_reserve(
            voucher=voucher, customer=customer, amount=_eur("5"), reference=f"p{n}", actor=ACTOR
        )
    assert (
        _code(
            lambda: voucher_reserve(
                voucher=voucher, customer=customer, amount=_eur("5"), reference="p3", actor=ACTOR
            )
        )
        == "usage_limit_reached"
    )
    other = CustomerFactory.create(merchant=merchant)
    voucher_reserve(voucher=voucher, customer=other, amount=_eur("5"), reference="p4", actor=ACTOR)
    assert (
        _code(
            lambda: voucher_reserve(
                voucher=voucher, customer=None, amount=_eur("5"), reference="x", actor=ACTOR
            )
        )
        == "voucher_not_for_customer"
    )


def test_reserve_consume_release_reinstate(merchant) -> None:
    voucher = issue_voucher(merchant, max_uses_total=2).voucher
    first = voucher_reserve(
        voucher=voucher, customer=None, amount=_eur("5.00"), reference="a", actor=ACTOR
    )
    second = voucher_reserve(
        voucher=voucher, customer=None, amount=_eur("5.00"), reference="b", actor=ACTOR
    )
    assert voucher_uses(voucher=voucher) == 2
    voucher_redemption_release(redemption=second, reason="payment failed", actor=ACTOR)
    assert voucher_uses(voucher=voucher) == 1
    voucher_redemption_consume(redemption=first, amount=_eur("4.00"), actor=ACTOR)
    assert (
        _code(lambda: voucher_redemption_consume(redemption=first, actor=ACTOR))
        == "redemption_not_reserved"
    )
    clearing = LedgerAccount.objects.get(kind="redemption_clearing", unit="EUR")
    funding = LedgerAccount.objects.get(kind="voucher_funding", unit="EUR")
    assert account_balance(account=clearing) == D("4.00")
    voucher_redemption_reinstate(
        redemption=first, reference="refund-1", reason="returned", actor=ACTOR
    )
    first.refresh_from_db()
    assert first.status == VoucherRedemption.Status.REINSTATED
    assert voucher_uses(voucher=voucher) == 0
    assert account_balance(account=clearing) == account_balance(account=funding) == D("0")
    assert ledger_verify() == []


def test_reserve_refuses_more_than_a_fixed_voucher_is_worth(merchant) -> None:
    voucher = issue_voucher(merchant, amount=_eur("5.00")).voucher
    assert (
        _code(
            lambda: voucher_reserve(
                voucher=voucher, customer=None, amount=_eur("5.01"), reference="x", actor=ACTOR
            )
        )
        == "amount_exceeds_voucher"
    )
    assert not VoucherRedemption.objects.exists()


def test_issue_validates(merchant) -> None:
    bad = [
        ({"amount": None}, "voucher_value"),
        ({"amount": None, "percent": D("100.5")}, "invalid_percent"),
        ({"channels": ["fax"]}, "invalid_channel"),
        ({"max_uses_total": 0}, "invalid_limit"),
        ({"amount": _eur("5.001")}, "amount_too_precise"),
    ]
    for overrides, expected in bad:
        assert _code(lambda o=overrides: issue_voucher(merchant, **o)) == expected
    assert not Voucher.objects.exists()


def test_per_customer_limit_survives_a_generic_merge(merchant) -> None:
    """Merges repoint every relation Customer lists; voucher uses must be among them."""
    survivor = CustomerFactory.create(merchant=merchant)
    absorbed = CustomerFactory.create(merchant=merchant)
    voucher = issue_voucher(merchant, max_uses_total=None, max_uses_per_customer=1).voucher
    voucher_reserve(
        voucher=voucher, customer=absorbed, amount=_eur("5"), reference="before", actor=ACTOR
    )
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        if relation.one_to_many and isinstance(model, type) and model is not Customer:
            name = relation.field.name
            model._default_manager.filter(**{name: absorbed}).update(**{name: survivor})
    assert (
        _code(
            lambda: voucher_reserve(
                voucher=voucher, customer=survivor, amount=_eur("5"), reference="after", actor=ACTOR
            )
        )
        == "usage_limit_reached"
    )
