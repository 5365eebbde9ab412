"""System accounts are remembered per process once the transaction that read or created them
committed: a sale then needs no query for them, and a rolled-back creation is never used."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from wallet.models import LedgerAccount
from wallet.system_accounts import system_accounts, system_accounts_cache_clear

pytestmark = pytest.mark.django_db(transaction=True)

CLEARING = (LedgerAccount.Kind.REDEMPTION_CLEARING, "EUR")
BREAKAGE = (LedgerAccount.Kind.BREAKAGE, "EUR")


@pytest.fixture(autouse=True)
def _forgotten():
    system_accounts_cache_clear()
    yield
    system_accounts_cache_clear()


def test_committed_system_accounts_are_read_once_per_process(merchant) -> None:
    with transaction.atomic():
        first = system_accounts(merchant_id=merchant.pk, wanted=[CLEARING])[CLEARING]
    with CaptureQueriesContext(connection) as queries:
        again = system_accounts(merchant_id=merchant.pk, wanted=[CLEARING])[CLEARING]
    assert len(queries) == 0
    assert (again.pk, again.kind, again.unit, again.is_system) == (first.pk, *CLEARING, True)
    assert again is not first, "each call hands out its own instance"


class SaleFailed(Exception):
    pass


def _created_then_rolled_back(merchant_id: int) -> LedgerAccount:
    try:
        with transaction.atomic():
            created = system_accounts(merchant_id=merchant_id, wanted=[BREAKAGE])[BREAKAGE]
            raise SaleFailed
    except SaleFailed:
        return created


def test_a_creation_rolled_back_is_not_remembered(merchant) -> None:
    created = _created_then_rolled_back(merchant.pk)
    assert not LedgerAccount.objects.filter(pk=created.pk).exists()
    with transaction.atomic():
        again = system_accounts(merchant_id=merchant.pk, wanted=[BREAKAGE])[BREAKAGE]
    assert again.pk != created.pk
    assert LedgerAccount.objects.filter(pk=again.pk, is_system=True).exists()
