"""Row locks, always taken in one canonical order: ledger accounts (by pk), then vouchers (by
pk), then voucher redemptions, then transfers. Callers (the payments engine included) lock
every ledger account they will touch up front with `lock_ledger_accounts`; the services lock
again, which is free inside the same transaction. A ledger account's row is also the lock for
its instrument's status (a gift card is blocked under its account's lock).
"""

from collections.abc import Iterable

from wallet.models import LedgerAccount, Transfer, Voucher, VoucherRedemption


def lock_ledger_accounts(account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Fresh rows of the given accounts, instrument accounts locked in pk order.

    System accounts are returned without a lock: nothing about them is checked or updated
    (see wallet.models.ledger), and locking them would queue every payment of a merchant
    behind one row.
    """
    ids = sorted(set(account_ids))
    accounts = {
        account.pk: account
        for account in LedgerAccount.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, is_system=False)
        .order_by("pk")
    }
    system_ids = [pk for pk in ids if pk not in accounts]
    if system_ids:
        accounts.update(
            (account.pk, account)
            for account in LedgerAccount.objects.filter(pk__in=system_ids, is_system=True)
        )
    return accounts


def lock_vouchers(voucher_ids: Iterable[int]) -> dict[int, Voucher]:
    ids = sorted(set(voucher_ids))
    locked = Voucher.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {voucher.pk: voucher for voucher in locked}


def lock_voucher_redemption(redemption_id: int) -> VoucherRedemption:
    return VoucherRedemption.objects.select_for_update(of=("self",)).get(pk=redemption_id)


def lock_transfer(transfer_id: int) -> Transfer:
    """Serialises resolutions of a hold between system accounts, which have no row to lock."""
    return Transfer.objects.select_for_update(of=("self",)).get(pk=transfer_id)
