"""The merchant's system ledger accounts (created on first use, remembered per process) and
opening an instrument's account: the accounts `wallet.ledger` writes between."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from wallet.models import LedgerAccount


def system_account(*, merchant_id: int, kind: str, unit: str) -> LedgerAccount:
    """The merchant's system account of `kind` in `unit`, created on first use."""
    return system_accounts(merchant_id=merchant_id, wanted=[(kind, unit)])[(kind, unit)]


_CREATE_SYSTEM = """
INSERT INTO wallet_ledgeraccount (merchant_id, kind, unit, is_system, name, debits_pending,
    debits_posted, credits_pending, credits_posted, created_at)
SELECT %s, kind, unit, true, name, 0, 0, 0, 0, %s
FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[]) AS v(kind, unit, name)
ON CONFLICT DO NOTHING
RETURNING *
"""


# System accounts, once committed, never change (they keep no counters) nor go (PROTECT), so
# each process remembers their ids, learnt only when the transaction that read or created them
# commits (a rolled-back creation is never remembered). Short of that, one query per sale.
_SYSTEM_IDS: dict[tuple[int, str, str], tuple[int, str]] = {}


def system_accounts_cache_clear() -> None:
    _SYSTEM_IDS.clear()


def system_accounts(
    *, merchant_id: int, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], LedgerAccount]:
    """Several system accounts of one merchant, {(kind, unit): account}: from the per-process
    memory, else one query once they exist; the missing ones are created by one `INSERT … ON
    CONFLICT DO NOTHING RETURNING` (a concurrent first use is no error, so no savepoint; what
    it skipped is read back). Each call hands out its own instances."""
    keys = set(wanted)
    remembered = {}
    for kind, unit in keys:
        if (hit := _SYSTEM_IDS.get((merchant_id, kind, unit))) is not None:
            remembered[(kind, unit)] = LedgerAccount(
                pk=hit[0],
                merchant_id=merchant_id,
                kind=kind,
                unit=unit,
                is_system=True,
                name=hit[1],
            )
    if keys <= remembered.keys():
        return remembered
    found = _system_accounts_read(merchant_id, keys - remembered.keys())
    transaction.on_commit(
        lambda: _SYSTEM_IDS.update(
            ((merchant_id, a.kind, a.unit), (a.pk, a.name)) for a in found.values()
        )
    )
    return remembered | found


def _system_accounts_read(
    merchant_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], LedgerAccount]:
    found = _system_accounts_found(merchant_id, keys)
    missing = sorted(keys - found.keys())
    if missing:
        names = [f"{LedgerAccount.Kind(kind).label} {unit}" for kind, unit in missing]
        created = LedgerAccount.objects.raw(
            _CREATE_SYSTEM,
            [
                merchant_id,
                timezone.now(),
                [kind for kind, _ in missing],
                [unit for _, unit in missing],
                names,
            ],
        )
        found.update(((account.kind, account.unit), account) for account in created)
        if skipped := keys - found.keys():  # created meanwhile by a concurrent first use
            found.update(_system_accounts_found(merchant_id, skipped))
    return found


def _system_accounts_found(
    merchant_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], LedgerAccount]:
    if not keys:
        return {}
    return {
        (account.kind, account.unit): account
        for account in LedgerAccount.objects.filter(
            merchant_id=merchant_id,
            is_system=True,
            kind__in={kind for kind, _ in keys},
            unit__in={unit for _, unit in keys},
        )
        if (account.kind, account.unit) in keys
    }


def instrument_account_open(*, merchant_id: int, kind: str, unit: str, name: str) -> LedgerAccount:
    return LedgerAccount.objects.create(
        merchant_id=merchant_id, kind=kind, unit=unit, is_system=False, name=name
    )
