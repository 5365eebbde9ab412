"""Periodic clean-up: expired holds, gift cards and points lots; and one real Celery worker."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from moneyed import Money

from config.celery import app as celery_app
from tests.wallet.factories import ACTOR, LoyaltyProgrammeFactory, issue_card, issue_voucher
from wallet.ledger import ledger_verify
from wallet.models import GiftCard, Transfer, VoucherRedemption
from wallet.services import (
    gift_card_hold,
    gift_cards_expire_due,
    holds_void_expired,
    loyalty_account_open,
    loyalty_earn,
    loyalty_points_expire_due,
    voucher_reserve,
)

BASE_DIR = Path(__file__).resolve().parents[2]
PAST = timedelta(seconds=-1)


def _eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


@pytest.mark.django_db
def test_expired_holds_are_voided_and_voucher_uses_released(merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    now = timezone.now()
    stale = gift_card_hold(
        gift_card=card, amount=_eur("4"), reference="a", expires_at=now + PAST, actor=ACTOR
    )
    live = gift_card_hold(
        gift_card=card,
        amount=_eur("1"),
        reference="b",
        expires_at=now + timedelta(hours=1),
        actor=ACTOR,
    )
    voucher = issue_voucher(merchant, max_uses_total=1).voucher
    use = voucher_reserve(
        voucher=voucher,
        customer=None,
        amount=_eur("5"),
        reference="c",
        expires_at=now + PAST,
        actor=ACTOR,
    )
    assert holds_void_expired(actor=ACTOR) == 2
    assert holds_void_expired(actor=ACTOR) == 0  # idempotent
    stale.refresh_from_db()
    live.refresh_from_db()
    assert (stale.state, live.state) == ("voided", "pending")
    use.refresh_from_db()
    assert use.status == VoucherRedemption.Status.RELEASED
    voucher_reserve(
        voucher=voucher, customer=None, amount=_eur("5"), reference="d", actor=ACTOR
    )  # free again
    assert ledger_verify() == []


@pytest.mark.django_db
def test_due_gift_cards_expire_into_breakage(merchant) -> None:
    soon = timezone.now() + timedelta(minutes=5)
    due = issue_card(merchant, "12.00", expires_at=soon).gift_card
    kept = issue_card(merchant, "8.00").gift_card
    assert gift_cards_expire_due(at=soon + timedelta(seconds=1), actor=ACTOR) == 1
    assert gift_cards_expire_due(at=soon + timedelta(seconds=1), actor=ACTOR) == 0
    due.refresh_from_db()
    kept.refresh_from_db()
    assert (due.status, kept.status) == (GiftCard.Status.EXPIRED, GiftCard.Status.ACTIVE)
    breakage = Transfer.objects.get(code=Transfer.Code.BREAKAGE)
    assert (breakage.debit_account_id, breakage.amount) == (due.account_id, Decimal("12.00"))


@pytest.mark.django_db
def test_due_points_lots_expire(customer) -> None:
    programme = LoyaltyProgrammeFactory.create(merchant=customer.merchant, points_validity_days=10)
    account = loyalty_account_open(programme=programme, customer=customer)
    loyalty_earn(account=account, spend=_eur("25"), reference="e", actor=ACTOR)
    assert loyalty_points_expire_due(actor=ACTOR) == 0
    assert loyalty_points_expire_due(at=timezone.now() + timedelta(days=11), actor=ACTOR) == 1
    account.account.refresh_from_db()
    assert account.account.balance == 0


def test_beat_schedules_every_wallet_task() -> None:
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    wallet_tasks = {name for name in celery_app.tasks if name.startswith("wallet.")}
    assert wallet_tasks == {
        "wallet.holds_void_expired",
        "wallet.gift_cards_expire_due",
        "wallet.loyalty_points_expire_due",
        "wallet.liability_snapshots",
    }
    assert wallet_tasks <= scheduled


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_on_redis_voids_an_expired_hold(database_url, merchant) -> None:
    """A `celery worker` process, fed through Redis, voids the hold in the test database.

    Test settings run tasks eagerly, but only for `apply_async` in this process: `send_task`
    always goes to the broker, and the worker consumes whatever it is sent. A missing Redis
    fails this test (ensure_connection raises); it never skips.
    """
    broker = os.environ.get("KASSA_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
    card = issue_card(merchant, "10.00").gift_card
    hold = gift_card_hold(
        gift_card=card,
        amount=_eur("6"),
        reference="p",
        expires_at=timezone.now() + PAST,
        actor=ACTOR,
    )
    queue = f"kassa-test-{uuid.uuid4().hex}"  # other suites may share this Redis database
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with celery_app.connection_for_write(broker) as conn:
            conn.ensure_connection(max_retries=2)
            celery_app.send_task("wallet.holds_void_expired", connection=conn, queue=queue)
        deadline = time.monotonic() + 90
        while not Transfer.objects.filter(pending=hold).exists():
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker did not void the hold in time"
            time.sleep(0.5)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    hold.refresh_from_db()
    assert hold.state == "voided", output.decode(errors="replace")[-2000:]
    assert b"wallet.holds_void_expired" in output
    card.account.refresh_from_db()
    assert card.account.available == Decimal("10.00")
