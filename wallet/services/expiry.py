"""Periodic clean-up (run by wallet.tasks on a beat schedule): void holds past their time-out,
expire gift cards (remaining value -> breakage) and expire points lots. Each item is its own
short transaction, and each run is idempotent: running twice changes nothing more."""

import logging
from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone

from wallet.errors import HoldNotPending, RedemptionNotReserved
from wallet.models import GiftCard, LoyaltyAccount, VoucherRedemption
from wallet.services.gift_cards import gift_card_expire
from wallet.services.loyalty import loyalty_points_expire
from wallet.services.vouchers import voucher_redemption_release
from wallet.transfers import holds_expired, transfer_void

logger = logging.getLogger(__name__)
BATCH = 500
EXPIRED_REASON = "hold timed out"


def holds_void_expired(*, at: datetime | None = None, actor: str) -> int:
    """Void every hold past its `expires_at`; a voucher's hold releases its use too."""
    at = at or timezone.now()
    voided = 0
    for hold in list(holds_expired(at=at)[:BATCH]):
        redemption = VoucherRedemption.objects.filter(hold=hold).first()
        try:
            if redemption is not None:
                voucher_redemption_release(
                    redemption=redemption, reason=EXPIRED_REASON, actor=actor
                )
            else:
                transfer_void(transfer=hold, reason=EXPIRED_REASON, actor=actor)
        except (HoldNotPending, RedemptionNotReserved):
            continue  # resolved meanwhile by its payment
        voided += 1
    return voided


def gift_cards_expire_due(*, at: datetime | None = None, actor: str) -> int:
    """Expire cards past their date, and sweep value that came back to expired cards."""
    at = at or timezone.now()
    due = GiftCard.objects.filter(
        Q(expires_at__lte=at) & ~Q(status=GiftCard.Status.EXPIRED)
        | Q(
            status=GiftCard.Status.EXPIRED,
            account__credits_posted__gt=F("account__debits_posted") + F("account__debits_pending"),
        )
    ).order_by("pk")
    moved = 0
    for card in list(due[:BATCH]):
        if gift_card_expire(gift_card=card, at=at, actor=actor) is not None:
            moved += 1
    return moved


def loyalty_points_expire_due(*, at: datetime | None = None, actor: str) -> int:
    """Expire the points left in expired lots, for every account that has such lots."""
    at = at or timezone.now()
    candidates = (
        LoyaltyAccount.objects.filter(
            lots__expires_at__lte=at,
            account__credits_posted__gt=F("account__debits_posted") + F("account__debits_pending"),
        )
        .distinct()
        .order_by("pk")
    )
    expired = 0
    for account in list(candidates[:BATCH]):
        if loyalty_points_expire(account=account, at=at, actor=actor) is not None:
            expired += 1
    return expired
