"""Beat-scheduled clean-up (config.settings.base CELERY_BEAT_SCHEDULE). Each task is idempotent
and returns how many items it changed."""

from celery import shared_task

from config.actors import system_actor
from wallet.liability import liability_snapshots_due
from wallet.services import gift_cards_expire_due, holds_void_expired, loyalty_points_expire_due


@shared_task(name="wallet.holds_void_expired")
def wallet_holds_void_expired() -> int:
    return holds_void_expired(actor=system_actor("hold_expiry"))


@shared_task(name="wallet.gift_cards_expire_due")
def wallet_gift_cards_expire_due() -> int:
    return gift_cards_expire_due(actor=system_actor("expiry"))


@shared_task(name="wallet.loyalty_points_expire_due")
def wallet_loyalty_points_expire_due() -> int:
    return loyalty_points_expire_due(actor=system_actor("expiry"))


@shared_task(name="wallet.liability_snapshots")
def wallet_liability_snapshots() -> int:
    return liability_snapshots_due()
