"""Loyalty points through the ledger: earn, burn, reverse, expire in lots (oldest first)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from tests.factories import CustomerFactory
from tests.wallet.factories import ACTOR, LoyaltyProgrammeFactory, open_loyalty
from wallet.errors import AmountExceedsReversible, CurrencyMismatch, InsufficientFunds
from wallet.ledger import ledger_verify
from wallet.pricing import money_to_points, points_to_money, points_to_reverse
from wallet.selectors import loyalty_account_primary, loyalty_history, loyalty_points_value
from wallet.services import (
    loyalty_account_close,
    loyalty_account_open,
    loyalty_earn,
    loyalty_earn_reverse,
    loyalty_points_expire,
    loyalty_points_hold,
    loyalty_points_post,
    loyalty_points_refund,
    loyalty_points_void,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _eur(amount: str) -> Money:
    return Money(D(amount), "EUR")


def _points(account) -> tuple[int, int]:
    account.account.refresh_from_db()
    return int(account.account.balance), int(account.account.available)


def test_conversions_round_in_the_stated_direction() -> None:
    assert points_to_money(points=199, point_value=D("0.01"), currency="EUR") == _eur("1.99")
    assert points_to_money(points=3, point_value=D("0.333"), currency="EUR") == _eur("0.99")
    assert money_to_points(value=_eur("1.00"), point_value=D("0.03")) == 34  # 33.3 -> 34
    assert (
        points_to_reverse(
            earned=10, captured=_eur("30"), refunded_total=_eur("10"), already_reversed=0
        )
        == 3
    )
    assert (
        points_to_reverse(
            earned=10, captured=_eur("30"), refunded_total=_eur("30"), already_reversed=3
        )
        == 7
    )


def test_earn_burn_and_history(customer) -> None:
    account = open_loyalty(customer)
    earn = loyalty_earn(account=account, spend=_eur("42.90"), reference="pay-1", actor=ACTOR)
    assert earn is not None
    assert earn.amount == D("42")
    assert loyalty_earn(account=account, spend=_eur("0.99"), reference="pay-2", actor=ACTOR) is None
    with pytest.raises(CurrencyMismatch):
        loyalty_earn(account=account, spend=Money(D("10"), "USD"), reference="x", actor=ACTOR)
    hold = loyalty_points_hold(
        account=account, points=30, reference="pay-3", expires_at=None, actor=ACTOR
    )
    assert _points(account) == (42, 12)
    assert loyalty_points_value(account=account) == _eur("0.12")
    with pytest.raises(InsufficientFunds) as refused:
        loyalty_points_hold(
            account=account, points=13, reference="pay-4", expires_at=None, actor=ACTOR
        )
    assert refused.value.meta["available"] == {"points": "12", "unit": "PTS_EUR"}
    post = loyalty_points_post(transfer=hold, points=20, actor=ACTOR)
    assert _points(account) == (22, 22)
    loyalty_points_refund(
        transfer=post, points=5, reference="refund-1", reason="return", actor=ACTOR
    )
    assert _points(account) == (27, 27)
    void = loyalty_points_hold(
        account=account, points=1, reference="pay-5", expires_at=None, actor=ACTOR
    )
    loyalty_points_void(transfer=void, reason="cancelled", actor=ACTOR)
    codes = [t.code for t in loyalty_history(account=account)]
    assert codes[-1] == "earn"
    assert "burn" in codes
    assert "refund" in codes
    assert ledger_verify() == []


def test_earn_reversal_never_goes_below_zero(customer) -> None:
    account = open_loyalty(customer)
    earn = loyalty_earn(account=account, spend=_eur("100"), reference="pay-1", actor=ACTOR)
    assert earn is not None
    post = loyalty_points_post(
        transfer=loyalty_points_hold(
            account=account, points=80, reference="p2", expires_at=None, actor=ACTOR
        ),
        actor=ACTOR,
    )
    assert post.amount == 80
    reversal = loyalty_earn_reverse(earn=earn, points=50, reference="refund-1", actor=ACTOR)
    assert (reversal.points_reversed, reversal.points_unrecovered) == (20, 30)
    assert _points(account) == (0, 0)
    with pytest.raises(AmountExceedsReversible):
        loyalty_earn_reverse(earn=earn, points=81, reference="refund-2", actor=ACTOR)
    nothing = loyalty_earn_reverse(earn=earn, points=10, reference="refund-3", actor=ACTOR)
    assert (nothing.transfer, nothing.points_unrecovered) == (None, 10)
    assert ledger_verify() == []


def test_lots_expire_oldest_first(customer) -> None:
    programme = LoyaltyProgrammeFactory.create(merchant=customer.merchant, points_validity_days=30)
    account = loyalty_account_open(programme=programme, customer=customer)
    now = timezone.now()
    loyalty_earn(
        account=account, spend=_eur("100"), reference="a", actor=ACTOR
    )  # lot A: 100, expires day 30
    programme.points_validity_days = 50
    programme.save()
    loyalty_earn(
        account=account, spend=_eur("50"), reference="b", actor=ACTOR
    )  # lot B: 50, expires day 50
    # Spending 30 consumes the soonest-expiring lot, A.
    loyalty_points_post(
        transfer=loyalty_points_hold(
            account=account, points=30, reference="c", expires_at=None, actor=ACTOR
        ),
        actor=ACTOR,
    )
    assert loyalty_points_expire(account=account, at=now + timedelta(days=29), actor=ACTOR) is None
    # Day 31: lot A is due, 30 of it was spent -> 70 expire; lot B is untouched.
    expired = loyalty_points_expire(account=account, at=now + timedelta(days=31), actor=ACTOR)
    assert expired is not None
    assert expired.amount == D("70")
    assert _points(account) == (50, 50)
    assert loyalty_points_expire(account=account, at=now + timedelta(days=31), actor=ACTOR) is None
    # Day 51: lot B is due as well.
    final = loyalty_points_expire(account=account, at=now + timedelta(days=51), actor=ACTOR)
    assert final is not None
    assert final.amount == D("50")
    assert _points(account) == (0, 0)
    assert ledger_verify() == []


def test_a_reversed_earn_leaves_its_own_lot(customer) -> None:
    programme = LoyaltyProgrammeFactory.create(merchant=customer.merchant, points_validity_days=30)
    account = loyalty_account_open(programme=programme, customer=customer)
    now = timezone.now()
    loyalty_earn(account=account, spend=_eur("100"), reference="a", actor=ACTOR)  # lot A, day 30
    programme.points_validity_days = 50
    programme.save()
    earn_b = loyalty_earn(
        account=account, spend=_eur("50"), reference="b", actor=ACTOR
    )  # lot B, day 50
    assert earn_b is not None
    loyalty_earn_reverse(earn=earn_b, points=20, reference="refund", actor=ACTOR)  # B keeps 30
    first = loyalty_points_expire(account=account, at=now + timedelta(days=31), actor=ACTOR)
    second = loyalty_points_expire(account=account, at=now + timedelta(days=51), actor=ACTOR)
    assert (first and first.amount, second and second.amount) == (100, 30)
    assert _points(account) == (0, 0)


def test_held_points_do_not_expire_until_released(customer) -> None:
    programme = LoyaltyProgrammeFactory.create(merchant=customer.merchant, points_validity_days=1)
    account = loyalty_account_open(programme=programme, customer=customer)
    loyalty_earn(account=account, spend=_eur("10"), reference="e", actor=ACTOR)
    hold = loyalty_points_hold(
        account=account, points=4, reference="h", expires_at=None, actor=ACTOR
    )
    later = timezone.now() + timedelta(days=2)
    assert loyalty_points_expire(account=account, at=later, actor=ACTOR).amount == D("6")  # type: ignore[union-attr]
    loyalty_points_void(transfer=hold, reason="abandoned", actor=ACTOR)
    assert loyalty_points_expire(account=account, at=later, actor=ACTOR).amount == D("4")  # type: ignore[union-attr]
    assert ledger_verify() == []


def test_the_oldest_open_account_is_primary_after_a_merge(merchant) -> None:
    survivor = CustomerFactory.create(merchant=merchant)
    absorbed = CustomerFactory.create(merchant=merchant)
    programme = LoyaltyProgrammeFactory.create(merchant=merchant)
    older = loyalty_account_open(programme=programme, customer=absorbed)
    newer = loyalty_account_open(programme=programme, customer=survivor)
    type(older).objects.filter(pk=older.pk).update(customer=survivor)  # what a merge does
    assert loyalty_account_primary(customer=survivor, programme=programme) == older
    loyalty_account_close(account=older)
    assert loyalty_account_primary(customer=survivor, programme=programme) == newer
