"""The gift card line rules live in the service, so every caller (not only the API) keeps them."""

import uuid

import pytest

from payments.errors import GiftCardLineRefused
from payments.models import Payment
from payments.services import common, create
from tests.payments.conftest import eur

pytestmark = pytest.mark.django_db


def _gift_card_line(kind: str, **extra: str) -> dict[str, object]:
    return {
        "kind": kind,
        "sku": "GIFT-CARD",
        "name": "Gift card",
        "quantity": 1,
        "unit_price": {"amount": "20.00", "currency": "EUR"},
        **extra,
    }


def _sale(shop, *, tender: common.TenderRequest, line: dict[str, object]) -> Payment:
    return create.payment_create(
        api_key=shop.till_key,
        idempotency_key=str(uuid.uuid4()),
        client_ip=None,
        request=common.PaymentRequest(
            amount=eur("20.00"),
            channel=Payment.Channel.POS,
            customer=shop.customer,
            capture=True,
            tenders=[tender],
            basket=[line],
        ),
    )


def test_a_gift_card_bought_with_stored_value_is_refused_by_the_service(shop) -> None:
    with pytest.raises(GiftCardLineRefused):
        _sale(
            shop,
            tender=common.TenderRequest(
                method="gift_card", gift_card=str(shop.gift_card.public_id)
            ),
            line=_gift_card_line("gift_card"),
        )
    assert not Payment.objects.exists()


def test_a_reload_of_a_card_of_no_one_is_refused_by_the_service(shop) -> None:
    with pytest.raises(GiftCardLineRefused):
        _sale(
            shop,
            tender=common.TenderRequest(method="cash"),
            line=_gift_card_line("gift_card_reload", gift_card=str(uuid.uuid4())),
        )
    assert not Payment.objects.exists()
