"""Pure money arithmetic of vouchers and loyalty points, each rounding rule stated.

- Percentage vouchers: basket x percent / 100, rounded DOWN to the currency's minor unit, so a
  voucher never takes off more than its stated percentage. Fixed vouchers take off their
  amount, at most the basket.
- Earning: spend x earn rate, rounded DOWN to whole points (no point for a partial unit).
- Burning: points are worth points x point value, rounded DOWN to the minor unit; the points
  needed to pay an amount are rounded UP, so burnt points always cover what they pay.
- Reversing an earn on refund: the points earned x (refunded so far / captured), rounded DOWN,
  computed on cumulative totals, so partial refunds add up exactly to a full reversal.
"""

from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from moneyed import Money

from config.money import round_money

HUNDRED = Decimal(100)


def voucher_discount(
    *, kind: str, amount: Decimal | None, percent: Decimal | None, basket_total: Money
) -> Money:
    currency = basket_total.currency.code
    if kind == "percent":
        assert percent is not None
        return round_money(basket_total.amount * percent / HUNDRED, currency, rounding=ROUND_DOWN)
    assert amount is not None
    return round_money(min(amount, basket_total.amount), currency, rounding=ROUND_DOWN)


def points_earned(*, spend: Money, earn_rate: Decimal) -> int:
    return int((spend.amount * earn_rate).to_integral_value(rounding=ROUND_DOWN))


def points_to_money(*, points: int, point_value: Decimal, currency: str) -> Money:
    return round_money(Decimal(points) * point_value, currency, rounding=ROUND_DOWN)


def money_to_points(*, value: Money, point_value: Decimal) -> int:
    return int((value.amount / point_value).to_integral_value(rounding=ROUND_CEILING))


def points_to_reverse(
    *, earned: int, captured: Money, refunded_total: Money, already_reversed: int
) -> int:
    """Points to take back now that `refunded_total` of `captured` has been refunded."""
    if captured.amount <= 0:
        return 0
    share = min(refunded_total.amount / captured.amount, Decimal(1))
    target = int((earned * share).to_integral_value(rounding=ROUND_DOWN))
    return max(target - already_reversed, 0)
