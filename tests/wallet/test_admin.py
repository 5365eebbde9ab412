"""Back office: instruments and ledger are read-only; adjustments go through the service."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory
from tests.wallet.factories import issue_card, issue_voucher, open_loyalty
from wallet.ledger import ledger_verify
from wallet.models import GiftCard, LedgerAccount, Transfer

pytestmark = pytest.mark.django_db


def test_every_wallet_page_renders_for_staff(admin_client, merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    issue_voucher(merchant)
    open_loyalty(CustomerFactory.create(merchant=merchant))
    for model in (
        "giftcard",
        "voucher",
        "loyaltyaccount",
        "loyaltyprogramme",
        "bankcard",
        "ledgeraccount",
        "transfer",
    ):
        assert admin_client.get(reverse(f"admin:wallet_{model}_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:wallet_giftcard_change", args=[card.pk]))
    assert page.status_code == 200
    assert b"10.00" in page.content
    assert b'name="status"' not in page.content  # read-only
    transfer = Transfer.objects.get(code="issue")
    assert (
        admin_client.get(reverse("admin:wallet_transfer_change", args=[transfer.pk])).status_code
        == 200
    )
    delete = admin_client.post(reverse("admin:wallet_transfer_delete", args=[transfer.pk]))
    assert delete.status_code == 403
    assert Transfer.objects.filter(pk=transfer.pk).exists()


def test_adjustment_needs_a_reason_and_is_written_to_the_ledger(admin_client, merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    url = reverse("admin:wallet_ledgeraccount_adjust", args=[card.account_id])
    assert admin_client.get(url).status_code == 200
    no_reason = admin_client.post(url, {"amount": "5.00", "reason": ""})
    assert no_reason.status_code == 200
    assert not Transfer.objects.filter(code="adjustment").exists()
    too_much = admin_client.post(url, {"amount": "-10.01", "reason": "count error"})
    assert b"insufficient_funds" in too_much.content
    done = admin_client.post(url, {"amount": "-2.50", "reason": "till count error"})
    assert done.status_code == 302
    adjustment = Transfer.objects.get(code="adjustment")
    assert adjustment.reason == "till count error"
    assert adjustment.actor == "user:admin"
    card.account.refresh_from_db()
    assert card.account.balance == Decimal("7.50")
    assert ledger_verify() == []


def test_block_action_asks_for_a_reason_then_goes_through_the_service(
    admin_client, merchant
) -> None:
    card = issue_card(merchant).gift_card
    changelist = reverse("admin:wallet_giftcard_changelist")
    confirm = admin_client.post(changelist, {"action": "block", "_selected_action": [card.pk]})
    assert confirm.status_code == 200
    assert b"Block gift cards" in confirm.content
    card.refresh_from_db()
    assert card.status == GiftCard.Status.ACTIVE, "nothing changes before confirmation"
    admin_client.post(
        changelist,
        {"action": "block", "_selected_action": [card.pk], "post": "yes", "reason": "stolen"},
    )
    card.refresh_from_db()
    assert card.status == GiftCard.Status.BLOCKED
    assert card.status_reason == "stolen (user:admin)"


def test_expire_action_moves_the_value_to_breakage_with_the_reason(admin_client, merchant) -> None:
    card = issue_card(merchant, "12.00").gift_card
    admin_client.post(
        reverse("admin:wallet_giftcard_changelist"),
        {
            "action": "expire",
            "_selected_action": [card.pk],
            "post": "yes",
            "reason": "sold in error",
        },
    )
    breakage = Transfer.objects.get(code=Transfer.Code.BREAKAGE)
    assert (breakage.amount, breakage.reason, breakage.actor) == (
        Decimal("12.00"),
        "sold in error",
        "user:admin",
    )
    assert ledger_verify() == []


def test_system_accounts_cannot_be_adjusted(admin_client, merchant) -> None:
    issue_card(merchant)
    issuance = LedgerAccount.objects.get(kind="issuance")
    assert (
        admin_client.get(
            reverse("admin:wallet_ledgeraccount_adjust", args=[issuance.pk])
        ).status_code
        == 404
    )
