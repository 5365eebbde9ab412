import pytest

from tests.factories import StoreFactory
from wallet.demo import DEMO_PIN, seed_demo
from wallet.ledger import ledger_verify
from wallet.models import GiftCard, LoyaltyAccount
from wallet.selectors import gift_card_find, voucher_find

pytestmark = pytest.mark.django_db


def _code(line: str) -> str:
    return next(word for word in line.split() if word.count("-") == 3)


def test_seed_demo_is_idempotent_and_prints_working_codes() -> None:
    store = StoreFactory.create()
    first = seed_demo(merchant=store.merchant, store=store)
    second = seed_demo(merchant=store.merchant, store=store)
    assert "1250 points" in second[0]
    assert LoyaltyAccount.objects.count() == 1
    old_card = gift_card_find(merchant_id=store.merchant_id, code=_code(first[1]), pin=DEMO_PIN)
    new_card = gift_card_find(merchant_id=store.merchant_id, code=_code(second[1]), pin=DEMO_PIN)
    assert old_card.status == GiftCard.Status.EXPIRED
    assert new_card.status == GiftCard.Status.ACTIVE
    assert GiftCard.objects.exclude(status=GiftCard.Status.EXPIRED).count() == 2
    assert voucher_find(merchant_id=store.merchant_id, code=_code(second[2])).percent == 10
    assert ledger_verify() == []
