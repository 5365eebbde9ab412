"""Every transfer names who acted in config.actors' format; wallet inputs have limits."""

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from moneyed import Money

from config.actors import api_key_actor
from config.limits import MAX_POINTS
from merchants.models import ApiKey
from tests.factories import CustomerFactory
from tests.wallet.factories import ACTOR, issue_card, open_loyalty
from wallet import tasks
from wallet.errors import PointsTooLarge
from wallet.models import GiftCard, LedgerAccount, Transfer
from wallet.services import gift_card_hold, loyalty_points_adjust
from wallet.system_accounts import system_account
from wallet.transfers import transfer_create

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_transfer_without_a_valid_actor(merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    issue = Transfer.objects.get()
    for actor in ("", "expiry", "admin:bob", "system: x"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Transfer.objects.create(
                merchant=merchant,
                kind=Transfer.Kind.POSTED,
                code=Transfer.Code.RELOAD,
                debit_account=issue.debit_account,
                credit_account=card.account,
                amount=Decimal("1"),
                unit="EUR",
                actor=actor,
            )


def test_the_ledger_refuses_an_actor_out_of_format_with_a_code(merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    issuance = system_account(merchant_id=merchant.pk, kind=LedgerAccount.Kind.ISSUANCE, unit="EUR")
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the code is what is asserted
        transfer_create(
            debit=issuance,
            credit=card.account,
            amount=Decimal("1"),
            unit="EUR",
            code=Transfer.Code.RELOAD,
            actor="expiry",
        )
    assert getattr(refused.value, "code", None) == "invalid_actor"


def test_api_writes_name_the_key(merchant_api) -> None:
    response = merchant_api.post(
        "/api/v1/gift-cards",
        {"initial_value": {"amount": "5.00", "currency": "EUR"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="actor",
    )
    assert response.status_code == 201
    assert Transfer.objects.get().actor == api_key_actor(ApiKey.objects.get())


def test_the_expiry_tasks_name_themselves(merchant) -> None:
    past = timezone.now() - timedelta(minutes=1)
    card = issue_card(merchant, "10.00", expires_at=timezone.now() + timedelta(days=1)).gift_card
    hold = gift_card_hold(
        gift_card=card,
        amount=Money(Decimal("4"), "EUR"),
        reference="p",
        expires_at=past,
        actor=ACTOR,
    )
    assert tasks.wallet_holds_void_expired() == 1
    assert Transfer.objects.get(pending=hold).actor == "system:hold_expiry"
    GiftCard.objects.filter(pk=card.pk).update(expires_at=past)
    assert tasks.wallet_gift_cards_expire_due() == 1
    assert Transfer.objects.get(code=Transfer.Code.BREAKAGE).actor == "system:expiry"


def test_points_are_bounded(merchant) -> None:
    account = open_loyalty(CustomerFactory.create(merchant=merchant))
    for points in (MAX_POINTS + 1, -(MAX_POINTS + 1)):
        with pytest.raises(PointsTooLarge):
            loyalty_points_adjust(account=account, points=points, reason="typo", actor=ACTOR)
    assert not Transfer.objects.filter(code=Transfer.Code.ADJUSTMENT).exists()


def test_voucher_use_limits_are_bounded(merchant_api) -> None:
    response = merchant_api.post(
        "/api/v1/vouchers",
        {"currency": "EUR", "percent": "10", "max_uses_total": 2**31},
        format="json",
        HTTP_IDEMPOTENCY_KEY="uses",
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "max_uses_total"


def test_the_migration_rewrites_actors_written_before_the_format(merchant) -> None:
    issue_card(merchant, "10.00")
    issue_card(merchant, "20.00")
    issue_card(merchant, "30.00")
    migration = importlib.import_module("wallet.migrations.0003_transfer_actor_format")
    old = {Decimal("10.00"): "", Decimal("20.00"): "expiry", Decimal("30.00"): "admin:bob"}
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE wallet_transfer DROP CONSTRAINT transfer_actor_format")
        cursor.execute("ALTER TABLE wallet_transfer DISABLE TRIGGER wallet_transfer_append_only")
        for amount, actor in old.items():
            cursor.execute(
                "UPDATE wallet_transfer SET actor = %s WHERE amount = %s", [actor, amount]
            )
        cursor.execute("ALTER TABLE wallet_transfer ENABLE TRIGGER wallet_transfer_append_only")
        cursor.execute(migration.REWRITE)
    assert dict(Transfer.objects.values_list("amount", "actor")) == {
        Decimal("10.00"): "system:legacy",
        Decimal("20.00"): "system:expiry",
        Decimal("30.00"): "user:bob",
    }
