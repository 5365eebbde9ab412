"""Writes that give a customer an instrument land on the merge survivor, never on a tombstone.

A request reads its customer, then writes; a merge may commit in between. The sequential tests
hold the customer read before a merge (as such a request does) and write after it; the
real-thread test forces the interleaving in PostgreSQL itself: the claim waits on the card's
row lock while the merge runs, then goes on.
"""

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from moneyed import Money

from config.actors import system_actor
from customers.models import Customer
from customers.services import customer_merge
from merchants.models import Merchant
from tests.factories import CustomerFactory
from tests.wallet.factories import ACTOR, LoyaltyProgrammeFactory, issue_card, issue_voucher
from wallet.models import BankCard, GiftCard, LedgerAccount, StripeCustomer
from wallet.services import (
    bank_card_attach,
    gift_card_claim,
    gift_card_issue,
    loyalty_account_open,
)

MERGER = system_actor("test_merge")


def _merge(survivor: Customer, absorbed: Customer) -> None:
    customer_merge(
        survivor=survivor, absorbed=absorbed, reason="same person", source="staff_api", actor=MERGER
    )


@pytest.fixture
def read_then_merged(merchant: Merchant) -> tuple[Customer, Customer]:
    """(A as a request read it, B): A has been merged into B since."""
    absorbed = CustomerFactory.create(merchant=merchant)
    survivor = CustomerFactory.create(merchant=merchant)
    stale = Customer.objects.get(pk=absorbed.pk)
    _merge(survivor, absorbed)
    return stale, survivor


@pytest.mark.django_db
def test_issue_for_a_customer_merged_meanwhile_goes_to_the_survivor(
    merchant, read_then_merged
) -> None:
    stale, survivor = read_then_merged
    issued = gift_card_issue(
        merchant=merchant, initial_value=Money(Decimal("5"), "EUR"), customer=stale, actor=ACTOR
    )
    assert GiftCard.objects.get(pk=issued.gift_card.pk).customer_id == survivor.pk


@pytest.mark.django_db
def test_claim_for_a_customer_merged_meanwhile_goes_to_the_survivor(
    merchant, read_then_merged
) -> None:
    stale, survivor = read_then_merged
    card = issue_card(merchant).gift_card
    gift_card_claim(gift_card=card, customer=stale)
    assert GiftCard.objects.get(pk=card.pk).customer_id == survivor.pk
    gift_card_claim(gift_card=card, customer=stale)  # claiming again stays a no-op


@pytest.mark.django_db
def test_voucher_for_a_customer_merged_meanwhile_goes_to_the_survivor(
    merchant, read_then_merged
) -> None:
    stale, survivor = read_then_merged
    voucher = issue_voucher(merchant, customer=stale).voucher
    voucher.refresh_from_db()
    assert voucher.customer_id == survivor.pk


@pytest.mark.django_db
def test_loyalty_account_for_a_customer_merged_meanwhile_goes_to_the_survivor(
    merchant, read_then_merged
) -> None:
    stale, survivor = read_then_merged
    programme = LoyaltyProgrammeFactory.create(merchant=merchant)
    account = loyalty_account_open(programme=programme, customer=stale)
    account.refresh_from_db()
    assert account.customer_id == survivor.pk


@pytest.mark.django_db
def test_bank_card_for_a_customer_merged_meanwhile_goes_to_the_survivor(
    stripe, merchant, read_then_merged
) -> None:
    stale, survivor = read_then_merged
    method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    card = bank_card_attach(customer=stale, payment_method_id=method.id)
    assert BankCard.objects.get(pk=card.pk).customer_id == survivor.pk
    assert StripeCustomer.objects.get().customer_id == survivor.pk


# --- real threads ------------------------------------------------------------------------------


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


def _waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class _Worker(threading.Thread):
    """Runs `job` on its own PostgreSQL connection; `pid` is that connection's backend."""

    def __init__(self, job: Callable[[], Any]) -> None:
        super().__init__()
        self.job = job
        self.pid: int | None = None
        self.result: Any = None
        self.started_job = threading.Event()

    def run(self) -> None:
        try:
            self.pid = _backend_pid()
            self.started_job.set()
            self.result = self.job()
        except Exception as error:
            self.result = error
        finally:
            connection.close()

    def start_job(self) -> int:
        self.start()
        self.started_job.wait(10)
        assert self.pid is not None
        return self.pid


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_claim_racing_a_merge_leaves_the_card_on_the_survivor(merchant, merchant_api) -> None:
    absorbed = CustomerFactory.create(merchant=merchant)
    survivor = CustomerFactory.create(merchant=merchant)
    issued = issue_card(merchant)
    locked, release = threading.Event(), threading.Event()

    def hold_the_card() -> None:
        with transaction.atomic():
            LedgerAccount.objects.select_for_update().get(pk=issued.gift_card.account_id)
            locked.set()
            release.wait(20)

    holder = _Worker(hold_the_card)
    holder.start_job()
    assert locked.wait(10)
    # The claim reads customer A and then waits for the card's row lock...
    claim = _Worker(
        lambda: merchant_api.post(
            "/api/v1/gift-cards/claim",
            {"code": issued.code, "customer": str(absorbed.public_id)},
            format="json",
        )
    )
    claim_pid = claim.start_job()
    _until(lambda: not claim.is_alive() or _waits_on_a_lock(claim_pid))
    # ...while A is merged into B: the merge either commits now or waits for the claim.
    merge = _Worker(lambda: _merge(survivor, absorbed))
    merge_pid = merge.start_job()
    _until(lambda: not merge.is_alive() or _waits_on_a_lock(merge_pid))
    release.set()
    for worker in (holder, claim, merge):
        worker.join(20)

    assert merge.result is None, merge.result
    assert claim.result.status_code == 200, claim.result.content
    absorbed.refresh_from_db()
    assert absorbed.merged_into_id == survivor.pk
    assert GiftCard.objects.get(pk=issued.gift_card.pk).customer_id == survivor.pk
