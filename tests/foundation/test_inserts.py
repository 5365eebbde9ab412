"""`rows_insert`: a row, its children and unrelated rows in one statement, as `save()` would."""

import pytest
from django.db import IntegrityError, transaction

from config.inserts import rows_insert
from merchants.models import Merchant, Store, Terminal

pytestmark = pytest.mark.django_db


def test_parent_children_and_others_in_one_statement(django_assert_num_queries) -> None:
    other_store = Store.objects.create(merchant=Merchant.objects.create(name="Other"), code="X")
    merchant = Merchant(name="Kassa Retail")
    stores = [Store(merchant=merchant, code=code, name=f"Store {code}") for code in "CAB"]
    till = Terminal(store=other_store, code="T9", name="Till nine")
    with django_assert_num_queries(1):
        rows_insert(merchant, children=stores, others=[till])
    assert merchant.pk
    assert not merchant._state.adding
    assert merchant.created_at is not None  # auto_now_add, as save() sets it
    read = {s.code: s for s in Store.objects.filter(merchant=merchant)}
    for store in stores:  # each instance got its own row's key, in the given order
        assert read[store.code].pk == store.pk
        assert store.merchant_id == merchant.pk
        assert store.merchant is merchant
        assert read[store.code].name == store.name
    assert Terminal.objects.get(pk=till.pk).store_id == other_store.pk
    assert Merchant.objects.get(pk=merchant.pk).public_id == merchant.public_id


def test_a_failing_row_inserts_nothing() -> None:
    merchant = Merchant(name="Kassa Retail")
    twins = [Store(merchant=merchant, code="SAME", name="a"), Store(merchant=merchant, code="SAME")]
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(merchant, children=twins)
    assert not Merchant.objects.filter(name="Kassa Retail").exists()


def test_a_foreign_key_to_an_unsaved_instance_is_refused() -> None:
    unsaved = Store(merchant=Merchant(name="never saved"), code="U")
    with pytest.raises(ValueError, match="unsaved related object"):
        rows_insert(Merchant(name="Kassa Retail"), others=[Terminal(store=unsaved, code="T")])
