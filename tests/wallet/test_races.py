"""Real threads racing on PostgreSQL: balances never overdraw, limits never overrun."""

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from moneyed import Money

from config.errors import KassaError
from tests.wallet.factories import ACTOR, issue_card, issue_voucher
from wallet.ledger import ledger_verify
from wallet.models import Transfer, VoucherRedemption
from wallet.services import (
    gift_card_hold,
    gift_card_post,
    gift_card_void,
    voucher_redemption_consume,
    voucher_reserve,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
THREADS = 50


def _race(work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in THREADS threads released at the same instant; exceptions are results."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _codes(results: list[Any]) -> Counter[str]:
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, KassaError)]
    assert unexpected == []
    return Counter(r.code if isinstance(r, KassaError) else "ok" for r in results)


def test_fifty_threads_never_overdraw_a_gift_card(merchant) -> None:
    card = issue_card(merchant, "20.00").gift_card
    euro = Money(Decimal("1.00"), "EUR")

    def redeem(index: int) -> Transfer:
        hold = gift_card_hold(
            gift_card=card, amount=euro, reference=f"pay-{index}", expires_at=None, actor=ACTOR
        )
        return gift_card_post(transfer=hold, actor=ACTOR)

    outcome = _codes(_race(redeem))
    assert outcome == {"ok": 20, "insufficient_funds": 30}
    card.account.refresh_from_db()
    assert (card.account.balance, card.account.held) == (Decimal("0"), Decimal("0"))
    assert ledger_verify() == []


def test_fifty_threads_use_a_ten_use_voucher_exactly_ten_times(merchant) -> None:
    voucher = issue_voucher(merchant, max_uses_total=10).voucher
    five = Money(Decimal("5.00"), "EUR")

    def use(index: int) -> VoucherRedemption:
        redemption = voucher_reserve(
            voucher=voucher, customer=None, amount=five, reference=f"p{index}", actor=ACTOR
        )
        return voucher_redemption_consume(redemption=redemption, actor=ACTOR)

    outcome = _codes(_race(use))
    assert outcome == {"ok": 10, "usage_limit_reached": 40}
    assert voucher.redemptions.filter(status=VoucherRedemption.Status.CONSUMED).count() == 10
    assert ledger_verify() == []


def test_racing_posts_and_voids_resolve_each_hold_once(merchant) -> None:
    card = issue_card(merchant, "100.00").gift_card
    holds = [
        gift_card_hold(
            gift_card=card,
            amount=Money(Decimal("3.00"), "EUR"),
            reference=f"h{i}",
            expires_at=None,
            actor=ACTOR,
        )
        for i in range(10)
    ]

    def resolve(index: int) -> Transfer:
        hold = holds[index % len(holds)]
        if index % 2:
            return gift_card_void(transfer=hold, reason="race", actor=ACTOR)
        return gift_card_post(transfer=hold, actor=ACTOR)

    outcome = _codes(_race(resolve))
    assert outcome == {"ok": 10, "hold_not_pending": 40}
    assert all(Transfer.objects.filter(pending=hold).count() == 1 for hold in holds)
    assert ledger_verify() == []
